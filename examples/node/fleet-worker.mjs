// A fleet worker: many processes (on one host or many) share one Zoho identity through a Redis
// token store, so they refresh the access token once between them instead of once each. Zoho
// allows 10 refreshes per refresh token per 10 minutes; a fleet refreshing on its own gets
// locked out. The store also holds the refresh lease and the refresh budget.
//
// Run against the built-in fake Zoho (no account needed; asserts what it prints): it starts the
// fake, then 4 copies of itself as workers (4 concurrent requests each) sharing REDIS_URL (or a
// file store in a temporary folder when no Redis is given), and checks that the fake saw exactly
// one refresh:
//
//   cd examples/node && npm install && REDIS_URL=redis://127.0.0.1:6379/0 node fleet-worker.mjs
//
// Run as a worker against Zoho (start as many as you like, on any host reaching the Redis):
//
//   ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \
//   ZOHO_TOKEN_STORE=redis://redis.internal:6379/0 node fleet-worker.mjs
//
// Env: ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us),
//      ZOHO_TOKEN_STORE (else REDIS_URL), optionally ZOHO_ACCOUNTS_URL, ZOHO_API_DOMAIN and
//      ZOHO_WORKER_ID (a label). Without ZOHO_CLIENT_ID it runs the fleet against the fake Zoho.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from 'zoho-oauth'

const WORKERS = 4
const REQUESTS_PER_WORKER = 4

// One worker: a client on the shared store, and concurrent requests with it.
async function worker() {
  const tokenStore = process.env.ZOHO_TOKEN_STORE || process.env.REDIS_URL
  assert.ok(tokenStore, 'set ZOHO_TOKEN_STORE or REDIS_URL (redis://host:6379/0)')
  const client = new Client({
    clientId: process.env.ZOHO_CLIENT_ID,
    clientSecret: process.env.ZOHO_CLIENT_SECRET,
    refreshToken: process.env.ZOHO_REFRESH_TOKEN,
    dc: process.env.ZOHO_DC || 'us',
    tokenStore,
    accountsUrl: process.env.ZOHO_ACCOUNTS_URL || undefined,
    apiDomain: process.env.ZOHO_API_DOMAIN || undefined,
  })
  const calls = Array.from({ length: REQUESTS_PER_WORKER }, () => client.get('/crm/v8/Leads', { params: { per_page: 1 } }))
  for (const r of await Promise.all(calls)) r.throwForStatus()
  // A hash of the token, safe to print: the same in every worker means one shared token.
  const fingerprint = createHash('sha256').update(await client.accessToken()).digest('hex').slice(0, 12)
  console.log(`worker ${process.env.ZOHO_WORKER_ID ?? process.pid}: ${REQUESTS_PER_WORKER} calls ok, access token ${fingerprint}`)
}

async function fleetOnFakeZoho() {
  const { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } = await import('zoho-oauth/testing')
  const mock = new MockZoho()
  const tmp = mkdtempSync(join(tmpdir(), 'zoho-oauth-fleet-'))
  try {
    const tokenStore = process.env.ZOHO_TOKEN_STORE || process.env.REDIS_URL || `file://${join(tmp, 'tokens.json')}`
    console.log(`token store: ${tokenStore.split('?')[0]}`)
    const { ZOHO_DC: _dc, ZOHO_API_DOMAIN: _api, ...inherited } = process.env
    const env = {
      ...inherited,
      ZOHO_CLIENT_ID: DEFAULT_CLIENT_ID,
      ZOHO_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
      ZOHO_REFRESH_TOKEN: mock.mintRefreshToken(['ZohoCRM.modules.ALL']).refreshToken,
      ZOHO_ACCOUNTS_URL: mock.baseUrl,
      ZOHO_TOKEN_STORE: tokenStore,
    }
    // The fleet: copies of this program in worker mode, started together.
    const runs = Array.from({ length: WORKERS }, (_, i) => new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
        env: { ...env, ZOHO_WORKER_ID: String(i) },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let out = ''
      child.stdout.on('data', (chunk) => (out += chunk))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker ${i} exited with ${code}`))))
    }))
    const outputs = await Promise.all(runs)
    for (const out of outputs) process.stdout.write(out)
    const counters = mock.counters()
    console.log(`token requests seen by the fake Zoho: ${JSON.stringify(counters.token_requests)}`)
    console.log(`API calls: ${counters.api_calls_total}`)
    const fingerprints = new Set(outputs.map((out) => out.trim().split(' ').pop()))
    assert.equal(fingerprints.size, 1, 'every worker uses the same access token')
    assert.equal(mock.tokenRequests('refresh_token'), 1, 'one refresh for the whole fleet')
    assert.equal(counters.api_calls_total, WORKERS * REQUESTS_PER_WORKER)
  } finally {
    mock.stop()
    rmSync(tmp, { recursive: true, force: true })
  }
}

if (process.env.ZOHO_CLIENT_ID) await worker()
else await fleetOnFakeZoho()
