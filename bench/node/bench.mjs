// Node benchmark of zoho-oauth (a script, not a test): authenticated GETs through `Client`
// against built-in fetch, undici.request and axios on the same loopback zoho-mock, sequentially
// and with 64 in flight; then `accessToken()` on a cache hit against a pure-JS cached lookup.
//
// Run (from the repository root, after building release binaries):
//   export CARGO_BUILD_TARGET=x86_64-unknown-linux-gnu
//   cargo build --release -p zoho-mock -p zoho-oauth-node
//   cp target/$CARGO_BUILD_TARGET/release/libzoho_oauth_node.so target/zoho-oauth-bench.node
//   (cd bindings-node && npm install --no-audit --no-fund)     # undici and axios
//   ZOHO_OAUTH_NATIVE=$PWD/target/zoho-oauth-bench.node node bench/node/bench.mjs
//
// Env: ZOHO_MOCK_BIN (default: the release zoho-mock in target/), ZOHO_OAUTH_NATIVE (the
// addon to load; default: the one in bindings-node), BENCH_ROUNDS (3), BENCH_SEQ (1500),
// BENCH_CONC_TOTAL (6000).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const pkg = join(root, 'bindings-node')
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

function mockBinary() {
  if (process.env.ZOHO_MOCK_BIN) return process.env.ZOHO_MOCK_BIN
  const triple = process.env.CARGO_BUILD_TARGET
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
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await fn()
  return Number(process.hrtime.bigint() - t0) / 1e9
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
  const t0 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: inFlight }, worker))
  return Number(process.hrtime.bigint() - t0) / 1e9
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  const { child, base } = await startMock()
  try {
    const minted = await (await fetch(`${base}/__mock/refresh-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['ZohoCRM.modules.ALL'] }),
    })).json()
    const client = new Client({ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, refreshToken: minted.refresh_token, accountsUrl: base })
    const token = await client.accessToken()
    const headers = { authorization: `Zoho-oauthtoken ${token}` }
    const url = `${base}${PATH}`
    const axiosClient = axios.create()

    const peers = {
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

    const results = {}
    for (const name of Object.keys(peers)) results[name] = { seq: [], conc: [] }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, fn] of Object.entries(peers)) {
        results[name].seq.push(SEQ / (await timeSequential(fn, SEQ)))
        results[name].conc.push(CONC_TOTAL / (await timeConcurrent(fn, CONC_TOTAL, CONC)))
      }
    }

    console.log(`node ${process.version}; ${ROUNDS} rounds, median; sequential ${SEQ} GETs, ${CONC} in flight ${CONC_TOTAL} GETs`)
    console.log('| client | sequential req/s | 64 in flight req/s |')
    console.log('| --- | --- | --- |')
    const med = {}
    for (const [name, r] of Object.entries(results)) {
      med[name] = { seq: median(r.seq), conc: median(r.conc) }
      console.log(`| ${name} | ${med[name].seq.toFixed(0)} | ${med[name].conc.toFixed(0)} |`)
    }
    const z = med['zoho-oauth Client.get']
    for (const peer of ['fetch (built-in)', 'undici.request', 'axios']) {
      console.log(`ratio Client / ${peer}: sequential ${(z.seq / med[peer].seq).toFixed(2)}, 64 in flight ${(z.conc / med[peer].conc).toFixed(2)}`)
    }

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
    console.log(`accessToken() cache hit: ${median(hit).toFixed(0)} ns/call; pure-JS cached lookup: ${median(js).toFixed(0)} ns/call; ratio ${(median(hit) / median(js)).toFixed(2)}`)
  } finally {
    child.kill()
  }
}

await main()
