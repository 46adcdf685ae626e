// OAuthApp flows against the fake Zoho: self-client exchange, authorization code with state and
// accounts-server checks, PKCE, multi-DC, refresh, revoke, client credentials, device flow.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { OAuthApp, Client, AuthError, ConfigError, TokenSet, DeviceAuthorization } from '../index.mjs'
import { withMock, SCOPES } from './helpers.mjs'

const REDIRECT = 'https://app.example/callback'

/** Follow the authorization URL like a browser that consents; answer the redirect URL. */
async function consent(url, params = {}) {
  const u = new URL(url)
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v)
  const r = await fetch(u, { redirect: 'manual' })
  assert.equal(r.status, 302, `consent answered ${r.status}`)
  return r.headers.get('location')
}

function serverApp(mock, extra = {}) {
  mock.registerClient({ clientId: '1000.SERVER', clientSecret: 'server-secret', clientType: 'server', redirectUris: [REDIRECT] })
  return new OAuthApp({ clientId: '1000.SERVER', clientSecret: 'server-secret', accountsUrl: mock.baseUrl, clock: mock.clock, ...extra })
}

test('self client: exchangeCode gives tokens once; a used code is invalid_code', () =>
  withMock(async ({ mock, app }) => {
    const a = app({ clientType: 'self' })
    const { code } = mock.mintCode(SCOPES)
    const tokens = await a.exchangeCode(code)
    assert.ok(tokens instanceof TokenSet)
    assert.ok(tokens.refreshToken && tokens.accessToken)
    assert.equal(tokens.apiDomain, mock.baseUrl)
    assert.equal(tokens.accountsServer, mock.baseUrl)
    assert.ok(tokens.expiresAt instanceof Date)
    await assert.rejects(a.exchangeCode(code), (e) => e instanceof AuthError && e.code === 'invalid_code' && e.status === 200 && Boolean(e.hint))
    // The exchange's tokens seed a client: no refresh needed for the first call.
    const c = new Client({ clientId: a.clientId, clientSecret: 'mock-self-secret', refreshToken: tokens.refreshToken, accountsUrl: mock.baseUrl, accountsServer: tokens.accountsServer, initialToken: tokens, clock: mock.clock })
    assert.equal(await c.accessToken(), tokens.accessToken)
    assert.equal(mock.tokenRequests('refresh_token'), 0)
  }))

test('authorization code flow: state, redirect URI and callback exchange', () =>
  withMock(async ({ mock }) => {
    const a = serverApp(mock)
    const { url, state, codeVerifier } = a.authorizationUrl({ scopes: SCOPES, redirectUri: REDIRECT, prompt: 'consent' })
    assert.ok(url.startsWith(`${mock.baseUrl}/oauth/v2/auth?`))
    assert.equal(new URL(url).searchParams.get('state'), state)
    assert.equal(new URL(url).searchParams.get('access_type'), 'offline')
    assert.equal(codeVerifier, undefined, 'no PKCE for server clients by default')
    const callback = await consent(url)
    const tokens = await a.handleCallback(callback, { expectedState: state, redirectUri: REDIRECT })
    assert.ok(tokens.refreshToken)
    assert.equal(mock.tokenRequests('authorization_code'), 1)

    const again = a.authorizationUrl({ scopes: SCOPES, redirectUri: REDIRECT })
    const cb2 = await consent(again.url)
    await assert.rejects(a.handleCallback(cb2, { expectedState: 'not-the-state', redirectUri: REDIRECT }), (e) => e instanceof AuthError && e.code === 'state_mismatch')
    const forged = cb2.replace(/accounts-server=[^&]+/, 'accounts-server=' + encodeURIComponent('https://accounts.evil.example'))
    await assert.rejects(a.handleCallback(forged, { expectedState: again.state, redirectUri: REDIRECT }), (e) => e.code === 'untrusted_accounts_server')
    await assert.rejects(a.handleCallback(cb2, { expectedState: again.state, redirectUri: 'https://other.example/cb' }), (e) => e.code === 'invalid_redirect_uri')
    const denied = await consent(a.authorizationUrl({ scopes: SCOPES, redirectUri: REDIRECT, state: 's1' }).url, { mock_deny: 'true' })
    await assert.rejects(a.handleCallback(denied, { expectedState: 's1' }), (e) => e.code === 'access_denied')
    assert.equal(mock.tokenRequests('authorization_code', 'success'), 1, 'refused callbacks never reached the token endpoint')
  }))

test('mobile clients use PKCE S256; the verifier round-trips through handleCallback', () =>
  withMock(async ({ mock }) => {
    mock.registerClient({ clientId: '1000.MOBILE', clientSecret: 'mobile-secret', clientType: 'mobile', redirectUris: [REDIRECT] })
    const a = new OAuthApp({ clientId: '1000.MOBILE', clientSecret: 'mobile-secret', clientType: 'mobile', accountsUrl: mock.baseUrl })
    const { url, state, codeVerifier } = a.authorizationUrl({ scopes: SCOPES, redirectUri: REDIRECT })
    assert.equal(new URL(url).searchParams.get('code_challenge_method'), 'S256')
    assert.ok(codeVerifier && codeVerifier.length >= 43)
    const cb = await consent(url)
    await assert.rejects(a.handleCallback(cb, { expectedState: state, redirectUri: REDIRECT, codeVerifier: 'x'.repeat(43) }), (e) => e.code === 'invalid_code')
    const second = a.authorizationUrl({ scopes: SCOPES, redirectUri: REDIRECT, state })
    assert.notEqual(second.codeVerifier, codeVerifier, 'a fresh verifier per URL')
    const cb2 = await consent(second.url)
    const tokens = await a.handleCallback(cb2, { expectedState: state, redirectUri: REDIRECT, codeVerifier: second.codeVerifier })
    assert.ok(tokens.accessToken)
  }))

test('multi-DC: an EU user authorizing at the US entry point is exchanged at the EU server', () =>
  withMock({ dcs: ['us', 'eu'] }, async ({ mock }) => {
    const eu = mock.url('eu')
    mock.registerUser('eu@example.com', 'eu')
    const a = serverApp(mock, { dcAccountsUrls: { eu } })
    const { url, state } = a.authorizationUrl({ scopes: SCOPES, redirectUri: REDIRECT })
    const cb = await consent(url, { mock_user: 'eu@example.com' })
    assert.match(cb, /location=eu/)
    const tokens = await a.handleCallback(cb, { expectedState: state, redirectUri: REDIRECT })
    assert.equal(tokens.accountsServer, eu)
    assert.equal(tokens.apiDomain, eu)
    const c = new Client({ clientId: '1000.SERVER', clientSecret: 'server-secret', refreshToken: tokens.refreshToken, accountsUrl: mock.baseUrl, dcAccountsUrls: { eu }, accountsServer: tokens.accountsServer, clock: mock.clock })
    assert.equal(c.dc, 'eu')
    assert.equal((await c.get('/crm/v8/Leads')).status, 200)
    assert.equal(mock.counters().api_calls_total, 1)
  }))

test('refresh, revoke and client credentials on the app', () =>
  withMock(async ({ mock, app, refreshToken }) => {
    const a = app({ clientType: 'self' })
    const rt = refreshToken()
    const t = await a.refresh(rt)
    assert.ok(t.accessToken)
    assert.equal(t.refreshToken, null, 'Zoho does not rotate refresh tokens')
    await a.revoke(rt)
    await assert.rejects(a.refresh(rt), (e) => e instanceof AuthError && e.code === 'invalid_code')
    await assert.rejects(a.revoke(rt), (e) => e.code === 'invalid_code' && e.status === 400)
    const cc = await a.clientCredentials(['ZohoCRM.modules.ALL'])
    assert.ok(cc.accessToken)
    const wrong = app({ clientSecret: 'not-the-secret' })
    await assert.rejects(wrong.refresh(refreshToken()), (e) => e.code === 'invalid_client_secret')
    const unknown = app({ clientId: '1000.UNKNOWN' })
    await assert.rejects(unknown.refresh(refreshToken()), (e) => e.code === 'invalid_client')
  }))

function deviceApp(mock, extra = {}) {
  mock.registerClient({ clientId: '1000.DEVICE', clientSecret: 'device-secret', clientType: 'device' })
  return new OAuthApp({ clientId: '1000.DEVICE', clientSecret: 'device-secret', clientType: 'device', accountsUrl: mock.baseUrl, clock: mock.clock, ...extra })
}

test('device flow: approval gives tokens after a 30-second poll on the virtual clock', () =>
  withMock(async ({ mock }) => {
    const a = deviceApp(mock)
    const flow = await a.startDeviceFlow({ scopes: SCOPES })
    assert.ok(flow instanceof DeviceAuthorization)
    assert.ok(flow.userCode && flow.verificationUrl)
    assert.equal(flow.interval, 30)
    assert.equal(flow.expiresIn, 300)
    mock.approveDevice(flow.userCode)
    const before = mock.nowMs()
    const tokens = await flow.wait()
    assert.ok(tokens.refreshToken)
    assert.ok(mock.nowMs() - before >= 30_000, 'waited the interval before polling')
    assert.equal(mock.tokenRequests('device_token', 'slow_down'), 0)
  }))

test('device flow: denial, expiry and other_dc', () =>
  withMock({ dcs: ['us', 'eu'] }, async ({ mock }) => {
    const eu = mock.url('eu')
    const a = deviceApp(mock, { dcAccountsUrls: { eu } })
    const denied = await a.startDeviceFlow({ scopes: SCOPES })
    mock.approveDevice(denied.userCode, { deny: true })
    await assert.rejects(denied.wait(), (e) => e instanceof AuthError && e.code === 'access_denied')

    const expired = await a.startDeviceFlow({ scopes: SCOPES })
    await assert.rejects(expired.wait(), (e) => e.code === 'device_flow_expired')
    assert.ok(mock.tokenRequests('device_token', 'authorization_pending') >= 5)

    mock.registerUser('eu@example.com', 'eu')
    const moved = await a.startDeviceFlow({ scopes: SCOPES })
    mock.approveDevice(moved.userCode, { user: 'eu@example.com' })
    const tokens = await moved.wait()
    assert.equal(tokens.accountsServer, eu, 'followed other_dc to the EU server')
    assert.equal(mock.tokenRequests('device_token', 'other_dc'), 1)
  }))

test('device flow wait() is cancelled by an AbortSignal', () =>
  withMock(async ({ mock }) => {
    const a = deviceApp(mock)
    const flow = await a.startDeviceFlow({ scopes: SCOPES })
    mock.injectFault('/oauth/v3/device/token', { delayMs: 5000 })
    await assert.rejects(flow.wait({ signal: AbortSignal.timeout(50) }), (e) => e.name === 'TimeoutError')
  }))

test('bad input to the app is a ConfigError before any request', () =>
  withMock(async ({ mock, app }) => {
    assert.throws(() => new OAuthApp({}), (e) => e instanceof ConfigError && /clientId is required/.test(e.message))
    assert.throws(() => new OAuthApp({ clientId: '1000.X', dc: 'mars' }), (e) => e.code === 'config' && /mars/.test(e.message))
    assert.throws(() => new OAuthApp({ clientId: '1000.X', accountsUrl: 'http://accounts.example.com' }), (e) => e.code === 'config')
    assert.throws(() => new OAuthApp({ clientId: '1000.X', client_secret: 's' }), (e) => e.code === 'config' && /clientSecret/.test(e.hint))
    assert.throws(() => new OAuthApp({ clientId: '1000.X', clientType: 'toaster' }), (e) => e.code === 'config')
    assert.throws(() => new OAuthApp({ clientId: '1000.X', timeout: -1 }), (e) => e.code === 'config')
    const a = app()
    assert.throws(() => a.authorizationUrl({ scopes: [], redirectUri: REDIRECT }), (e) => e.code === 'config')
    assert.throws(() => a.authorizationUrl({ scopes: SCOPES, redirectUri: 'not a url' }), (e) => e.code === 'config')
    await assert.rejects(a.handleCallback(''), (e) => e.code === 'invalid_response')
    const cb = `${REDIRECT}?code=1000.abc&state=s&location=us`
    await assert.rejects(a.handleCallback(cb), (e) => e.code === 'config' && /skipStateCheck|skip_state_check/.test(e.hint))
    await assert.rejects(a.exchangeCode(42), (e) => e.code === 'config')
    assert.equal(mock.counters().token_requests_total, 0)
  }))
