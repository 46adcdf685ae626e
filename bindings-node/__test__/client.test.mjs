// Client against the fake Zoho over real HTTP: cache, single flight, 401 retry, throttling,
// budget, retries, products, pagination, fetch, AbortSignal and a free event loop.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

import { Client, ZohoError, ApiError, RateLimitError, ConfigError, TransportError, TokenSet, Response as ZResponse } from '../index.mjs'
import { withMock, SCOPES, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from './helpers.mjs'

test('the cache serves one token until expires_at - refreshMargin, then refreshes once', () =>
  withMock(async ({ mock, client, refreshes }) => {
    const c = client()
    const first = await c.accessToken()
    assert.equal(await c.accessToken(), first, 'second call is a cache hit')
    assert.equal(refreshes(), 1)
    mock.advanceClock(3600 - 301)
    assert.equal(await c.accessToken(), first, 'still outside the 300 s margin')
    assert.equal(refreshes(), 1)
    mock.advanceClock(2)
    const second = await c.accessToken()
    assert.notEqual(second, first, 'inside the margin: refreshed')
    assert.equal(refreshes(), 2)
    const ts = await c.tokenSet()
    assert.ok(ts instanceof TokenSet)
    assert.equal(ts.accessToken, second)
    assert.ok(ts.expiresAtMs > mock.nowMs())
    assert.deepEqual(ts.scopes, SCOPES)
  }))

test('1,000 concurrent accessToken() calls on an expired token make exactly one token request', () =>
  withMock(async ({ mock, client, refreshes }) => {
    const c = client()
    const old = await c.accessToken()
    mock.advanceClock(3601)
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => c.accessToken()))
    assert.equal(new Set(tokens).size, 1, 'every waiter gets the same new token')
    assert.notEqual(tokens[0], old)
    assert.equal(refreshes(), 2, 'one refresh for the first token, one for the 1,000 callers')
    assert.equal(mock.counters().token_requests_total, 2)
  }))

test('clients built per request with the same identity share one memory:// cache', () =>
  withMock(async ({ client, refreshToken, refreshes }) => {
    const rt = refreshToken()
    const results = await Promise.all(Array.from({ length: 50 }, () => client({ refreshToken: rt }).accessToken()))
    assert.equal(new Set(results).size, 1)
    assert.equal(refreshes(), 1)
  }))

test('a 401 with a dead token refreshes once and retries once', () =>
  withMock(async ({ mock, client, refreshes, calls }) => {
    const c = client()
    const dead = await c.accessToken()
    const revoked = await fetch(`${mock.baseUrl}/oauth/v2/token/revoke`, { method: 'POST', body: new URLSearchParams({ token: dead }) })
    assert.equal(revoked.status, 200)
    const r = await c.get('/crm/v8/Leads')
    assert.equal(r.status, 200)
    assert.deepEqual(calls('GET /crm/v8/Leads'), { 200: 1, 401: 1 })
    assert.equal(refreshes(), 2)
    assert.notEqual(await c.accessToken(), dead)
  }))

test('a scope error never refreshes and throws scope_mismatch from throwForStatus', () =>
  withMock(async ({ client, refreshToken, refreshes }) => {
    const c = client({ refreshToken: refreshToken(['ZohoCRM.users.READ']) })
    const r = await c.get('/crm/v8/Leads')
    assert.equal(r.status, 401)
    assert.equal(r.ok, false)
    assert.equal(refreshes(), 1, 'no refresh for a scope error')
    assert.throws(() => r.throwForStatus(), (e) => e instanceof ApiError && e.code === 'scope_mismatch' && e.zohoCode === 'OAUTH_SCOPE_MISMATCH' && e.status === 401)
  }))

test('429 is retried after Retry-After on the virtual clock; a persistent 429 is returned and typed', () =>
  withMock(async ({ mock, client, calls }) => {
    const c = client({ maxRetries: 2 })
    await c.accessToken()
    mock.injectFault('/crm/', { status: 429, retryAfter: '7', count: 1 })
    const before = mock.nowMs()
    const r = await c.get('/crm/v8/Leads')
    assert.equal(r.status, 200)
    assert.ok(mock.nowMs() - before >= 7000, 'waited Retry-After on the virtual clock')
    assert.deepEqual(calls('GET /crm/v8/Leads'), { 200: 1, 429: 1 })
    mock.injectFault('/crm/', { status: 429, retryAfter: '3', count: 10 })
    const limited = await c.get('/crm/v8/Leads')
    assert.equal(limited.status, 429)
    assert.equal(calls('GET /crm/v8/Leads')[429], 4, 'first attempt + 2 retries')
    assert.throws(() => limited.throwForStatus(), (e) => e instanceof RateLimitError && e.code === 'rate_limited' && e.retryAfter === 3)
    assert.equal(c.rateLimits().retryAfter, 3)
  }))

test('5xx is retried for GET but not for POST unless retryNonIdempotent', () =>
  withMock(async ({ mock, client, calls }) => {
    const c = client()
    mock.injectFault('/crm/', { status: 503, count: 1 })
    assert.equal((await c.get('/crm/v8/Leads')).status, 200)
    mock.injectFault('/crm/', { status: 500, count: 1, method: 'POST' })
    const body = { json: { data: [{ Last_Name: 'Ada' }] } }
    assert.equal((await c.post('/crm/v8/Leads', body)).status, 500, 'POST is not retried')
    mock.injectFault('/crm/', { status: 500, count: 1, method: 'POST' })
    assert.equal((await c.post('/crm/v8/Leads', { ...body, retryNonIdempotent: true })).status, 201)
    assert.deepEqual(calls('POST /crm/v8/Leads'), { 201: 1, 500: 2 })
  }))

test('the refresh budget fails fast with retryAfter and without calling Zoho', () =>
  withMock(async ({ client, refreshes }) => {
    const c = client()
    for (let i = 0; i < 10; i++) await c.tokenSet({ force: true })
    assert.equal(refreshes(), 10)
    await assert.rejects(c.tokenSet({ force: true }), (e) => {
      assert.ok(e instanceof RateLimitError)
      assert.equal(e.code, 'refresh_budget_exhausted')
      assert.ok(e.retryAfter > 0 && e.retryAfter <= 601, `retryAfter ${e.retryAfter}`)
      return true
    })
    assert.equal(refreshes(), 10, 'no 11th token request')
  }))

test("Zoho's Access Denied throttle becomes token_throttled and every client backs off", () =>
  withMock({ settings: { refresh_throttle_max: 2 } }, async ({ mock, client, refreshToken }) => {
    const rt = refreshToken()
    const c = client({ refreshToken: rt })
    await c.tokenSet({ force: true })
    await c.tokenSet({ force: true })
    await assert.rejects(c.tokenSet({ force: true }), (e) => e instanceof RateLimitError && e.code === 'token_throttled' && e.retryAfter > 0)
    const denied = mock.tokenRequests('refresh_token', 'Access Denied')
    assert.equal(denied, 1)
    await assert.rejects(c.tokenSet({ force: true }), (e) => e.code === 'token_throttled')
    // Another client of the identity: it is served the token that still works, and a forced
    // refresh is refused by the shared cooldown without calling Zoho.
    const other = client({ refreshToken: rt })
    const served = await other.accessToken()
    assert.equal(served, (await c.tokenSet()).accessToken)
    await assert.rejects(other.tokenSet({ force: true }), (e) => e.code === 'token_throttled' && e.retryAfter > 0)
    assert.equal(mock.tokenRequests('refresh_token', 'Access Denied'), 1, 'the cooldown kept the second client away from Zoho')
  }))

test('requests: params, json, form, headers, products and typed API errors', () =>
  withMock(async ({ mock, client }) => {
    const c = client({ apiDomain: mock.baseUrl, refreshToken: mock.mintRefreshToken([...SCOPES, 'Desk.tickets.ALL', 'Desk.basic.READ', 'ZohoBooks.fullaccess.all']).refreshToken })
    const page = await c.get('/crm/v8/Leads', { params: { per_page: 2, page: 1 } })
    assert.ok(page instanceof ZResponse)
    assert.equal(page.json().data.length, 2)
    assert.match(page.url, /per_page=2/)
    const created = await c.post('/crm/v8/Leads', { json: { data: [{ Last_Name: 'Lovelace' }] } })
    assert.equal(created.status, 201)
    assert.equal(created.json().data[0].code, 'SUCCESS')
    const noOrg = await c.get('/api/v1/tickets', { product: 'desk' })
    assert.equal(noOrg.status, 400)
    const tickets = await c.get('/api/v1/tickets', { product: 'desk', headers: { orgId: '700000001' } })
    assert.equal(tickets.status, 200)
    const missing = await c.get('/books/v3/invoices/42', { product: 'books', params: { organization_id: '800000001' } })
    assert.throws(() => missing.throwForStatus(), (e) => e instanceof ApiError && e.code === 'api_error' && e.zohoCode === '1002' && e.status === 404)
    assert.equal(page.throwForStatus(), page, 'throwForStatus returns a 2xx response')
    assert.equal(page.headers.get('Content-Type'), 'application/json;charset=utf-8', "Zoho's JSON content type")
    mock.configure({ crm_credits: 20 })
    for (let i = 0; i < 11; i++) await c.get('/crm/v8/Leads')
    assert.equal(typeof c.rateLimits().creditsRemaining, 'number', 'X-API-CREDITS-REMAINING is surfaced')
  }))

test('paginate is an async iterator that switches to page_token after 2,000 records', () =>
  withMock(async ({ mock, client, calls }) => {
    const c = client()
    mock.seedCrm('Leads', 450)
    const ids = new Set()
    for await (const rec of c.paginate('/crm/v8/Leads')) ids.add(rec.id)
    assert.equal(ids.size, 450)
    assert.equal(calls('GET /crm/v8/Leads')[200], 3)
    mock.seedCrm('Leads', 2300)
    let n = 0
    for await (const _ of c.paginate('/crm/v8/Leads', { perPage: 200 })) n++
    assert.equal(n, 2300, 'records past 2,000 come through page_token')
    mock.seedCrm('Leads', 0)
    const none = []
    for await (const r of c.paginate('/crm/v8/Leads')) none.push(r)
    assert.deepEqual(none, [], '204 ends the iteration')
  }))

test('client.fetch returns a standard Response', () =>
  withMock(async ({ mock, client }) => {
    const c = client()
    const r = await c.fetch('/crm/v8/Leads?per_page=3')
    assert.ok(r instanceof globalThis.Response)
    assert.equal(r.status, 200)
    assert.equal((await r.json()).data.length, 3)
    assert.match(r.url, /^http:\/\/127\.0\.0\.1:\d+\/crm\/v8\/Leads\?per_page=3$/)
    const post = await c.fetch(new URL(`${mock.baseUrl}/crm/v8/Leads`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [{ Last_Name: 'Hopper' }] }),
    })
    assert.equal(post.status, 201)
    mock.seedCrm('Leads', 0)
    const empty = await c.fetch('/crm/v8/Leads')
    assert.equal(empty.status, 204)
    assert.equal(await empty.text(), '')
    await assert.rejects(c.fetch('https://example.com/x'), (e) => e instanceof ConfigError)
  }))

test('an AbortSignal cancels a request in flight, and an aborted signal sends nothing', () =>
  withMock(async ({ mock, client, calls }) => {
    const c = client()
    await c.accessToken()
    mock.injectFault('/crm/', { delayMs: 5000, count: 1 })
    const ac = new AbortController()
    const started = Date.now()
    setTimeout(() => ac.abort(), 50)
    await assert.rejects(c.get('/crm/v8/Leads', { signal: ac.signal }), (e) => e.name === 'AbortError')
    assert.ok(Date.now() - started < 2000, 'rejected long before the 5 s delay')
    await assert.rejects(c.get('/crm/v8/Leads', { signal: AbortSignal.abort() }), (e) => e.name === 'AbortError')
    const reason = new Error('mine')
    await assert.rejects(c.accessToken({ signal: AbortSignal.abort(reason) }), (e) => e === reason)
    assert.equal(calls('GET /crm/v8/Leads')[200], undefined, 'the aborted calls got no answer')
    assert.equal((await c.get('/crm/v8/Leads')).status, 200, 'the client still works')
    await assert.rejects(c.get('/crm/v8/Leads', { signal: 'nope' }), (e) => e instanceof ConfigError)
  }))

test('the event loop keeps running while requests wait on the network', () =>
  withMock(async ({ mock, client }) => {
    const c = client()
    await c.accessToken()
    mock.injectFault('/crm/', { delayMs: 400, count: 8 })
    let ticks = 0
    const timer = setInterval(() => ticks++, 10)
    const rs = await Promise.all(Array.from({ length: 8 }, () => c.get('/crm/v8/Leads')))
    clearInterval(timer)
    assert.ok(rs.every((r) => r.status === 200))
    assert.ok(ticks >= 5, `timers ran ${ticks} times during 400 ms of waiting`)
  }))

test('timeouts, connection resets and malformed token answers are typed transport errors', () =>
  withMock(async ({ mock, client, refreshToken }) => {
    const c = client({ maxRetries: 0 })
    await c.accessToken()
    mock.injectFault('/crm/', { delayMs: 3000, count: 1 })
    await assert.rejects(c.get('/crm/v8/Leads', { timeout: 0.2 }), (e) => e instanceof TransportError && e.code === 'timeout')
    mock.injectFault('/crm/', { reset: true, count: 1, method: 'POST' })
    await assert.rejects(c.post('/crm/v8/Leads', { json: { data: [] } }), (e) => e instanceof TransportError && e.code === 'transport')
    mock.injectFault('/crm/', { reset: true, count: 1 })
    assert.equal((await client().get('/crm/v8/Leads')).status, 200, 'an idempotent GET is retried after a reset')
    mock.injectFault('/oauth/v2/token', { body: 'html', count: 1 })
    await assert.rejects(client({ refreshToken: refreshToken() }).accessToken(), (e) => e instanceof TransportError && e.code === 'invalid_response')
  }))

test('an answer over maxResponseBytes rejects with response_too_large', () =>
  withMock(async ({ client }) => {
    await assert.rejects(
      client({ maxResponseBytes: 64, maxRetries: 0 }).get('/crm/v8/Leads'),
      (e) => e instanceof TransportError && e.code === 'response_too_large',
    )
    assert.equal((await client().get('/crm/v8/Leads')).status, 200)
  }))

test('Client.fromEnv reads ZOHO_* variables', () =>
  withMock(async ({ mock, refreshToken }) => {
    const saved = { ...process.env }
    try {
      Object.assign(process.env, {
        ZOHO_CLIENT_ID: DEFAULT_CLIENT_ID,
        ZOHO_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
        ZOHO_REFRESH_TOKEN: refreshToken(),
        ZOHO_ACCOUNTS_URL: mock.baseUrl,
        ZOHO_DC: 'us',
      })
      const c = Client.fromEnv()
      assert.equal(c.clientId, DEFAULT_CLIENT_ID)
      assert.equal((await c.get('/crm/v8/Leads')).status, 200)
      delete process.env.ZOHO_REFRESH_TOKEN
      assert.throws(() => Client.fromEnv(), (e) => e instanceof ConfigError && /ZOHO_REFRESH_TOKEN/.test(e.message))
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    }
  }))

test('revoke() kills the refresh token', () =>
  withMock(async ({ mock, client }) => {
    const c = client()
    await c.accessToken()
    await c.revoke()
    assert.equal(mock.counters().revocations, 1)
    await assert.rejects(c.accessToken(), (e) => e instanceof ZohoError && e.code === 'invalid_code')
  }))

test('CommonJS and ESM entry points share the classes', () => {
  const require = createRequire(import.meta.url)
  const cjs = require('../index.js')
  assert.equal(cjs.Client, Client)
  assert.equal(cjs.ZohoError, ZohoError)
})
