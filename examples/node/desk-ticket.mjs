// A Zoho Desk ticket: find the Desk organization, then create and list tickets with the `orgId`
// header Desk requires on every call. `product: 'desk'` sends a relative path to the DC's Desk
// host (desk.zoho.<tld>) instead of the CRM api_domain.
//
// Run against the built-in fake Zoho (no account needed; asserts what it prints):
//
//   cd examples/node && npm install && node desk-ticket.mjs
//
// Run against Zoho (a refresh token with scopes Desk.tickets.ALL,Desk.basic.READ; it creates one
// ticket in ZOHO_DESK_DEPARTMENT_ID):
//
//   ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \
//   ZOHO_DESK_DEPARTMENT_ID=123000000006907 ZOHO_ORG_ID=700000001 node desk-ticket.mjs
//
// Env: ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us),
//      ZOHO_DESK_DEPARTMENT_ID, ZOHO_ORG_ID (default: the user's first organization) and
//      optionally ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL, ZOHO_API_DOMAIN. Without ZOHO_CLIENT_ID it
//      points those variables at the fake Zoho (zoho-oauth/testing) and runs the same code.
import assert from 'node:assert/strict'
import { ApiError, Client } from 'zoho-oauth'

let mock
if (!process.env.ZOHO_CLIENT_ID) {
  const { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } = await import('zoho-oauth/testing')
  mock = new MockZoho()
  Object.assign(process.env, {
    ZOHO_CLIENT_ID: DEFAULT_CLIENT_ID,
    ZOHO_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
    ZOHO_REFRESH_TOKEN: mock.mintRefreshToken(['Desk.tickets.ALL', 'Desk.basic.READ']).refreshToken,
    ZOHO_ACCOUNTS_URL: mock.baseUrl,
    // The fake serves every product on one listener: an explicit api_domain sends Desk there too.
    ZOHO_API_DOMAIN: mock.baseUrl,
    ZOHO_DESK_DEPARTMENT_ID: '1000000000001',
  })
}

// The user's first Desk organization (the only call that needs no orgId).
async function firstOrg(client) {
  const orgs = (await client.get('/api/v1/organizations', { product: 'desk' })).throwForStatus().json()
  return String(orgs.data[0].id)
}

async function createTicket(client, orgId, departmentId) {
  const headers = { orgId }
  const ticket = {
    subject: 'Printer on fire',
    departmentId,
    contact: { lastName: 'Example', email: 'someone@example.com' },
    description: 'Created by the zoho-oauth desk-ticket example.',
  }
  const created = (await client.post('/api/v1/tickets', { product: 'desk', headers, json: ticket })).throwForStatus().json()
  console.log(`ticket #${created.ticketNumber} (${created.id}) created: ${created.status}`)
  const listed = (await client.get('/api/v1/tickets', { product: 'desk', headers, params: { limit: 10 } })).throwForStatus().json()
  console.log(`${listed.data.length} ticket(s) in organization ${orgId}`)
  return { created, n: listed.data.length }
}

try {
  const client = Client.fromEnv()
  const orgId = process.env.ZOHO_ORG_ID || (await firstOrg(client))
  if (mock) {
    // Without orgId Desk answers 400 INVALID_DATA; throwForStatus() throws the typed error.
    const r = await client.get('/api/v1/tickets', { product: 'desk' })
    assert.throws(() => r.throwForStatus(), (e) => {
      assert.ok(e instanceof ApiError)
      console.log(`without orgId: ${e.status} ${e.code} (${e.zohoCode})`)
      return e.code === 'api_error' && e.zohoCode === 'INVALID_DATA'
    })
  }
  const { created, n } = await createTicket(client, orgId, process.env.ZOHO_DESK_DEPARTMENT_ID)
  if (mock) {
    assert.equal(orgId, '700000001')
    assert.equal(created.status, 'Open')
    assert.equal(n, 1)
    assert.equal(mock.tokenRequests('refresh_token'), 1)
  }
} finally {
  mock?.stop()
}
