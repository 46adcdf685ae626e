// Errors are built by the addon from the core error: the class by the code's family, the
// core's message format, and every detail as a real property; in the main thread and in
// workers, for synchronous throws and for rejections alike.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { createRequire } from 'node:module'

import {
  Client, ZohoError, AuthError, RateLimitError, ApiError, TransportError, ConfigError, StoreError,
} from '../index.mjs'
import { withMock, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from './helpers.mjs'

const native = createRequire(import.meta.url)('../binding.js')
const FIELDS = ['code', 'family', 'status', 'zohoCode', 'zohoMessage', 'retryAfter', 'hint', 'body']
const CLASS_OF_FAMILY = { auth: AuthError, rate_limit: RateLimitError, api: ApiError, transport: TransportError, config: ConfigError, store: StoreError }

/** The checks every error from the addon passes. */
function assertBuilt(e, { code, family, Cls }) {
  assert.ok(e instanceof Cls && e instanceof ZohoError && e instanceof Error, `${e && e.name} is a ${Cls.name}`)
  assert.equal(e.name, Cls.name)
  assert.equal(e.code, code)
  assert.equal(e.family, family)
  for (const f of FIELDS) assert.ok(Object.hasOwn(e, f), `own property ${f}`)
  // The core's format: message (code) [details]; hint: ...
  assert.ok(e.message.includes(`(${code})`), e.message)
  if (e.hint !== null) assert.ok(e.message.endsWith(`; hint: ${e.hint}`), e.message)
  assert.ok(!/[\u0000-\u001f]/.test(e.message), 'nothing encoded in the message')
  assert.equal(typeof e.stack, 'string')
}

test('a synchronous throw is a ConfigError built from the core error', () => {
  assert.throws(() => new Client({ clientId: 'a', refreshToken: 'b', dc: 'mars' }), (e) => {
    assertBuilt(e, { code: 'config', family: 'config', Cls: ConfigError })
    assert.match(e.message, /^dc: unknown Zoho data centre "mars" \(config\); hint: /)
    assert.deepEqual([e.status, e.zohoCode, e.zohoMessage, e.retryAfter, e.body], [null, null, null, null, null])
    return true
  })
})

test('rejections carry status, Zoho code, retryAfter and hint as properties', () =>
  withMock(async ({ mock, app, client }) => {
    await assert.rejects(app().exchangeCode('1000.not-a-code'), (e) => {
      assertBuilt(e, { code: 'invalid_code', family: 'auth', Cls: AuthError })
      assert.equal(e.status, 200)
      assert.equal(e.zohoCode, 'invalid_code')
      assert.ok(e.hint.length > 0)
      return true
    })
    const c = client()
    mock.injectFault('/crm/', { status: 429, retryAfter: '7', count: 10 })
    const r = await c.get('/crm/v8/Leads', { maxRetries: 0 })
    assert.throws(() => r.throwForStatus(), (e) => {
      assertBuilt(e, { code: 'rate_limited', family: 'rate_limit', Cls: RateLimitError })
      assert.equal(e.status, 429)
      assert.equal(e.retryAfter, 7)
      return true
    })
    await assert.rejects(c.get('https://evil.example/x'), (e) => {
      assertBuilt(e, { code: 'config', family: 'config', Cls: ConfigError })
      return true
    })
  }))

test('Response#json() on a body that is not JSON throws the core invalid_response error', () =>
  withMock(async ({ mock, client }) => {
    mock.injectFault('/crm/', { status: 502, body: '<html>bad gateway</html>', count: 10 })
    const r = await client().get('/crm/v8/Leads', { maxRetries: 0 })
    assert.throws(() => r.json(), (e) => {
      assertBuilt(e, { code: 'invalid_response', family: 'transport', Cls: TransportError })
      assert.equal(e.status, 502)
      assert.equal(e.body, '<html>bad gateway</html>')
      return true
    })
  }))

test('every core code has a known family; errors constructed in JavaScript get it from the core', () => {
  const codes = native.errorCodes()
  assert.ok(codes.length >= 20)
  assert.ok(codes.some((c) => c.code === 'response_too_large' && c.family === 'transport'))
  for (const { code, family } of codes) {
    assert.ok(CLASS_OF_FAMILY[family], `known family ${family}`)
    // Errors users construct themselves get the family from the core too.
    assert.equal(new ZohoError('m', { code }).family, family)
  }
  assert.equal(new ZohoError('m', { code: 'not_a_code' }).family, null)
  const e = new RateLimitError('m', { code: 'rate_limited', retryAfter: 3, cause: 'x' })
  assert.deepEqual([e.name, e.code, e.family, e.retryAfter, e.status, e.cause], ['RateLimitError', 'rate_limited', 'rate_limit', 3, null, 'x'])
})

test('bad input caught in JavaScript is a ConfigError built like the core\'s own', () =>
  withMock(async ({ client }) => {
    const c = client()
    await assert.rejects(c.paginate('/crm/v8/Leads', { perPage: 1.5 }).next(), (e) => {
      assertBuilt(e, { code: 'config', family: 'config', Cls: ConfigError })
      assert.equal(e.message, `perPage must be a whole number, got 1.5 (config); hint: ${e.hint}`)
      return true
    })
  }))

test('workers get instances of their own classes; the main thread keeps its own', () =>
  withMock(async ({ mock, app }) => {
    const w = new Worker(new URL('./worker-errors-fixture.mjs', import.meta.url), {
      workerData: { baseUrl: mock.baseUrl, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET },
    })
    const [out] = await once(w, 'message')
    await once(w, 'exit')
    assert.deepEqual(out.sync, { ok: true, name: 'ConfigError', code: 'config', family: 'config', status: null })
    assert.deepEqual(out.rejected, { ok: true, name: 'AuthError', code: 'invalid_code', family: 'auth', status: 200 })
    assert.deepEqual(out.logged, { ok: true, name: 'AuthError', code: 'invalid_code', family: 'auth', status: 200 })
    // After the worker registered (and dropped) its classes, this thread's errors are still ours.
    await assert.rejects(app().exchangeCode('1000.not-a-code'), (e) => e instanceof AuthError && e.family === 'auth')
  }))
