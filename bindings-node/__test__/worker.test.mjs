// worker_threads: the addon loads in every worker, Promises settle on the right thread, and a
// worker terminated with requests in flight does not take the process down.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { once } from 'node:events'

import { withMock, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from './helpers.mjs'

const fixture = new URL('./worker-fixture.mjs', import.meta.url)

function run(workerData) {
  const w = new Worker(fixture, { workerData })
  const done = once(w, 'message').then(([m]) => m)
  const exited = once(w, 'exit')
  return { w, done, exited }
}

test('clients in several workers and the main thread share one identity cache', () =>
  withMock(async ({ mock, refreshToken, client }) => {
    const rt = refreshToken()
    const data = { baseUrl: mock.baseUrl, refreshToken: rt, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, count: 20, logs: true }
    const workers = [run(data), run(data), run(data)]
    const main = client({ refreshToken: rt })
    const [mainResults, ...results] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => main.get('/crm/v8/Leads'))),
      ...workers.map((w) => w.done),
    ])
    for (const w of workers) await w.exited
    assert.ok(mainResults.every((r) => r.status === 200))
    for (const r of results) {
      assert.equal(r.statuses.length, 20)
      assert.ok(r.statuses.every((s) => s === 200))
    }
    assert.equal(new Set(results.map((r) => r.token)).size, 1, 'one token for the identity across threads')
    assert.equal(mock.tokenRequests('refresh_token'), 1, 'one refresh for 80 concurrent calls in 4 threads')
    assert.equal(mock.counters().api_calls['GET /crm/v8/Leads'][200], 80)
    assert.ok(results.flatMap((r) => r.records).includes('refresh attempt') || results.length === 3)
  }))

test('terminating a worker with requests in flight leaves the process healthy', () =>
  withMock(async ({ mock, refreshToken, client }) => {
    mock.injectFault('/crm/', { delayMs: 2000, count: 10 })
    const { w, exited } = run({ baseUrl: mock.baseUrl, refreshToken: refreshToken(), clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, count: 10 })
    // Wait until the worker's requests reached the mock, then kill the worker.
    for (let i = 0; i < 200 && mock.counters().token_requests_total === 0; i++) await new Promise((r) => setTimeout(r, 10))
    await new Promise((r) => setTimeout(r, 100))
    await w.terminate()
    await exited
    const c = client()
    const r = await c.get('/crm/v8/Leads', { timeout: 10 })
    assert.ok([200].includes(r.status))
  }))
