// The device flow (Zoho "non-browser applications"): ask for a user code, show it with the
// verification URL, and poll until the user approves it on another device. Zoho allows one poll
// per 30 seconds; `wait()` honours that, `slow_down`, and `other_dc` (a user of another DC).
//
// Run against the built-in fake Zoho (no account needed; asserts what it prints). The "user"
// approves through the fake's control API, and the fake's virtual clock stands in for the
// 30-second polling interval, so it finishes at once:
//
//   cd examples/node && npm install && node device-flow.mjs
//
// Run against Zoho (a "Non-browser Application" in https://api-console.zoho.com):
//
//   ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=eu node device-flow.mjs
//
// Env: ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_DC (default us). Without ZOHO_CLIENT_ID it
//      runs against the fake Zoho (zoho-oauth/testing), started in this process.
import assert from 'node:assert/strict'
import { Client, OAuthApp } from 'zoho-oauth'

const scopes = ['ZohoCRM.modules.ALL']

// `approve` is the fake Zoho only: the user approving on their phone.
async function deviceLogin(appOptions, approve) {
  const flow = await new OAuthApp(appOptions).startDeviceFlow({ scopes })
  console.log(`on any device, open ${flow.verificationUrl} and enter the code ${flow.userCode} (valid ${flow.expiresIn} s)`)
  assert.ok(flow.interval >= 30)
  approve?.(flow.userCode)
  const tokens = await flow.wait() // polls every flow.interval seconds (at least 30)
  console.log(`approved: scopes ${tokens.scopes}, accounts server ${tokens.accountsServer}`)
  return tokens
}

// Uses the new refresh token: a client for the user who approved, in their data centre.
async function countLeads(appOptions, tokens) {
  assert.ok(tokens.refreshToken, 'ask for access_type=offline')
  const client = new Client({ ...appOptions, refreshToken: tokens.refreshToken, accountsServer: tokens.accountsServer, initialToken: tokens })
  let n = 0
  for await (const _lead of client.paginate('/crm/v8/Leads')) n++
  console.log(`${n} leads`)
  return n
}

if (process.env.ZOHO_CLIENT_ID) {
  /** @type {import('zoho-oauth').OAuthAppOptions} */
  const appOptions = {
    clientId: process.env.ZOHO_CLIENT_ID,
    clientSecret: process.env.ZOHO_CLIENT_SECRET,
    dc: process.env.ZOHO_DC || 'us',
    clientType: 'device',
  }
  await countLeads(appOptions, await deviceLogin(appOptions))
} else {
  const { MockZoho } = await import('zoho-oauth/testing')
  const mock = new MockZoho()
  try {
    mock.registerClient({ clientId: '1000.DEVICEAPP', clientSecret: 'device-secret', clientType: 'device' })
    /** @type {import('zoho-oauth').OAuthAppOptions} */
    const appOptions = {
      clientId: '1000.DEVICEAPP',
      clientSecret: 'device-secret',
      clientType: 'device',
      accountsUrl: mock.baseUrl,
      clock: mock.clock, // the 30 s waits advance the fake's virtual clock instead of sleeping
    }
    const tokens = await deviceLogin(appOptions, (userCode) => mock.approveDevice(userCode))
    assert.equal(await countLeads(appOptions, tokens), 5)
    const counters = mock.counters()
    console.log(`device polls: ${counters.device_polls}, token requests: ${JSON.stringify(counters.token_requests)}`)
    assert.equal(counters.device_polls, 1)
    assert.equal(mock.tokenRequests('refresh_token'), 0) // the exchange's access token served the calls
  } finally {
    mock.stop()
  }
}
