// Self client -> CRM Leads: exchange a self-client grant code once, then list leads with a
// Client that caches the access token and refreshes it by itself.
//
// Run against the built-in fake Zoho (no account needed; asserts what it prints):
//
//   cd examples/node && npm install && node self-client-leads.mjs
//
// Run against Zoho (create the code at https://api-console.zoho.com, "Self Client", with scope
// ZohoCRM.modules.ALL; codes are single-use and live 3 minutes):
//
//   ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=eu ZOHO_GRANT_CODE=1000.yyy node self-client-leads.mjs
//   # later runs: ZOHO_REFRESH_TOKEN=1000.zzz instead of ZOHO_GRANT_CODE
//
// Env: ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (default us), ZOHO_GRANT_CODE or
//      ZOHO_REFRESH_TOKEN, and optionally ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL, ZOHO_API_DOMAIN
//      (see Client.fromEnv). Without ZOHO_CLIENT_ID it points those variables at the fake Zoho
//      (zoho-oauth/testing), started in this process, and runs the same code.
import assert from 'node:assert/strict'
import { Client, OAuthApp, ZohoError } from 'zoho-oauth'

let mock
if (!process.env.ZOHO_CLIENT_ID) {
  const { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } = await import('zoho-oauth/testing')
  mock = new MockZoho()
  mock.seedCrm('Leads', 250)
  Object.assign(process.env, {
    ZOHO_CLIENT_ID: DEFAULT_CLIENT_ID,
    ZOHO_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
    ZOHO_ACCOUNTS_URL: mock.baseUrl,
    ZOHO_GRANT_CODE: mock.mintCode(['ZohoCRM.modules.ALL']).code,
  })
}

// Once per grant code: the refresh token it returns lasts until revoked. Keep it (here in the
// environment of this run; a real program writes it to its secret store).
async function exchangeGrantCode(code, { showRefreshToken }) {
  const app = new OAuthApp({
    clientId: process.env.ZOHO_CLIENT_ID,
    clientSecret: process.env.ZOHO_CLIENT_SECRET,
    dc: process.env.ZOHO_DC || 'us',
    clientType: 'self',
    accountsUrl: process.env.ZOHO_ACCOUNTS_URL || undefined,
  })
  const tokens = await app.exchangeCode(code)
  assert.ok(tokens.refreshToken, 'generate the code with access_type offline')
  console.log(JSON.stringify(tokens)) // redacted: no secret
  process.env.ZOHO_REFRESH_TOKEN = tokens.refreshToken
  // Shown once, on request, so that it can be stored; never log it.
  if (showRefreshToken) console.error(`store it: ZOHO_REFRESH_TOKEN=${tokens.refreshToken} (accounts server ${tokens.accountsServer})`)
}

try {
  if (process.env.ZOHO_GRANT_CODE) await exchangeGrantCode(process.env.ZOHO_GRANT_CODE, { showRefreshToken: !mock })
  const logger = (r) => r.level !== 'debug' && r.level !== 'trace' && console.error(`[${r.level}] ${r.message}`)
  const client = Client.fromEnv({ logger })
  const first = (await client.get('/crm/v8/Leads', { params: { per_page: 1 } })).throwForStatus()
  console.log(`first page: ${first.json().data.length} lead(s)`)
  let n = 0
  for await (const lead of client.paginate('/crm/v8/Leads', { params: { fields: 'Last_Name,Company' } })) {
    if (n++ < 10) console.log(lead.id, lead.Last_Name, lead.Company)
  }
  console.log(`${n} leads`)
  if (mock) {
    console.log('token requests:', JSON.stringify(mock.counters().token_requests))
    assert.equal(n, 250)
    assert.equal(mock.tokenRequests('authorization_code'), 1)
    // A fresh client has no cached access token: one refresh served every page.
    assert.equal(mock.tokenRequests('refresh_token'), 1)
  }
} catch (e) {
  if (!(e instanceof ZohoError)) throw e
  // e.code is stable across languages; e.hint says what to do.
  console.error(`zoho: ${e.code}: ${e.message} (${e.hint})`)
  process.exitCode = 1
} finally {
  mock?.stop()
}
