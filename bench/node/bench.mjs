// Node benchmark of zoho-oauth (a script, not a test): authenticated GETs through `Client`
// against built-in fetch, undici.request and axios on the same loopback server, sequentially and
// with 64 in flight, next to plain Rust reqwest on the same server (the machine's limit, issue
// 17); then `accessToken()` on a cache hit against a pure-JS cached lookup.
//
// Run (from the repository root, after building release binaries):
//   export CARGO_BUILD_TARGET=x86_64-unknown-linux-gnu
//   cargo build --release -p zoho-mock -p zoho-oauth-node
//   cargo build --release -p zoho-oauth --example raw_reqwest     # the baseline (optional)
//   cp target/$CARGO_BUILD_TARGET/release/libzoho_oauth_node.so target/zoho-oauth-bench.node
//   (cd bindings-node && npm install --no-audit --no-fund)     # undici and axios
//   apt-get install -y nginx-light     # optional: without nginx the fake Zoho serves the GETs
//   ZOHO_OAUTH_NATIVE=$PWD/target/zoho-oauth-bench.node node bench/node/bench.mjs
//
// The server is the one bench/python/bench.py uses: nginx (one worker, a separate process)
// answering `GET /crm/v8/Leads?per_page=1` with the fake Zoho's own answer from memory, or the
// fake Zoho itself (BENCH_SERVER=mock). The token always comes from the fake Zoho (the release
// `zoho-mock` binary, a separate process). Reported per client: requests per second and the
// CPU time of this process per request (all threads, `process.cpuUsage()`); the raw reqwest
// baseline reports its own process's.
//
// Env: ZOHO_MOCK_BIN (default: the release zoho-mock in target/), ZOHO_OAUTH_NATIVE (the
// addon to load; default: the one in bindings-node), ZOHO_BENCH_PKG (the package folder whose
// index.js is benchmarked, for comparing two builds; default: bindings-node), ZOHO_RAW_REQWEST (default: the release
// raw_reqwest example in target/ when built; "" skips it), BENCH_SERVER (nginx when on PATH,
// else mock), BENCH_ROUNDS (3), BENCH_SEQ (1500), BENCH_CONC_TOTAL (6000), BENCH_RAW_SECONDS (2),
// BENCH_ONLY (comma-separated client names to run, for profiling), BENCH_RSS (peak memory of each
// client in a process of its own instead of timing; see `peakRss`), BENCH_PAIRS (12; 0 skips the
// paired ratios), BENCH_PAIR_SECONDS (0.5).
//
// The machine changes speed from one minute to the next (a shared, virtualised 2-core box), so
// the goals' ratios are also measured paired: short runs of the two sides back to back,
// alternating which goes first, reported as the median of the pairs' ratios and their range.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const pkg = process.env.ZOHO_BENCH_PKG ?? join(root, 'bindings-node')
const require = createRequire(join(pkg, 'package.json'))
const { Client } = require('./index.js')
const { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } = require('./testing.js')
const undici = require('undici')
const axios = require('axios')

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SEQ = Number(process.env.BENCH_SEQ ?? 1500)
const CONC = 64
const CONC_TOTAL = Number(process.env.BENCH_CONC_TOTAL ?? 6000)
const PATH = '/crm/v8/Leads?per_page=1'
const RAW_SECONDS = Number(process.env.BENCH_RAW_SECONDS ?? 2)
const RAW = 'raw reqwest (baseline)'
const PAIRS = Number(process.env.BENCH_PAIRS ?? 12)
const PAIR_SECONDS = Number(process.env.BENCH_PAIR_SECONDS ?? 0.5)
const triple = process.env.CARGO_BUILD_TARGET ?? 'x86_64-unknown-linux-gnu'
const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
const SERVER = process.env.BENCH_SERVER ?? (onPath('nginx') ? 'nginx' : 'mock')

function rawBinary() {
  if (process.env.ZOHO_RAW_REQWEST !== undefined) return process.env.ZOHO_RAW_REQWEST || null
  const p = join(root, 'target', triple, 'release', 'examples', 'raw_reqwest')
  return existsSync(p) ? p : null
}

function mockBinary() {
  if (process.env.ZOHO_MOCK_BIN) return process.env.ZOHO_MOCK_BIN
  const candidates = [triple && join(root, 'target', triple, 'release', 'zoho-mock'), join(root, 'target', 'release', 'zoho-mock')]
  const found = candidates.find((p) => p && existsSync(p))
  if (!found) throw new Error('build the mock first: cargo build --release -p zoho-mock (or set ZOHO_MOCK_BIN)')
  return found
}

function startMock() {
  const child = spawn(mockBinary(), ['--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const m = out.match(/(http:\/\/127\.0\.0\.1:\d+)/)
      if (m) resolve({ child, base: m[1] })
    })
    child.on('exit', (code) => reject(new Error(`zoho-mock exited with ${code}`)))
    setTimeout(() => reject(new Error(`zoho-mock printed no URL within 10 s: ${out}`)), 10_000).unref()
  })
}

async function timeSequential(fn, n) {
  for (let i = 0; i < 50; i++) await fn()
  const [t0, c0] = [process.hrtime.bigint(), process.cpuUsage()]
  for (let i = 0; i < n; i++) await fn()
  return timed(t0, c0, n)
}

/** { rps, cpu } since `t0`/`c0` for `n` requests (CPU µs per request, all threads). */
function timed(t0, c0, n) {
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  const c = process.cpuUsage(c0)
  return { rps: n / secs, cpu: (c.user + c.system) / n }
}

async function timeConcurrent(fn, total, inFlight) {
  let next = 0
  const worker = async () => {
    while (next < total) {
      next++
      await fn()
    }
  }
  await Promise.all(Array.from({ length: inFlight }, () => fn()))
  const [t0, c0] = [process.hrtime.bigint(), process.cpuUsage()]
  await Promise.all(Array.from({ length: inFlight }, worker))
  return timed(t0, c0, total)
}

const NGINX_CONF = (dir, port, path, body) => `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:${port};
        location = ${path} {
            default_type application/json;
            return 200 '${body.replaceAll("'", "\\'")}';
        }
    }
}
`

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** nginx in the foreground on a free loopback port, answering the path of PATH with `body`. */
async function startNginx(body) {
  const dir = mkdtempSync(join(tmpdir(), 'zoho-bench-nginx-'))
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), NGINX_CONF(dir, port, PATH.split('?')[0], body))
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' })
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const up = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (up) return { child, base: `http://127.0.0.1:${port}`, dir }
    await new Promise((r) => setTimeout(r, 50))
  }
  child.kill()
  rmSync(dir, { recursive: true, force: true })
  throw new Error('nginx did not start')
}

/** The baseline binary on the same URL: { rps, cpuUsPerReq } of its own process. */
function rawReqwest(binary, url, auth, concurrency, seconds = RAW_SECONDS) {
  const r = spawnSync(binary, [url, auth, String(seconds), String(concurrency)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`raw_reqwest failed: ${r.stderr}`)
  const f = JSON.parse(r.stdout)
  return { rps: f.rps, cpu: f.cpu_us_per_req }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Requests per second of `fn` with `inFlight` in flight for about `seconds` (after a warm-up). */
async function rate(fn, seconds, inFlight) {
  await Promise.all(Array.from({ length: inFlight }, () => fn()))
  let n = 0
  const t0 = process.hrtime.bigint()
  const end = t0 + BigInt(Math.round(seconds * 1e9))
  const worker = async () => {
    while (process.hrtime.bigint() < end) {
      await fn()
      n++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return n / (Number(process.hrtime.bigint() - t0) / 1e9)
}

/** `ours() / other()` (two rates) from `pairs` runs back to back, alternating which goes first. */
async function paired(ours, other, pairs) {
  const ratios = []
  for (let i = 0; i < pairs; i++) {
    let a, b
    if (i % 2 === 0) {
      a = await ours()
      b = await other()
    } else {
      b = await other()
      a = await ours()
    }
    ratios.push(a / b)
  }
  return ratios
}

/** Median of paired ratios, with their range and count. */
function describe(ratios) {
  const s = [...ratios].sort((a, b) => a - b)
  return `${median(s).toFixed(2)} (range ${s[0].toFixed(2)}-${s[s.length - 1].toFixed(2)}, ${s.length} pairs)`
}

// BENCH_RSS=1: instead of timing, each client sends CONC_TOTAL GETs, 64 in flight, alone in a
// fresh `node` process, which reports its peak RSS (VmHWM, Linux; it includes Node itself: the
// baseline row is a process that loads nothing and sends nothing).
const RSS_CHILD = `
const [pkg, kind, optsJson, url, auth, total] = process.argv.slice(1)
const req = require('node:module').createRequire(pkg + '/package.json')
const opts = JSON.parse(optsJson)
const headers = { authorization: auth }
const gets = {
  baseline: null,
  'zoho-oauth Client.get': () => {
    const c = new (req('./index.js').Client)(opts)
    return async () => { const r = await c.get('${PATH}'); r.text(); return r.status }
  },
  'undici.request': () => {
    const undici = req('undici')
    return async () => { const r = await undici.request(url, { headers }); await r.body.text(); return r.statusCode }
  },
  'fetch (built-in)': () => async () => { const r = await fetch(url, { headers }); await r.text(); return r.status },
}
;(async () => {
  const make = gets[kind]
  if (make) {
    const get = make()
    let left = Number(total)
    await Promise.all(Array.from({ length: ${CONC} }, async () => {
      while (left-- > 0) if ((await get()) !== 200) throw new Error('not 200')
    }))
  }
  const hwm = require('node:fs').readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\\s+(\\d+)/)[1]
  console.log(JSON.stringify({ rssMiB: Number(hwm) / 1024 }))
})()
`

function peakRss({ opts, base, url, headers }) {
  const kinds = ['baseline', 'zoho-oauth Client.get', 'undici.request', 'fetch (built-in)']
  const peaks = Object.fromEntries(kinds.map((k) => [k, []]))
  const childOpts = JSON.stringify({ ...opts, apiDomain: base })
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of kinds) {
      const out = spawnSync(process.execPath, ['-e', RSS_CHILD, pkg, kind, childOpts, url, headers.authorization, String(CONC_TOTAL)], { encoding: 'utf8', timeout: 600_000 })
      if (out.status !== 0) throw new Error(`${kind} failed: ${out.stderr}`)
      peaks[kind].push(JSON.parse(out.stdout.trim().split('\n').pop()).rssMiB)
    }
  }
  console.log(`node ${process.version}; ${CONC_TOTAL} GETs per client, ${CONC} in flight, each client alone in a fresh process; ${ROUNDS} rounds, median`)
  console.log('| client | peak RSS (MiB) |')
  console.log('| --- | ---: |')
  for (const kind of kinds) console.log(`| ${kind} | ${median(peaks[kind]).toFixed(1)} |`)
  console.log(`goal: Client.get <= undici.request: ${median(peaks['zoho-oauth Client.get']).toFixed(1)} vs ${median(peaks['undici.request']).toFixed(1)}`)
}

async function main() {
  const { child, base: mockBase } = await startMock()
  let nginx = null
  try {
    const minted = await (await fetch(`${mockBase}/__mock/refresh-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['ZohoCRM.modules.ALL'] }),
    })).json()
    const opts = { clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, refreshToken: minted.refresh_token, accountsUrl: mockBase }
    let base = mockBase
    if (SERVER === 'nginx') {
      const probe = new Client({ ...opts, apiDomain: mockBase })
      nginx = await startNginx((await probe.get(PATH)).text())
      base = nginx.base
    }
    const client = new Client({ ...opts, apiDomain: base })
    const token = await client.accessToken()
    const headers = { authorization: `Zoho-oauthtoken ${token}` }
    const url = `${base}${PATH}`
    const axiosClient = axios.create()
    if (process.env.BENCH_RSS) return peakRss({ opts, base, url, headers })

    let peers = {
      'zoho-oauth Client.get': async () => {
        const r = await client.get(PATH)
        if (r.status !== 200) throw new Error(`status ${r.status}`)
        r.text()
      },
      'fetch (built-in)': async () => {
        const r = await fetch(url, { headers })
        if (r.status !== 200) throw new Error(`status ${r.status}`)
        await r.text()
      },
      'undici.request': async () => {
        const r = await undici.request(url, { headers })
        if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`)
        await r.body.text()
      },
      axios: async () => {
        const r = await axiosClient.get(url, { headers, responseType: 'text' })
        if (r.status !== 200) throw new Error(`status ${r.status}`)
      },
    }
    const only = process.env.BENCH_ONLY?.split(',')
    if (only) peers = Object.fromEntries(Object.entries(peers).filter(([k]) => only.includes(k)))
    const raw = only && !only.includes(RAW) ? null : rawBinary()

    const results = {}
    for (const name of [...Object.keys(peers), ...(raw ? [RAW] : [])]) results[name] = { seq: [], conc: [] }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, fn] of Object.entries(peers)) {
        results[name].seq.push(await timeSequential(fn, SEQ))
        results[name].conc.push(await timeConcurrent(fn, CONC_TOTAL, CONC))
      }
      if (raw) {
        results[RAW].seq.push(rawReqwest(raw, url, headers.authorization, 1))
        results[RAW].conc.push(rawReqwest(raw, url, headers.authorization, CONC))
      }
    }

    const server = SERVER === 'nginx' ? 'nginx, 1 worker' : 'zoho-mock'
    console.log(`node ${process.version}; server ${server} (separate process); ${ROUNDS} rounds, median; sequential ${SEQ} GETs, ${CONC} in flight ${CONC_TOTAL} GETs${raw ? `; raw reqwest ${RAW_SECONDS} s each` : ''}`)
    console.log('| client | sequential req/s | 64 in flight req/s | CPU µs/req (seq / 64) |' + (raw ? ' / raw reqwest (seq / 64) |' : ''))
    console.log('| --- | ---: | ---: | ---: |' + (raw ? ' ---: |' : ''))
    const med = {}
    const medOf = (xs, k) => median(xs.map((x) => x[k]))
    for (const [name, r] of Object.entries(results)) {
      med[name] = { seq: medOf(r.seq, 'rps'), conc: medOf(r.conc, 'rps'), seqCpu: medOf(r.seq, 'cpu'), concCpu: medOf(r.conc, 'cpu') }
    }
    for (const [name, m] of Object.entries(med)) {
      const vsRaw = raw ? ` ${(m.seq / med[RAW].seq).toFixed(2)} / ${(m.conc / med[RAW].conc).toFixed(2)} |` : ''
      console.log(`| ${name} | ${m.seq.toFixed(0)} | ${m.conc.toFixed(0)} | ${m.seqCpu.toFixed(0)} / ${m.concCpu.toFixed(0)} |${vsRaw}`)
    }
    const z = med['zoho-oauth Client.get']
    if (z) {
      for (const peer of ['fetch (built-in)', 'undici.request', 'axios']) {
        if (!med[peer]) continue
        console.log(`ratio Client / ${peer}: sequential ${(z.seq / med[peer].seq).toFixed(2)}, 64 in flight ${(z.conc / med[peer].conc).toFixed(2)}`)
      }
      if (med['undici.request']) console.log(`goal: Client / undici.request sequential >= 1.3: ${(z.seq / med['undici.request'].seq).toFixed(2)}`)
      if (raw) console.log(`goal: Client / raw reqwest at 64 in flight >= 0.6: ${(z.conc / med[RAW].conc).toFixed(2)}`)
    }
    const get = peers['zoho-oauth Client.get']
    if (get && PAIRS > 0) {
      console.log(`paired ratios (${PAIR_SECONDS} s per side, alternating; median, range):`)
      if (peers['undici.request']) {
        const r = await paired(() => rate(get, PAIR_SECONDS, 1), () => rate(peers['undici.request'], PAIR_SECONDS, 1), PAIRS)
        console.log(`  Client / undici.request, sequential: ${describe(r)} (goal >= 1.3)`)
      }
      if (raw) {
        const r = await paired(() => rate(get, PAIR_SECONDS, CONC),
          async () => rawReqwest(raw, url, headers.authorization, CONC, PAIR_SECONDS).rps, PAIRS)
        console.log(`  Client / raw reqwest, ${CONC} in flight: ${describe(r)} (goal >= 0.6)`)
      }
    }
    if (only && !only.includes('accessToken')) return

    // accessToken() on a cache hit vs a pure-JS cached lookup with the same expiry check.
    const N = 1_000_000
    const cache = new Map([['k', { token, expiresAtMs: Date.now() + 3_600_000 }]])
    const jsLookup = async () => {
      const e = cache.get('k')
      if (e && e.expiresAtMs - 300_000 > Date.now()) return e.token
      throw new Error('miss')
    }
    const timeLoop = async (fn) => {
      for (let i = 0; i < 10_000; i++) await fn()
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < N; i++) await fn()
      return Number(process.hrtime.bigint() - t0) / N
    }
    const hit = []
    const js = []
    for (let round = 0; round < ROUNDS; round++) {
      hit.push(await timeLoop(() => client.accessToken()))
      js.push(await timeLoop(jsLookup))
    }
    console.log(`accessToken() cache hit: ${median(hit).toFixed(0)} ns/call; pure-JS cached lookup: ${median(js).toFixed(0)} ns/call; ratio ${(median(hit) / median(js)).toFixed(2)} (goal <= 2)`)
  } finally {
    child.kill()
    if (nginx) {
      nginx.child.kill()
      rmSync(nginx.dir, { recursive: true, force: true })
    }
  }
}

await main()
