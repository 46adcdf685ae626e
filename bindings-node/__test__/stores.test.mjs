// Token store URLs from Node: the file store shared with another process, Redis (single,
// cluster, sentinel), PostgreSQL and MySQL when the test command provides them (REDIS_URL,
// ZOHO_TEST_*_URL), and typed errors for bad store URLs and files. The stores are
// the core's; these tests check that Node reaches them unchanged.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { ConfigError, StoreError } from '../index.mjs'
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../testing.mjs'
import { withMock } from './helpers.mjs'

const CHILD = `
const { Client } = require(process.argv[1])
const [url, refreshToken, tokenStore] = process.argv.slice(2)
const c = new Client({ clientId: '${DEFAULT_CLIENT_ID}', clientSecret: '${DEFAULT_CLIENT_SECRET}', refreshToken,
  accountsUrl: url, apiDomain: url, tokenStore })
c.accessToken().then((t) => console.log(t))
`

async function sharedByAnotherProcess(env, tokenStore) {
  const refreshToken = env.refreshToken(['ZohoCRM.modules.ALL'])
  // Real clock: the other process cannot share the mock's virtual clock.
  const c = env.client({ refreshToken, tokenStore, clock: undefined, apiDomain: env.mock.baseUrl })
  const token = await c.accessToken()
  assert.equal(env.refreshes(), 1)
  const out = spawnSync(process.execPath, ['-e', CHILD, new URL('../index.js', import.meta.url).pathname, env.mock.baseUrl, refreshToken, tokenStore], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(out.status, 0, out.stderr)
  assert.equal(out.stdout.trim(), token, 'the other process read the stored token')
  assert.equal(env.refreshes(), 1, 'and made no token request of its own')
}

test('the file store is shared with another process', () =>
  withMock(async (env) => {
    const path = join(mkdtempSync(join(tmpdir(), 'zoho-node-')), 'state', 'tokens.json')
    await sharedByAnotherProcess(env, `file://${path}`)
    const text = readFileSync(path, 'utf8')
    assert.match(text, /zoho-oauth-token-store/)
    assert.doesNotMatch(text, new RegExp(DEFAULT_CLIENT_SECRET), 'the client secret is never stored')
  }))

// Every shared store the test command starts: URL variable, the variable that makes it
// required, and the option that gives this test keys or a table of its own.
const SHARED_STORES = [
  ['REDIS_URL', 'ZOHO_REQUIRE_REDIS', (id) => `prefix=node-${id}:`],
  ['ZOHO_TEST_REDIS_CLUSTER_URL', 'ZOHO_REQUIRE_STORES', (id) => `prefix=node-${id}:`],
  ['ZOHO_TEST_REDIS_SENTINEL_URL', 'ZOHO_REQUIRE_STORES', (id) => `prefix=node-${id}:`],
  ['ZOHO_TEST_POSTGRES_URL', 'ZOHO_REQUIRE_STORES', (id) => `table=node_${id}`],
  ['ZOHO_TEST_MYSQL_URL', 'ZOHO_REQUIRE_STORES', (id) => `table=node_${id}`],
]

for (const [variable, require, option] of SHARED_STORES) {
  test(`the store of ${variable} is shared with another process`, async (t) => {
    const base = process.env[variable]
    if (!base) {
      assert.notEqual(process.env[require], '1', `${require}=1 but ${variable} is not set`)
      t.skip(`${variable} is not set`)
      return
    }
    const sep = base.includes('?') ? '&' : '?'
    const url = base + sep + option(randomUUID().replaceAll('-', ''))
    await withMock((env) => sharedByAnotherProcess(env, url))
  })
}

test('the refresh token is stored only when asked', () =>
  withMock(async (env) => {
    const path = join(mkdtempSync(join(tmpdir(), 'zoho-node-')), 'tokens.json')
    const refreshToken = env.refreshToken(['ZohoCRM.modules.ALL'])
    const c = env.client({ refreshToken, tokenStore: `file://${path}` })
    await c.accessToken()
    assert.ok(!readFileSync(path, 'utf8').includes(refreshToken))
    await c.saveRefreshToken({ label: 'user@example.com' })
    const text = readFileSync(path, 'utf8')
    assert.ok(text.includes(refreshToken) && text.includes('user@example.com'))
    await assert.rejects(c.saveRefreshToken({ label: 42 }), (e) => e instanceof ConfigError)
  }))

test('bad store URLs are config errors with a hint', () =>
  withMock(async (env) => {
    for (const tokenStore of ['file://tokens.json', 'redis://', 'mongodb://localhost/x']) {
      assert.throws(() => env.client({ tokenStore }), (e) => e instanceof ConfigError && e.code === 'config' && e.hint.length > 0, tokenStore)
    }
  }))

test('a foreign file is a store error and is left untouched', () =>
  withMock(async (env) => {
    const path = join(mkdtempSync(join(tmpdir(), 'zoho-node-')), 'package.json')
    writeFileSync(path, '{"name": "app"}')
    const c = env.client({ tokenStore: `file://${path}` })
    await assert.rejects(c.accessToken(), (e) => e instanceof StoreError && e.code === 'store' && /not a zoho-oauth token store/.test(e.message))
    assert.equal(readFileSync(path, 'utf8'), '{"name": "app"}')
    assert.equal(env.refreshes(), 0)
  }))
