// Zoho Books invoices: every Books call names the organization in the `organization_id` query
// parameter. Lists invoices, and creates one when a customer is given.
//
// Run against the built-in fake Zoho (no account needed; asserts what it prints):
//
//   cd examples/node && npm install && node books-invoices.mjs
//
// Run against Zoho (a refresh token with scope ZohoBooks.invoices.ALL; the organization id is in
// Books under Settings > Organization Profile; with ZOHO_BOOKS_CUSTOMER_ID it also creates a draft
// invoice for that customer):
//
//   ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \
//   ZOHO_ORG_ID=800000001 node books-invoices.mjs
//
// Env: ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us), ZOHO_ORG_ID,
//      optionally ZOHO_BOOKS_CUSTOMER_ID, ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL, ZOHO_API_DOMAIN.
//      Without ZOHO_CLIENT_ID it points those variables at the fake Zoho (zoho-oauth/testing)
//      and runs the same code.
import assert from 'node:assert/strict'
import { ApiError, Client } from 'zoho-oauth'

let mock
if (!process.env.ZOHO_CLIENT_ID) {
  const { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } = await import('zoho-oauth/testing')
  mock = new MockZoho()
  Object.assign(process.env, {
    ZOHO_CLIENT_ID: DEFAULT_CLIENT_ID,
    ZOHO_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
    ZOHO_REFRESH_TOKEN: mock.mintRefreshToken(['ZohoBooks.invoices.ALL']).refreshToken,
    ZOHO_ACCOUNTS_URL: mock.baseUrl,
    ZOHO_ORG_ID: '800000001',
    ZOHO_BOOKS_CUSTOMER_ID: '460000000026049',
  })
}

async function listInvoices(client, orgId) {
  const page = await client.get('/books/v3/invoices', { product: 'books', params: { organization_id: orgId, per_page: 25 } })
  const { invoices } = page.throwForStatus().json()
  for (const inv of invoices) console.log(inv.invoice_number, inv.customer_name, inv.total, inv.status)
  return invoices.length
}

// Creates a draft invoice and reads it back by id.
async function createInvoice(client, orgId, customerId) {
  const params = { organization_id: orgId }
  const json = { customer_id: customerId, line_items: [{ name: 'Consulting', rate: 120.0, quantity: 2 }] }
  const created = (await client.post('/books/v3/invoices', { product: 'books', params, json })).throwForStatus().json()
  const id = created.invoice.invoice_id
  const { invoice } = (await client.get(`/books/v3/invoices/${id}`, { product: 'books', params })).throwForStatus().json()
  console.log(`created ${invoice.invoice_number} (${id}): ${invoice.status}`)
  return invoice
}

try {
  const client = Client.fromEnv()
  const orgId = process.env.ZOHO_ORG_ID
  assert.ok(orgId, 'set ZOHO_ORG_ID (the Books organization id)')
  if (mock) {
    // Without organization_id Books answers 400 with its own envelope: {"code":6041,...}.
    const r = await client.get('/books/v3/invoices', { product: 'books' })
    assert.throws(() => r.throwForStatus(), (e) => {
      assert.ok(e instanceof ApiError)
      console.log(`without organization_id: ${e.status} ${e.code} (code ${e.zohoCode})`)
      return e.code === 'api_error' && e.zohoCode === '6041'
    })
  }
  const before = await listInvoices(client, orgId)
  console.log(`${before} invoice(s) on the first page`)
  const customer = process.env.ZOHO_BOOKS_CUSTOMER_ID
  const invoice = customer ? await createInvoice(client, orgId, customer) : null
  if (mock) {
    assert.equal(before, 3)
    assert.equal(invoice?.status, 'draft')
    assert.equal(await listInvoices(client, orgId), 4)
    assert.equal(mock.tokenRequests('refresh_token'), 1)
  }
} finally {
  mock?.stop()
}
