// Past a JavaScript thread's warm-up (its first 16 requests), a request that is the thread's only
// one in flight runs on that thread itself: libuv watches the thread runtime's descriptor and
// drives it. What must hold there: the requests really run there, timers fire although nothing
// shows on the descriptor, the event loop keeps running, token work still runs elsewhere, an
// abort ends the request, and many in flight at once still work (they go to the shared runtime).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { once } from 'node:events'

import { RateLimitError, TransportError } from '../index.mjs'
import { withMock } from './helpers.mjs'

const WARM_UP = 16
const linux = process.platform === 'linux'

async function warmUp(c) {
  for (let i = 0; i < WARM_UP; i++) assert.equal((await c.get('/crm/v8/Leads')).status, 200)
}

/** CPU time (ms) of this process's threads named `name` (Linux). */
function threadCpuMs(name) {
  let ticks = 0
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== name) continue
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15)
    } catch {
      // the thread ended meanwhile
    }
  }
  return ticks * 10 // USER_HZ is 100 on Linux
}

/** Sends 2,000 requests one at a time and checks the runtime's workers did not do their work. */
async function assertRunHere(c) {
  const workers = threadCpuMs('zoho-oauth-rt')
  const started = process.cpuUsage()
  for (let i = 0; i < 2000; i++) assert.equal((await c.get('/crm/v8/Leads')).status, 200)
  const used = process.cpuUsage(started)
  const total = (used.user + used.system) / 1000
  const onWorkers = threadCpuMs('zoho-oauth-rt') - workers
  // On the shared runtime the workers do the HTTP work: about a third of the total or more.
  // On the JavaScript thread they do nothing for these requests.
  assert.ok(onWorkers < total * 0.1, `runtime workers used ${onWorkers} ms of ${total.toFixed(0)} ms`)
}

/** A keep-alive HTTP server in a child process answering every request with `{}`. */
async function childServer() {
  const child = spawn(process.execPath, ['-e', `
    const http = require('node:http')
    const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end('{}') }) })
    s.keepAliveTimeout = 60000
    s.listen(0, '127.0.0.1', () => console.log(s.address().port))
  `], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [line] = await once(child.stdout, 'data')
  return { url: `http://127.0.0.1:${String(line).trim()}`, stop: () => child.kill() }
}

test('past the warm-up, requests run on the JavaScript thread, not on the runtime workers', { skip: !linux }, () =>
  withMock(async ({ client }) => {
    const server = await childServer()
    try {
      const c = client({ apiDomain: server.url })
      await c.accessToken()
      await warmUp(c)
      await assertRunHere(c)
    } finally {
      server.stop()
    }
  }))

test('on the JavaScript thread, a timeout fires although nothing shows on the descriptor', () =>
  withMock(async ({ mock, client }) => {
    const c = client({ maxRetries: 0 })
    await c.accessToken()
    await warmUp(c)
    mock.injectFault('/crm/', { delayMs: 4000, count: 1 })
    const started = Date.now()
    await assert.rejects(c.get('/crm/v8/Leads', { timeout: 0.3 }), (e) => e instanceof TransportError && e.code === 'timeout')
    assert.ok(Date.now() - started < 2500, 'the timeout fired on time, not with the late answer')
  }))

test('on the JavaScript thread, the event loop keeps running while the request waits', () =>
  withMock(async ({ mock, client }) => {
    const c = client()
    await c.accessToken()
    await warmUp(c)
    mock.injectFault('/crm/', { delayMs: 400, count: 1 })
    let ticks = 0
    const timer = setInterval(() => ticks++, 10)
    const r = await c.get('/crm/v8/Leads')
    clearInterval(timer)
    assert.equal(r.status, 200)
    assert.ok(ticks >= 5, `timers ran ${ticks} times during 400 ms of waiting`)
  }))

test('on the JavaScript thread: a refresh, an abort, many in flight, pages and a POST', () =>
  withMock(async ({ mock, client, refreshes }) => {
    mock.seedCrm('Leads', 250)
    const c = client()
    await c.accessToken()
    await warmUp(c)
    // An expired token: the refresh runs on the shared runtime, the request here.
    mock.advanceClock(3600)
    assert.equal((await c.get('/crm/v8/Leads')).status, 200)
    assert.equal(refreshes(), 2)
    // An abort ends the request; the client keeps working.
    mock.injectFault('/crm/', { delayMs: 3000, count: 1 })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 50)
    const started = Date.now()
    await assert.rejects(c.get('/crm/v8/Leads', { signal: ac.signal }), (e) => e.name === 'AbortError')
    assert.ok(Date.now() - started < 2000, 'rejected long before the 3 s delay')
    for (let i = 0; i < 5; i++) assert.equal((await c.get('/crm/v8/Leads')).status, 200)
    // Many at once: on the shared runtime.
    const rs = await Promise.all(Array.from({ length: 64 }, () => c.get('/crm/v8/Leads')))
    assert.deepEqual(rs.map((r) => r.status), Array(64).fill(200))
    const ids = []
    for await (const rec of c.paginate('/crm/v8/Leads')) ids.push(rec.id)
    assert.equal(new Set(ids).size, 250)
    assert.equal((await c.post('/crm/v8/Leads', { json: { data: [{ Last_Name: 'a' }] } })).status, 201)
  }))

test('on the JavaScript thread, a token endpoint on a bad day: typed errors, the loop runs, the thread keeps its requests', { skip: !linux }, () =>
  withMock({ settings: { refresh_throttle_max: 3 } }, async ({ mock, client, app, refreshToken }) => {
    const server = await childServer()
    try {
      const rt = refreshToken()
      const c = client({ refreshToken: rt, apiDomain: server.url })
      await c.accessToken()
      await warmUp(c)
      const tokenRequests = () => JSON.stringify(mock.counters().token_requests)
      // Hostile: an HTML page instead of JSON; the back-off then answers without Zoho.
      mock.advanceClock(3600)
      mock.injectFault('/oauth/v2/token', { body: 'html', count: 1 })
      let retryAfter = 0
      await assert.rejects(c.get('/crm/v8/Leads'), (e) => {
        retryAfter = e.retryAfter
        return e instanceof TransportError && e.code === 'invalid_response' && e.retryAfter > 0
      })
      const before = tokenRequests()
      await assert.rejects(c.get('/crm/v8/Leads'), (e) => e.code === 'invalid_response')
      assert.equal(tokenRequests(), before, 'the back-off answered')
      // Slow: timers keep running while the refresh takes 1.5 s.
      mock.advanceClock(retryAfter + 1)
      mock.injectFault('/oauth/v2/token', { delayMs: 1500, count: 1 })
      let ticks = 0
      const timer = setInterval(() => ticks++, 10)
      assert.equal((await c.get('/crm/v8/Leads')).status, 200)
      clearInterval(timer)
      assert.ok(ticks >= 30, `timers ran ${ticks} times during 1.5 s`)
      // Throttled: the refresh token's allowance spent by someone else.
      mock.advanceClock(3600)
      const other = app()
      await assert.rejects(async () => {
        for (let i = 0; i < 4; i++) await other.refresh(rt)
      }, (e) => e instanceof RateLimitError)
      const denied = mock.tokenRequests('refresh_token', 'Access Denied')
      await assert.rejects(c.get('/crm/v8/Leads'), (e) => e instanceof RateLimitError && e.code === 'token_throttled' && e.retryAfter > 0)
      await assert.rejects(c.get('/crm/v8/Leads'), (e) => e.code === 'token_throttled')
      assert.equal(mock.tokenRequests('refresh_token', 'Access Denied'), denied + 1, 'the cooldown answered')
      // Past the window the thread refreshes and runs its requests itself again: every failure
      // above gave its slot back.
      mock.advanceClock(601)
      assert.equal((await c.get('/crm/v8/Leads')).status, 200)
      await assertRunHere(c)
    } finally {
      server.stop()
    }
  }))
