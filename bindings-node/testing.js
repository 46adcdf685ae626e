'use strict'
/**
 * A faithful fake Zoho for tests: `MockZoho` runs `zoho-mock` inside this Node process.
 *
 * It answers like Zoho Accounts and the CRM, Desk and Books APIs, quirks included (HTTP 200
 * error bodies, the 10-refreshes-per-10-minutes throttle, token eviction, data centres, the device
 * flow), and lets a test mint grant codes, approve device codes, move a virtual clock instead of
 * sleeping, inject faults and read counters. Every endpoint and setting is described in
 * `mock/README.md` of the zoho-oauth repository.
 *
 *   const { MockZoho } = require('zoho-oauth/testing')
 *   const mock = new MockZoho()
 *   const { code } = mock.mintCode(['ZohoCRM.modules.ALL'])
 *   // exchange `code` at `${mock.baseUrl}/oauth/v2/token` ...
 *   mock.stop()
 */
const { MockServer } = require('./binding.js')

const DEFAULT_CLIENT_ID = '1000.MOCKSELFCLIENT'
const DEFAULT_CLIENT_SECRET = 'mock-self-secret'
const DEFAULT_USER = 'user@example.com'
const DEFAULT_SCOPES = ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ']

function dropUndefined(obj) {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== null))
}

class MockZoho {
  /** Starts one listener per data centre in `dcs` on 127.0.0.1; `settings` changes Zoho's defaults. */
  constructor({ dcs = ['us'], port = 0, settings = {} } = {}) {
    this._server = new MockServer(dcs, port, JSON.stringify(settings))
  }

  _call(op, body) {
    return JSON.parse(this._server.call(op, body === undefined ? '' : JSON.stringify(body)))
  }

  /**
   * The mock's virtual clock. Pass it as the `clock` option of `Client` and `OAuthApp` so that
   * expiry, retry backoff and device polling follow the mock's time: sleeping advances it.
   */
  get clock() {
    if (this._clock === undefined) this._clock = this._server.clock()
    return this._clock
  }

  /** Base URL of the first data centre: its accounts server and its API domain. */
  get baseUrl() {
    return this._server.baseUrl()
  }

  /** Base URL of `dc`'s listener, or null when the mock does not serve it. */
  url(dc) {
    const entry = this._call('info').dcs[dc]
    return entry ? entry.accounts_server : null
  }

  /** Every served data centre's code mapped to its base URL (accounts server and API domain). */
  dcUrls() {
    return Object.fromEntries(Object.entries(this._call('info').dcs).map(([code, e]) => [code, e.accounts_server]))
  }

  /** The first data centre (the one `baseUrl` serves, and the default user's home). */
  homeDc() {
    const base = this.baseUrl
    return Object.entries(this.dcUrls()).find(([, url]) => url === base)?.[0] ?? 'us'
  }

  /**
   * An `OAuthApp` of the default self client whose data centres map to this mock's listeners.
   * With `virtualClock` (the default) its waits (device polling) advance the mock's clock; the
   * other options go to `OAuthApp`.
   */
  app({ virtualClock = true, ...options } = {}) {
    const { OAuthApp } = require('./index.js')
    return new OAuthApp({
      clientId: DEFAULT_CLIENT_ID,
      clientSecret: DEFAULT_CLIENT_SECRET,
      dc: this.homeDc(),
      clientType: 'self',
      dcAccountsUrls: this.dcUrls(),
      ...(virtualClock ? { clock: this.clock } : {}),
      ...options,
    })
  }

  /**
   * A `Client` of the default self client on this mock: on `refreshToken`, or on one freshly
   * minted with `scopes`. With `virtualClock` (the default) it reads the mock's clock and its
   * backoff sleeps advance it; the other options go to `Client`.
   */
  client({ scopes = DEFAULT_SCOPES, virtualClock = true, ...options } = {}) {
    const { Client } = require('./index.js')
    return new Client({
      clientId: DEFAULT_CLIENT_ID,
      clientSecret: DEFAULT_CLIENT_SECRET,
      refreshToken: options.refreshToken ?? this.mintRefreshToken(scopes).refreshToken,
      dc: this.homeDc(),
      accountsUrl: this.baseUrl,
      // Every product (CRM, Books, Desk ...) is served by the mock's listener.
      apiDomain: this.baseUrl,
      ...(virtualClock ? { clock: this.clock } : {}),
      ...options,
    })
  }

  /** Registers a client (`clientType`: server, self, mobile, device or js). */
  registerClient({ clientId, clientSecret, clientType = 'server', redirectUris = [], secrets = {}, dcs } = {}) {
    this._call('register_client', dropUndefined({
      client_id: clientId, client_secret: clientSecret, client_type: clientType,
      redirect_uris: redirectUris, secrets, dcs,
    }))
  }

  /** Registers a user living in `dc`. */
  registerUser(email, dc) {
    this._call('register_user', { email, dc })
  }

  /** Mints a self-client grant code. */
  mintCode(scopes, { clientId = DEFAULT_CLIENT_ID, user, ttlSecs, accessType } = {}) {
    const r = this._call('mint_code', dropUndefined({ client_id: clientId, scopes, user, ttl_secs: ttlSecs, access_type: accessType }))
    return { code: r.code, expiresIn: r.expires_in, accountsServer: r.accounts_server, location: r.location }
  }

  /** Mints a refresh token without a token request. */
  mintRefreshToken(scopes, { clientId = DEFAULT_CLIENT_ID, user } = {}) {
    const r = this._call('mint_refresh_token', dropUndefined({ client_id: clientId, scopes, user }))
    return { refreshToken: r.refresh_token, accountsServer: r.accounts_server, apiDomain: r.api_domain }
  }

  /** Approves (or with `deny: true` refuses) a pending device authorization. */
  approveDevice(userCode, { user, deny = false } = {}) {
    this._call('approve_device', dropUndefined({ user_code: userCode, user, deny }))
  }

  /** Moves the virtual clock forward; returns the new time in Unix milliseconds. */
  advanceClock(seconds) {
    return this._call('advance_clock', { seconds }).now_ms
  }

  /** The virtual clock in Unix milliseconds. */
  nowMs() {
    return this._call('now_ms').now_ms
  }

  /** Changes settings (keys as in mock/README.md, for example `{ legacy_expiry: true }`); returns them all. */
  configure(settings) {
    return this._call('configure', settings)
  }

  /** Makes the next `count` requests under `path` fail (until the mock's clock reaches `untilMs`, if given). */
  injectFault(path, { count = 1, method, status, retryAfter, delayMs, reset = false, body, untilMs } = {}) {
    this._call(
      'inject_fault',
      dropUndefined({ path, count, method, status, retry_after: retryAfter, delay_ms: delayMs, reset, body, until_ms: untilMs }),
    )
  }

  /** Replaces a CRM module's records with `count` generated ones. */
  seedCrm(module, count) {
    this._call('seed_crm', { module, count })
  }

  /** Token requests by grant type and outcome, API calls by route and status, and totals. */
  counters() {
    return this._call('counters')
  }

  /** How many token requests of `grantType` ended with `outcome`. */
  tokenRequests(grantType, outcome = 'success') {
    return (this.counters().token_requests[grantType] || {})[outcome] || 0
  }

  /** Back to the start-up state. */
  reset() {
    this._call('reset')
  }

  /** Stops the listeners. Calling it twice is harmless. */
  stop() {
    this._server.stop()
  }
}

module.exports = { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_USER, DEFAULT_SCOPES }
