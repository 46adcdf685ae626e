// Load: 10,000 authenticated GETs from 64 concurrent async tasks through one zoho-oauth Client
// against the fake Zoho (zoho-oauth/testing, in this process, loopback HTTP), while the access
// token expires twice: tokens live 100 s (mock setting), the client refreshes 10 s before expiry,
// and the mock's virtual clock jumps 101 s at 1/3 and 2/3 of the run, so requests in flight at a
// jump reach Zoho with a dead token (401, refreshed once, retried once) while the others find the
// cached token expired. Pass: 0 errors and exactly 2 refreshes during the run. Reports throughput
// and the process's peak RSS. A script, not a test (bench/README.md "Load").
//
//   cd bindings-node && npx napi build --platform --js native.js --dts native.d.ts   # add --release for release numbers
//   node ../bench/load/load.mjs
import assert from 'node:assert/strict'

import { Client } from '../../bindings-node/index.mjs'
import { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../../bindings-node/testing.mjs'

const TOTAL = 10_000
const TASKS = 64
const TOKEN_TTL_SECS = 100

const mock = new MockZoho({ settings: { access_token_ttl_secs: TOKEN_TTL_SECS } })
try {
  const client = new Client({
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    refreshToken: mock.mintRefreshToken(['ZohoCRM.modules.ALL']).refreshToken,
    accountsUrl: mock.baseUrl,
    apiDomain: mock.baseUrl,
    refreshMargin: 10,
    clock: mock.clock,
  })
  await client.accessToken()
  const before = mock.counters()
  const errors = []
  let next = 0
  const worker = async () => {
    for (let i = next++; i < TOTAL; i = next++) {
      if (i === Math.floor(TOTAL / 3) || i === Math.floor((2 * TOTAL) / 3)) mock.advanceClock(TOKEN_TTL_SECS + 1) // the token expires
      try {
        const r = await client.get('/crm/v8/Leads', { params: { per_page: 1 } })
        if (r.status !== 200) errors.push(`HTTP ${r.status}`)
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
  const calls = after.api_calls_total - before.api_calls_total
  const peakMiB = process.resourceUsage().maxRSS / 1024
  console.log(
    `node load: ${TOTAL} requests, ${TASKS} concurrent, ${elapsed.toFixed(2)} s, ${Math.round(TOTAL / elapsed)} req/s, ` +
      `errors ${errors.length}, refreshes ${refreshes}, API calls ${calls} (401 retries ${calls - TOTAL}), peak RSS ${peakMiB.toFixed(1)} MiB`,
  )
  if (errors.length) console.error('first errors:', errors.slice(0, 3))
  assert.equal(errors.length, 0, 'every request succeeds')
  assert.equal(refreshes, 2, 'exactly one refresh per expiry')
} finally {
  mock.stop()
}
