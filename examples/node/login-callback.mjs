// The server-based login: build the authorization URL (with a random `state`), send the user's
// browser there, and hand the URL Zoho redirects back to to `handleCallback`, which checks the
// state and the `accounts-server` (the user's data centre) and exchanges the code there.
//
// Run against the built-in fake Zoho (no account needed; asserts what it prints). The fake's
// consent screen answers /oauth/v2/auth at once with a 302 carrying code, state, location and
// accounts-server; this example plays the browser, for a user who lives in the EU data centre:
//
//   cd examples/node && npm install && node login-callback.mjs
//
// Run against Zoho (a "Server-based Application" in https://api-console.zoho.com whose redirect
// URI is ZOHO_REDIRECT_URI; open the printed URL, consent, then paste the whole URL the browser
// was sent to, even if that page does not load):
//
//   ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=us \
//   ZOHO_REDIRECT_URI=http://localhost:8080/callback node login-callback.mjs
//
// Env: ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (the app's home DC, default us) and
//      ZOHO_REDIRECT_URI. Without ZOHO_CLIENT_ID it runs against the fake Zoho (zoho-oauth/testing).
import assert from 'node:assert/strict'
import { createInterface } from 'node:readline/promises'
import { AuthError, Client, OAuthApp } from 'zoho-oauth'

const scopes = ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ']

// What a web app does on /callback: the session kept `state`; the tokens belong to the user who
// consented, in that user's data centre. Returns a client for that user and their email.
async function onCallback(appOptions, callbackUrl, state, redirectUri) {
  const app = new OAuthApp(appOptions)
  const tokens = await app.handleCallback(callbackUrl, { expectedState: state, redirectUri })
  assert.ok(tokens.refreshToken, 'ask for access_type=offline')
  // Keep the refresh token and tokens.accountsServer together: refreshes must go to that DC.
  const client = new Client({
    ...appOptions,
    refreshToken: tokens.refreshToken,
    accountsServer: tokens.accountsServer,
    initialToken: tokens,
  })
  const me = (await client.get('/crm/v8/users', { params: { type: 'CurrentUser' } })).throwForStatus().json()
  const email = me.users[0].email
  console.log(`logged in: ${email} (data centre ${client.dc}, accounts server ${client.accountsServer})`)
  return { client, email }
}

if (process.env.ZOHO_CLIENT_ID) {
  const redirectUri = process.env.ZOHO_REDIRECT_URI
  assert.ok(redirectUri, 'set ZOHO_REDIRECT_URI')
  /** @type {import('zoho-oauth').OAuthAppOptions} */
  const appOptions = {
    clientId: process.env.ZOHO_CLIENT_ID,
    clientSecret: process.env.ZOHO_CLIENT_SECRET,
    dc: process.env.ZOHO_DC || 'us',
    clientType: 'server',
  }
  const { url, state } = new OAuthApp(appOptions).authorizationUrl({ scopes, redirectUri, prompt: 'consent' })
  console.log(`open this URL, consent, then paste the URL you were redirected to:\n${url}`)
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  const callbackUrl = (await rl.question('> ')).trim()
  rl.close()
  await onCallback(appOptions, callbackUrl, state, redirectUri)
} else {
  const { MockZoho } = await import('zoho-oauth/testing')
  const redirectUri = 'http://127.0.0.1:8765/callback'
  const euUser = 'eu.user@example.com'
  const mock = new MockZoho({ dcs: ['us', 'eu'] })
  try {
    mock.registerClient({ clientId: '1000.SERVERAPP', clientSecret: 'server-secret', clientType: 'server', redirectUris: [redirectUri] })
    mock.registerUser(euUser, 'eu')
    // A multi-DC app with home DC us; the fake's listeners stand in for Zoho's accounts servers.
    /** @type {import('zoho-oauth').OAuthAppOptions} */
    const appOptions = {
      clientId: '1000.SERVERAPP',
      clientSecret: 'server-secret',
      dc: 'us',
      clientType: 'server',
      dcAccountsUrls: { us: mock.url('us'), eu: mock.url('eu') },
    }
    const app = new OAuthApp(appOptions)
    const { url, state } = app.authorizationUrl({ scopes, redirectUri, prompt: 'consent' })
    console.log(`authorization URL: ${url}`)
    assert.ok(url.startsWith(`${mock.url('us')}/oauth/v2/auth?`))

    // The browser: follow the consent page's redirect by hand (`mock_user` picks who logs in).
    const consent = await fetch(`${url}&mock_user=${encodeURIComponent(euUser)}`, { redirect: 'manual' })
    assert.equal(consent.status, 302)
    const callback = consent.headers.get('location')
    const query = new URL(callback).searchParams
    console.log('callback:', Object.fromEntries([...query].map(([k, v]) => [k, k === 'code' ? 'REDACTED' : v])))
    assert.equal(query.get('location'), 'eu')
    assert.equal(query.get('accounts-server'), mock.url('eu'))
    assert.equal(query.get('state'), state)

    // A callback with another state, or naming a server that is not a trusted Zoho accounts
    // server, is refused before any token request.
    await assert.rejects(app.handleCallback(callback, { expectedState: 'another-session', redirectUri }), (e) => {
      assert.ok(e instanceof AuthError)
      console.log(`wrong state: ${e.code}`)
      return e.code === 'state_mismatch'
    })
    const forged = new URL(callback)
    forged.searchParams.set('accounts-server', 'https://accounts.evil.example')
    await assert.rejects(app.handleCallback(forged.href, { expectedState: state, redirectUri }), (e) => {
      assert.ok(e instanceof AuthError)
      console.log(`forged accounts-server: ${e.code}`)
      return e.code === 'untrusted_accounts_server'
    })
    assert.equal(mock.counters().token_requests_total, 0)

    const { client, email } = await onCallback(appOptions, callback, state, redirectUri)
    assert.equal(email, euUser)
    assert.equal(client.dc, 'eu')
    assert.equal(client.accountsServer, mock.url('eu'))
    assert.equal(mock.tokenRequests('authorization_code'), 1)
  } finally {
    mock.stop()
  }
}
