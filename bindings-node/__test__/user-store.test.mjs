// A token store of the user's own (`tokenStore` an object with get, compareAndSet and keys): the
// core's lease, budget and backoff on top of it, on a bad day of the store itself, and clear
// errors for stores that break the contract. Across processes: examples/node/file-cas-store.mjs,
// which the test command runs (four workers on one store, one refresh, asserted by the example).
import test from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, StoreError } from '../index.mjs'
import { MapStore, withMock } from './helpers.mjs'

test('tokens live in the user store, and a second client reads them', () =>
  withMock(async (env) => {
    const store = new MapStore()
    const refreshToken = env.refreshToken()
    const c = env.client({ refreshToken, tokenStore: store })
    const token = await c.accessToken()
    assert.equal((await c.get('/crm/v8/Leads')).status, 200)
    assert.deepEqual([...store.data.keys()], [c.storeKey])
    const record = JSON.parse(store.data.get(c.storeKey))
    assert.equal(record.token.access_token, token)
    assert.equal(record.refreshes.length, 1)
    assert.ok(record.fence >= 1)
    assert.ok(!store.data.get(c.storeKey).includes(refreshToken), 'the refresh token is not stored unless asked')
    const c2 = env.client({ refreshToken, tokenStore: store })
    assert.equal(await c2.accessToken(), token)
    assert.equal(env.refreshes(), 1)
  }))

test('many concurrent callers on a user store refresh once', () =>
  withMock(async (env) => {
    const store = new MapStore()
    const refreshToken = env.refreshToken()
    const clients = Array.from({ length: 4 }, () => env.client({ refreshToken, tokenStore: store }))
    const tokens = await Promise.all(clients.flatMap((c) => Array.from({ length: 25 }, () => c.accessToken())))
    assert.equal(new Set(tokens).size, 1)
    assert.equal(env.refreshes(), 1)
  }))

test('a broken store never causes a refresh; a fresh cached token keeps serving', () =>
  withMock(async (env) => {
    const store = new MapStore()
    const c = env.client({ tokenStore: store })
    const token = await c.accessToken()
    store.broken = true
    assert.equal(await c.accessToken(), token, 'the cached token is fresh: the store is not needed')
    assert.equal((await c.get('/crm/v8/Leads')).status, 200)
    env.mock.advanceClock(3700)
    await assert.rejects(c.accessToken(), (e) => {
      assert.ok(e instanceof StoreError, String(e))
      assert.equal(e.code, 'store')
      assert.match(e.message, /the token store MapStore: get\(\) failed/)
      assert.match(e.message, /Error: store down/)
      assert.doesNotMatch(e.message, /1000\.aaaa/, 'token-shaped text never reaches an error')
      assert.match(e.hint, /get\(\)/)
      return true
    })
    assert.equal(env.refreshes(), 1)
    store.broken = false
    assert.notEqual(await c.accessToken(), token)
    assert.equal(env.refreshes(), 2, 'exactly one refresh once the store is back')
  }))

const BREACHES = [
  ['get answers a number', { get: async () => 5 }, /get\(\) returned number; it must return a string/],
  ['compareAndSet answers nothing', { compareAndSet: () => undefined }, /compareAndSet\(\) returned undefined; it must return true/],
  ['get never settles', { get: () => new Promise(() => {}), timeout: 0.2 }, /no answer within 200 ms/],
  ['get rejects with a string', { get: () => Promise.reject('nope') }, /get\(\) failed .*string: nope/],
]

for (const [name, override, shown] of BREACHES) {
  test(`contract breach: ${name} is a StoreError`, () =>
    withMock(async (env) => {
      const store = Object.assign(new MapStore(), override)
      const c = env.client({ tokenStore: store })
      await assert.rejects(c.accessToken(), (e) => e instanceof StoreError && shown.test(e.message) ? true : assert.fail(e.message))
      assert.equal(env.refreshes(), 0)
    }))
}

test('objects that are not stores are config errors at construction', () =>
  withMock(async (env) => {
    for (const [tokenStore, shown] of [
      [{}, /tokenStore is a Object without a get\(\) method/],
      [{ get() {}, keys() {} }, /without a compareAndSet\(\) method/],
      [42, /tokenStore must be a URL string or a store object, got number/],
      [Object.assign(new MapStore(), { timeout: -1 }), /MapStore: its timeout must be a number of seconds/],
      [Object.assign(new MapStore(), { timeout: '2' }), /its timeout must be a number of seconds/],
    ]) {
      assert.throws(() => env.client({ tokenStore }), (e) => e instanceof ConfigError && shown.test(e.message) ? true : assert.fail(e.message))
    }
  }))
