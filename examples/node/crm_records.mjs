// CRM records round trip: who am I and which org, list Leads, get one, create, update, search
// and delete a Lead, with a Client that refreshes its access token by itself, including after
// the token expires mid-run.
//
// Run against the built-in fake Zoho (no account needed; asserts what it prints). The client
// follows the fake's virtual clock, so "an hour later" takes no time:
//
//   cd examples/node && npm install && node crm_records.mjs
//
// Run against Zoho (a self client's refresh token with scopes ZohoCRM.modules.ALL,
// ZohoCRM.users.READ and ZohoCRM.org.READ; self-client-leads.mjs shows how to get one). It
// creates one Lead named "Zoho-Oauth-Example" and deletes it again:
//
//   ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=eu ZOHO_REFRESH_TOKEN=1000.zzz node crm_records.mjs
//
// Env: ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (default us), ZOHO_REFRESH_TOKEN, and
//      optionally ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL, ZOHO_API_DOMAIN (see Client.fromEnv).
//      Without ZOHO_CLIENT_ID it runs against the fake Zoho (zoho-oauth/testing), started in
//      this process.
import assert from 'node:assert/strict'
import { Client, ZohoError } from 'zoho-oauth'

const SCOPES = ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ', 'ZohoCRM.org.READ']

/**
 * The id of the single record a write answered for, after checking it succeeded.
 * @param {import('zoho-oauth').Response} response
 * @returns {string}
 */
function writtenId(response) {
  const result = response.throwForStatus().json().data[0]
  assert.equal(result.status, 'success', `the write failed: ${JSON.stringify(result)}`)
  return String(result.details.id)
}

/**
 * The round trip; returns how many Leads the list showed.
 * @param {Client} client
 * @returns {Promise<number>}
 */
async function roundTrip(client) {
  const me = (await client.get('/crm/v8/users', { params: { type: 'CurrentUser' } })).throwForStatus().json()
  const org = (await client.get('/crm/v8/org')).throwForStatus().json().org[0]
  console.log(`signed in as ${me.users[0].email} in org ${org.company_name} (${org.id})`)

  const page = (await client.get('/crm/v8/Leads', { params: { fields: 'Last_Name,Email', per_page: 5 } })).throwForStatus()
  /** @type {Array<Record<string, any>>} */
  const leads = page.status === 200 ? page.json().data : [] // 204: no Leads at all
  for (const lead of leads) console.log('lead', lead.id, lead.Last_Name, `<${lead.Email}>`)
  if (leads.length > 0) {
    const one = (await client.get(`/crm/v8/Leads/${leads[0].id}`)).throwForStatus().json()
    assert.equal(one.data[0].id, leads[0].id)
  }

  const newLead = { data: [{ Last_Name: 'Zoho-Oauth-Example', First_Name: 'Node', Company: 'Zylker' }] }
  const id = writtenId(await client.post('/crm/v8/Leads', { json: newLead }))
  console.log('created lead', id)
  writtenId(await client.put(`/crm/v8/Leads/${id}`, { json: { data: [{ Company: 'Zylker Updated' }] } }))
  const criteria = '((Last_Name:equals:Zoho-Oauth-Example)and(Company:starts_with:Zylker))'
  const found = (await client.get('/crm/v8/Leads/search', { params: { criteria } })).throwForStatus()
  /** @type {string[]} */
  const foundIds = found.status === 200 ? found.json().data.map((/** @type {any} */ r) => String(r.id)) : []
  console.log('search found', foundIds)
  assert.ok(foundIds.includes(id), 'the search finds the updated lead')
  writtenId(await client.delete(`/crm/v8/Leads/${id}`))
  console.log('deleted lead', id)
  return leads.length
}

try {
  if (process.env.ZOHO_CLIENT_ID) {
    await roundTrip(Client.fromEnv())
  } else {
    const { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } = await import('zoho-oauth/testing')
    const mock = new MockZoho()
    try {
      const client = new Client({
        clientId: DEFAULT_CLIENT_ID,
        clientSecret: DEFAULT_CLIENT_SECRET,
        clientType: 'self',
        refreshToken: mock.mintRefreshToken(SCOPES).refreshToken,
        accountsUrl: mock.baseUrl,
        apiDomain: mock.baseUrl,
        clock: mock.clock, // expiry follows the fake's virtual clock
      })
      assert.equal(await roundTrip(client), 5, 'the fake starts with 5 Leads')
      assert.equal(mock.tokenRequests('refresh_token'), 1, 'one refresh served the whole round trip')
      // An hour later the access token has expired: the client refreshes once and goes on.
      mock.advanceClock(3700)
      const after = (await client.get('/crm/v8/Leads')).throwForStatus().json()
      assert.equal(after.info.count, 5, 'the created lead was deleted again')
      console.log('token requests:', JSON.stringify(mock.counters().token_requests))
      assert.equal(mock.tokenRequests('refresh_token'), 2)
    } finally {
      mock.stop()
    }
  }
} catch (e) {
  if (!(e instanceof ZohoError)) throw e
  // e.code is stable across languages; e.hint says what to do.
  console.error(`zoho: ${e.code}: ${e.message} (${e.hint})`)
  process.exitCode = 1
}
