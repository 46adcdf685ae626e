// List CRM leads with zoho-oauth, the way an application would.
//
// Run:  node bindings-node/examples/crm-leads.mjs
// Env:  ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us) and
//       optionally ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL, ZOHO_API_DOMAIN (see Client.fromEnv).
//       Without ZOHO_CLIENT_ID it starts the in-process fake Zoho (zoho-oauth/testing) and runs
//       against that, so CI can run it with no credentials.
import { Client, ZohoError } from 'zoho-oauth'

let mock
if (!process.env.ZOHO_CLIENT_ID) {
  const { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } = await import('zoho-oauth/testing')
  mock = new MockZoho()
  mock.seedCrm('Leads', 250)
  Object.assign(process.env, {
    ZOHO_CLIENT_ID: DEFAULT_CLIENT_ID,
    ZOHO_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
    ZOHO_REFRESH_TOKEN: mock.mintRefreshToken(['ZohoCRM.modules.ALL']).refreshToken,
    ZOHO_ACCOUNTS_URL: mock.baseUrl,
  })
}

try {
  const client = Client.fromEnv({ logger: (r) => r.level !== 'debug' && console.error(`[${r.level}] ${r.message}`) })
  const first = (await client.get('/crm/v8/Leads', { params: { per_page: 1 } })).throwForStatus()
  console.log(`first page: ${first.json().data.length} lead(s)`)
  let n = 0
  for await (const _lead of client.paginate('/crm/v8/Leads')) n++
  console.log(`${n} leads in total`)
} catch (e) {
  if (!(e instanceof ZohoError)) throw e
  console.error(`${e.code}: ${e.message}`)
  process.exitCode = 1
} finally {
  mock?.stop()
}
