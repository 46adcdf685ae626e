// zoho-oauth/testing: the fake Zoho runs in-process and answers like Zoho.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

import { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../testing.mjs'

const postForm = async (url, form) => {
  const r = await fetch(url, { method: 'POST', body: new URLSearchParams(form) })
  return { status: r.status, body: await r.json() }
}

const exchange = (mock, code) =>
  postForm(`${mock.baseUrl}/oauth/v2/token`, {
    grant_type: 'authorization_code', client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET, code,
  })

test('self-client exchange, CRM call and expiry on the virtual clock', async () => {
  const mock = new MockZoho()
  try {
    const minted = mock.mintCode(['ZohoCRM.modules.ALL'])
    assert.equal(minted.location, 'us')
    assert.equal(minted.accountsServer, mock.baseUrl)
    const { status, body } = await exchange(mock, minted.code)
    assert.equal(status, 200)
    assert.equal(body.expires_in, 3600)
    assert.ok(body.refresh_token)
    const again = await exchange(mock, minted.code)
    assert.deepEqual(again, { status: 200, body: { error: 'invalid_code' } }, 'errors come back as HTTP 200')
    const headers = { Authorization: `Zoho-oauthtoken ${body.access_token}` }
    const ok = await fetch(`${mock.baseUrl}/crm/v8/Leads`, { headers })
    assert.equal(ok.status, 200)
    mock.advanceClock(3601)
    const expired = await fetch(`${mock.baseUrl}/crm/v8/Leads`, { headers })
    assert.equal(expired.status, 401)
    assert.equal((await expired.json()).code, 'INVALID_TOKEN')
    assert.equal(mock.tokenRequests('authorization_code'), 1)
    assert.equal(mock.tokenRequests('authorization_code', 'invalid_code'), 1)
    assert.deepEqual(mock.counters().api_calls['GET /crm/v8/Leads'], { 200: 1, 401: 1 })
  } finally {
    mock.stop()
  }
})

test('multi-DC, settings, faults and reset', async () => {
  const mock = new MockZoho({ dcs: ['us', 'eu'], settings: { legacy_expiry: true } })
  const eu = mock.url('eu')
  assert.ok(eu && eu !== mock.baseUrl)
  assert.equal(mock.url('jp'), null)
  mock.registerUser('eu@example.com', 'eu')
  const minted = mock.mintCode(['ZohoCRM.modules.ALL'], { user: 'eu@example.com' })
  assert.equal(minted.accountsServer, eu)
  assert.deepEqual((await exchange(mock, minted.code)).body, { error: 'invalid_code' }, 'an EU code fails at the US server')
  const { refreshToken } = mock.mintRefreshToken(['ZohoCRM.modules.ALL'])
  const { body } = await postForm(`${mock.baseUrl}/oauth/v2/token`, {
    grant_type: 'refresh_token', client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET, refresh_token: refreshToken,
  })
  assert.equal(body.expires_in_sec, 3600)
  assert.equal(body.expires_in, 3600000)
  mock.injectFault('/crm/', { status: 503, retryAfter: '7' })
  const r = await fetch(`${mock.baseUrl}/crm/v8/Leads`, { headers: { Authorization: `Zoho-oauthtoken ${body.access_token}` } })
  assert.equal(r.status, 503)
  assert.equal(r.headers.get('retry-after'), '7')
  assert.equal(mock.configure({ crm_credits: 10 }).crm_credits, 10)
  mock.reset()
  assert.equal(mock.counters().token_requests_total, 0)
  mock.stop()
  assert.throws(() => mock.counters(), /stopped/)
  mock.stop()
})

test('bad input throws with a reason', () => {
  assert.throws(() => new MockZoho({ settings: { legacy_expiri: true } }), /legacy_expiri/)
  assert.throws(() => new MockZoho({ dcs: ['mars'] }), /mars/)
  const mock = new MockZoho()
  try {
    assert.throws(() => mock.mintCode(['a.b.READ'], { clientId: '1000.NOPE' }), /unknown client/)
    assert.throws(() => mock.advanceClock(-1), /never goes back/)
    assert.throws(() => mock.configure({ device_units: 'hours' }), /device_units/)
  } finally {
    mock.stop()
  }
})

test('CommonJS entry point exposes the same class', () => {
  const require = createRequire(import.meta.url)
  const cjs = require('../testing.js')
  assert.equal(cjs.MockZoho, MockZoho)
})

test('MockZoho.client() and .app() give a ready client and app, as in Python', async () => {
  const mock = new MockZoho()
  try {
    const c = mock.client()
    assert.equal((await c.get('/crm/v8/Leads')).status, 200)
    const app = mock.app()
    const { code } = mock.mintCode(['ZohoCRM.modules.ALL'])
    const tokens = await app.exchangeCode(code)
    assert.ok(tokens.refreshToken)
    const again = mock.client({ refreshToken: tokens.refreshToken, maxRetries: 0 })
    assert.equal((await again.get('/crm/v8/Leads')).status, 200)
    assert.equal(mock.homeDc(), 'us')
  } finally {
    mock.stop()
  }
})
