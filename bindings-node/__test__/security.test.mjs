// No secret in util.inspect, JSON.stringify, error messages or logger output; bad input is a
// ConfigError raised before any network I/O.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import util from 'node:util'

import { Client, OAuthApp, ZohoError, ConfigError } from '../index.mjs'
import { withMock, SCOPES, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from './helpers.mjs'

function assertNoSecret(text, secrets, where) {
  for (const s of secrets) {
    assert.ok(s && s.length >= 8, 'a real secret to look for')
    assert.ok(!text.includes(s), `${where} leaked a secret`)
  }
}

const everything = (v) =>
  [util.inspect(v, { showHidden: true, depth: Infinity, getters: true }), util.format('%s %o %j', v, v, v), JSON.stringify(v) ?? '', String(v)].join('\n')

test('secrets never appear in inspect, JSON, errors or logger output', () =>
  withMock(async ({ mock, refreshToken }) => {
    const rt = refreshToken()
    const records = []
    const logger = (r) => records.push(r)
    const c = new Client({ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, refreshToken: rt, accountsUrl: mock.baseUrl, clock: mock.clock, logger })
    const at = await c.accessToken()
    const ts = await c.tokenSet()
    const { code } = mock.mintCode(SCOPES)
    const app = new OAuthApp({ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, accountsUrl: mock.baseUrl, logger })
    const exchanged = await app.exchangeCode(code)
    const r = await c.get('/crm/v8/Leads')
    // Force the noisy paths: refresh after expiry, a 401 retry, a failed refresh, a budget stop.
    mock.advanceClock(3601)
    await c.get('/crm/v8/Leads')
    await fetch(`${mock.baseUrl}/oauth/v2/token/revoke`, { method: 'POST', body: new URLSearchParams({ token: await c.accessToken() }) })
    await c.get('/crm/v8/Leads')
    const errors = []
    const wrongSecret = new Client({ clientId: DEFAULT_CLIENT_ID, clientSecret: 'wrong-secret-value-123', refreshToken: rt, accountsUrl: mock.baseUrl, logger })
    await wrongSecret.accessToken().catch((e) => errors.push(e))
    await app.exchangeCode(code).catch((e) => errors.push(e))
    await app.refresh('1000.not-a-refresh-token-xyz').catch((e) => errors.push(e))
    try {
      new Client({ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, refreshToken: rt, dc: 'mars' })
    } catch (e) {
      errors.push(e)
    }
    for (let i = 0; i < 12; i++) await c.tokenSet({ force: true }).catch((e) => errors.push(e))
    assert.ok(errors.length >= 5)
    assert.ok(errors.every((e) => e instanceof ZohoError), 'every failure is a ZohoError')
    assert.ok(errors.some((e) => e.code === 'refresh_budget_exhausted'))
    await new Promise((resolve) => setImmediate(resolve))
    assert.ok(records.some((r) => r.message === 'refresh attempt'), 'the logger received events')
    assert.ok(records.some((r) => r.level === 'warn'), 'warnings too')

    const secrets = [DEFAULT_CLIENT_SECRET, 'wrong-secret-value-123', rt, at, ts.accessToken, exchanged.accessToken, exchanged.refreshToken, code, '1000.not-a-refresh-token-xyz']
    assertNoSecret(everything(c), secrets, 'Client')
    assertNoSecret(everything(app), secrets, 'OAuthApp')
    assertNoSecret(everything(ts), secrets, 'TokenSet')
    assertNoSecret(everything(exchanged), secrets, 'TokenSet with a refresh token')
    assertNoSecret(everything(r), secrets, 'Response')
    for (const e of errors) {
      assertNoSecret([e.message, e.stack, e.hint ?? '', e.body ?? '', everything(e)].join('\n'), secrets, `error ${e.code}`)
    }
    assertNoSecret(JSON.stringify(records), secrets, 'logger output')
    // The values are still there for whoever asks for them explicitly.
    assert.equal(exchanged.refreshToken.length > 10, true)
    assert.match(util.inspect(exchanged), /\[redacted\]/)
  }))

test('a logger object gets level methods; a throwing logger does not break calls', () =>
  withMock(async ({ client }) => {
    const seen = []
    const c = client({ logger: { info: (msg, fields) => seen.push(['info', msg, fields]), debug: () => {}, warn: () => {} } })
    await c.accessToken()
    await new Promise((resolve) => setImmediate(resolve))
    assert.ok(seen.some(([lvl, msg, fields]) => lvl === 'info' && msg === 'refresh succeeded' && typeof fields.expires_at_ms === 'number'))
    const bad = client({ logger: () => { throw new Error('logger down') } })
    assert.ok(await bad.accessToken())
    assert.throws(() => client({ logger: 42 }), ConfigError)
  }))

test('the refresh-on-a-bad-day events reach the logger from the refresh task, with the store key and no secret', () =>
  withMock(async ({ mock, refreshToken }) => {
    const rt = refreshToken()
    const records = []
    const c = new Client({ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, refreshToken: rt, accountsUrl: mock.baseUrl, clock: mock.clock, logger: (r) => records.push(r) })
    const first = await c.accessToken()
    mock.advanceClock(3400) // inside the 300 s margin: a refresh is due, the token still works
    mock.injectFault('/oauth/v2/token', { count: 3, status: 503 })
    assert.equal(await c.accessToken(), first, 'three failed attempts, then the token that still works')
    mock.advanceClock(2) // past the first backoff window (1 s)
    const second = await c.accessToken()
    assert.notEqual(second, first)
    await new Promise((resolve) => setImmediate(resolve))
    const named = (message) => records.filter((r) => r.message.startsWith(message))
    const expected = [
      ['refresh attempt', 5, 'info'], // the first token, 3 failed attempts, the recovery
      ['refresh retry: transient failure at the token endpoint', 2, 'info'],
      ['refresh failed; backoff started', 1, 'warn'],
      ['refresh backoff ended: the refresh succeeded', 1, 'info'],
      ['stale token served:', 1, 'warn'],
    ]
    for (const [message, count, level] of expected) {
      const got = named(message)
      assert.equal(got.length, count, `${message}: ${got.length} records, expected ${count}: ${records.map((r) => r.message).join(' | ')}`)
      for (const r of got) {
        assert.equal(r.level, level, `${message} at level ${r.level}`)
        assert.equal(r.target, 'zoho_oauth')
        assert.equal(r.fields.key, c.storeKey, `${message} names the identity by its store key`)
      }
    }
    const retry = named('refresh retry')[0].fields
    assert.ok(String(retry.status) === '503' && retry.code === 'invalid_response', JSON.stringify(retry))
    const backoff = named('refresh failed; backoff started')[0].fields
    assert.ok(Number(backoff.streak) === 1 && Number(backoff.backoff_ms) === 1000, JSON.stringify(backoff))
    assertNoSecret(JSON.stringify(records), [rt, first, second, DEFAULT_CLIENT_SECRET], 'logger output')
  }))

test('bad client input is a ConfigError with a hint, before any network I/O', () =>
  withMock(async ({ mock, client }) => {
    const base = { clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, refreshToken: 'rt-value-123456', accountsUrl: mock.baseUrl }
    const bad = [
      [{}, /clientId is required/],
      [{ ...base, refreshToken: undefined }, /refreshToken is required/],
      [{ ...base, refreshToken: '' }, /refresh token is empty/],
      [{ ...base, refresh_token: 'x' }, /refresh_token/],
      [{ ...base, dc: 'mars' }, /mars/],
      [{ ...base, timeout: 'soon' }, /timeout/],
      [{ ...base, refreshMargin: -5 }, /refreshMargin/],
      [{ ...base, maxRetries: 1.5 }, /maxRetries/],
      [{ ...base, tokenStore: 'ftp://x' }, /not supported/],
      [{ ...base, apiDomain: 'http://api.example.com' }, /http/],
      [{ ...base, accountsServer: 'https://accounts.evil.example' }, /not a Zoho accounts server/],
      [{ ...base, clientSecret: 12345678 }, /clientSecret must be a string/],
      [{ ...base, clock: {} }, /clock/],
      ['not an object', /must be an object/],
    ]
    for (const [opts, pattern] of bad) {
      assert.throws(() => new Client(opts), (e) => {
        assert.ok(e instanceof ZohoError, `ZohoError for ${pattern}`)
        assert.ok(['config', 'untrusted_accounts_server'].includes(e.code), `${e.code} for ${pattern}`)
        assert.match(e.message, pattern)
        assert.ok(e.hint, 'a hint a person can act on')
        assert.ok(!e.message.includes('rt-value-123456') && !e.message.includes(DEFAULT_CLIENT_SECRET))
        return true
      })
    }
    const c = client()
    const rejects = [
      () => c.get('https://evil.example/crm/v8/Leads'),
      () => c.get('http://www.zohoapis.com/crm/v8/Leads'),
      () => c.get('/crm/v8/Leads', { headers: { Authorization: 'Bearer x' } }),
      () => c.get('/crm/v8/Leads', { product: 'creator' }),
      () => c.get('/crm/v8/Leads', { params: { nested: { a: 1 } } }),
      () => c.get('/crm/v8/Leads', { pararms: {} }),
      () => c.post('/crm/v8/Leads', { json: { a: 1n } }),
      () => c.post('/crm/v8/Leads', { json: {}, form: {} }),
      () => c.request('GE T', '/crm/v8/Leads'),
      () => c.get(42),
      () => c.fetch('/crm/v8/Leads', { method: 'POST', body: { not: 'a body' } }),
    ]
    for (const call of rejects) await assert.rejects(call, (e) => e instanceof ConfigError && e.code === 'config' && Boolean(e.hint))
    assert.equal(mock.counters().api_calls_total, 0, 'nothing reached the API')
  }))

test('errors carry code, status, zohoCode, retryAfter and hint and are real Errors', () =>
  withMock(async ({ mock, client }) => {
    const c = client({ refreshToken: mock.mintRefreshToken(['ZohoCRM.users.READ']).refreshToken })
    const r = await c.get('/crm/v8/Leads')
    let err
    try {
      r.throwForStatus()
    } catch (e) {
      err = e
    }
    assert.ok(err instanceof Error && err instanceof ZohoError)
    assert.equal(err.name, 'ApiError')
    assert.deepEqual(
      { code: err.code, status: err.status, zohoCode: err.zohoCode, retryAfter: err.retryAfter },
      { code: 'scope_mismatch', status: 401, zohoCode: 'OAUTH_SCOPE_MISMATCH', retryAfter: null },
    )
    assert.match(err.hint, /scope/)
    assert.match(err.stack, /ApiError/)
    const json = JSON.parse(JSON.stringify(err))
    assert.equal(json.code, 'scope_mismatch')
  }))
