// check-types.mjs (run by the test command) compares index.d.ts / testing.d.ts with the
// implementation. These tests prove it catches drift in each direction: an export or member
// removed from the declarations or from the runtime, a wrong member kind, a stale error code.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

import { parseDeclarations, compareEntry, compareUnions, makeInstances } from '../check-types.mjs'

const require = createRequire(import.meta.url)
const index = require('../index.js')
const testing = require('../testing.js')
const esm = await import('../index.mjs')
const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
const codes = require('../binding.js').errorCodes()
let made

before(async () => {
  made = await makeInstances(index, testing)
})
after(() => made.stop())

const problems = (text, cjs = index, esmModule = esm) => compareEntry('index.d.ts', parseDeclarations(text), cjs, esmModule, made.instances)
const edit = (from, to) => {
  assert.ok(dts.includes(from), `the declarations contain ${from}`)
  return dts.replace(from, to)
}

test('the real declarations agree with the implementation', () => {
  assert.deepEqual(problems(dts), [])
  assert.deepEqual(compareUnions('index.d.ts', parseDeclarations(dts), codes), [])
})

test('a runtime export missing from the declarations is reported', () => {
  const text = edit('export declare class DeviceAuthorization {', 'declare class DeviceAuthorization {')
  assert.ok(problems(text).includes('index.d.ts: runtime export DeviceAuthorization is not declared'), problems(text).join('\n'))
})

test('a declared export missing at runtime is reported, in CommonJS and in the ESM entry', () => {
  const { StoreError, ...cjs } = index
  void StoreError
  const found = problems(dts, cjs, { ...esm })
  assert.ok(found.includes('index.d.ts: declared class StoreError is not exported at runtime'), found.join('\n'))
  assert.ok(found.includes('index.d.ts: the ESM entry exports StoreError, the CommonJS one does not'), found.join('\n'))
})

test('members: removed, added and of the wrong kind', () => {
  let text = edit('  wait(options?: SignalOption): Promise<TokenSet>\n', '')
  assert.ok(problems(text).includes('index.d.ts: DeviceAuthorization#wait exists at runtime but is not declared'))
  text = edit('  rateLimits(): RateLimits\n', '  rateLimits(): RateLimits\n  retryBudget(): number\n')
  assert.ok(problems(text).includes('index.d.ts: declared Client#retryBudget does not exist at runtime'))
  text = edit('  readonly storeKey: string\n', '  storeKey(): string\n')
  assert.ok(problems(text).includes('index.d.ts: Client#storeKey is a property at runtime but declared as a method'))
  text = edit('  static fromEnv(options?: { logger?: Logger }): Client\n', '')
  assert.ok(problems(text).includes('index.d.ts: Client.fromEnv exists at runtime but is not declared'))
  // ZohoError's members reach the subclasses through `extends`.
  text = edit('  family: ErrorFamily | null\n', '')
  assert.ok(problems(text).includes('index.d.ts: AuthError#family exists at runtime but is not declared'))
})

test('the default export and the error-code unions are compared too', () => {
  let text = edit('  DATA_CENTERS: typeof DATA_CENTERS\n}', '}')
  assert.ok(problems(text).includes("index.d.ts: the default export's type lacks DATA_CENTERS"))
  text = edit("  | 'response_too_large'\n", '')
  assert.deepEqual(compareUnions('index.d.ts', parseDeclarations(text), codes), ["index.d.ts: ErrorCode lacks 'response_too_large'"])
  text = edit("'transport' | 'config' | 'store'", "'transport' | 'config' | 'store' | 'network'")
  assert.deepEqual(compareUnions('index.d.ts', parseDeclarations(text), codes), ["index.d.ts: ErrorFamily has 'network', which the core does not"])
})
