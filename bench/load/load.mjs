// Load: 10,000 authenticated GETs from 64 concurrent async tasks through one zoho-oauth Client
// against the fake Zoho (zoho-oauth/testing, in this process, loopback HTTP), while the access
// token expires twice: tokens live 100 s (mock setting), the client refreshes 10 s before expiry,
// and the mock's virtual clock jumps 101 s at 1/3 and 2/3 of the run, so requests in flight at a
// jump reach Zoho with a dead token (401, refreshed once, retried once) while the others find the
// cached token expired. Pass: 0 errors and exactly 2 refreshes during the run. Reports throughput
// and the process's peak RSS. A script, not a test (bench/README.md "Load").
//
// With --bad-day the jumps go into the refresh margin (30 s for that run), to 20 s before the
// token expires, and the token endpoint answers 500 for the next 3 s of the mock's clock, which
// moves 1 ms per request. Pass: 0 errors (failed refreshes serve the token that still works),
// exactly 2 successful refreshes, at most 12 failed token requests (two flights of three
// attempts per outage).
//
//   cd bindings-node && npx napi build --platform --js native.js --dts native.d.ts   # add --release for release numbers
//   node ../bench/load/load.mjs [--bad-day]
import assert from 'node:assert/strict'

import { Client } from '../../bindings-node/index.mjs'
import { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../../bindings-node/testing.mjs'

const TOTAL = 10_000
const TASKS = 64
const TOKEN_TTL_SECS = 100
const BAD_DAY = process.argv.includes('--bad-day')

const mock = new MockZoho({ settings: { access_token_ttl_secs: TOKEN_TTL_SECS } })
try {
  const client = new Client({
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    refreshToken: mock.mintRefreshToken(['ZohoCRM.modules.ALL']).refreshToken,
    accountsUrl: mock.baseUrl,
    apiDomain: mock.baseUrl,
    refreshMargin: BAD_DAY ? 30 : 10,
    clock: mock.clock,
  })
  await client.accessToken()
  let expiresAtMs = (await client.tokenSet()).expiresAtMs
  const before = mock.counters()
  const errors = []
  let next = 0
  const worker = async () => {
    for (let i = next++; i < TOTAL; i = next++) {
      if (i === Math.floor(TOTAL / 3) || i === Math.floor((2 * TOTAL) / 3)) {
        if (BAD_DAY) {
          // Into the margin, 20 s before the token expires, and the token endpoint down for 3 s.
          const now = mock.advanceClock(Math.max(0, expiresAtMs - 20_000 - mock.nowMs()) / 1000)
          mock.injectFault('/oauth/v2/token', { count: 1000, status: 500, untilMs: now + 3000 })
        } else {
          mock.advanceClock(TOKEN_TTL_SECS + 1) // the token expires
        }
      } else if (BAD_DAY) {
        mock.advanceClock(0.001)
      }
      try {
        const r = await client.get('/crm/v8/Leads', { params: { per_page: 1 } })
        if (r.status !== 200) errors.push(`HTTP ${r.status}`)
        if (i % 100 === 0) expiresAtMs = (await client.tokenSet()).expiresAtMs
      } catch (e) {
        errors.push(String(e))
      }
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: TASKS }, worker))
  const elapsed = (performance.now() - start) / 1000
  const after = mock.counters()
  const refreshes = after.token_requests.refresh_token.success - before.token_requests.refresh_token.success
  const sum = (m) => Object.values(m || {}).reduce((a, b) => a + b, 0)
  const failed = sum(after.token_requests.faulted) - sum(before.token_requests.faulted)
  const calls = after.api_calls_total - before.api_calls_total
  const peakMiB = process.resourceUsage().maxRSS / 1024
  console.log(
    `node load${BAD_DAY ? ' (bad day)' : ''}: ${TOTAL} requests, ${TASKS} concurrent, ${elapsed.toFixed(2)} s, ${Math.round(TOTAL / elapsed)} req/s, ` +
      `errors ${errors.length}, refreshes ${refreshes}, failed token requests ${failed}, API calls ${calls} (401 retries ${calls - TOTAL}), peak RSS ${peakMiB.toFixed(1)} MiB`,
  )
  if (errors.length) console.error('first errors:', errors.slice(0, 3))
  assert.equal(errors.length, 0, 'every request succeeds')
  assert.equal(refreshes, 2, 'exactly one refresh per expiry')
  assert.ok(failed <= 12, `at most two flights of three attempts per outage: ${failed}`)
} finally {
  mock.stop()
}
