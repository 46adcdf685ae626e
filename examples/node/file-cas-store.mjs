// A token store of your own: a folder shared by every process on the host, with an atomic
// compare-and-set and no lock to leak (safe under kill -9), in 50 lines of `FolderStore`. The
// same pattern fits any database with a conditional write (DynamoDB's ConditionExpression,
// etcd's transactions, a SQL `UPDATE … WHERE value = ?`): implement get, compareAndSet and keys
// (`KeyValueStore` in index.d.ts) and pass the object as `tokenStore`. The Rust core builds the
// refresh lease, the refresh budget, the throttle cooldown and the failure backoff on those
// three calls, so the processes refresh once between them, exactly as with the built-in stores.
//
// Run against the built-in fake Zoho (no account needed; asserts what it prints): it starts the
// fake, then 4 copies of itself as workers (4 concurrent requests each) sharing one folder, and
// checks that the fake saw exactly one refresh:
//
//   cd examples/node && npm install && node file-cas-store.mjs
//
// Run as a worker against Zoho (start as many as you like on this host):
//
//   ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \
//   ZOHO_STORE_DIR=/var/lib/myapp/zoho-tokens node file-cas-store.mjs
//
// Env: ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us),
//      ZOHO_STORE_DIR (the folder), optionally ZOHO_ACCOUNTS_URL and ZOHO_API_DOMAIN. Without
//      ZOHO_CLIENT_ID it runs the fleet against the fake Zoho.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { link, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from 'zoho-oauth'

/** @typedef {import('zoho-oauth').KeyValueStore} KeyValueStore */

const WORKERS = 4
const REQUESTS_PER_WORKER = 4

/**
 * `KeyValueStore` on a folder: each write of a key creates the file `<key>.<version+1>`
 * (hard-linked from a private temporary file, which fails when the name exists), so of two
 * writers that read the same version exactly one succeeds: that is the compare-and-set. The
 * highest version is the value; an empty file is a deletion. The folder is private (0700): the
 * values are the cached tokens.
 * @implements {KeyValueStore}
 */
class FolderStore {
  /** @param {string} dir */
  constructor(dir) { this.dir = dir }

  /** @param {string} key */
  async #latest(key) {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const prefix = `${encodeURIComponent(key)}.`
    const path = (/** @type {number} */ v) => join(this.dir, `${prefix}${v}`)
    for (;;) {
      const versions = (await readdir(this.dir)).filter((f) => f.startsWith(prefix)).map((f) => Number(f.slice(prefix.length)))
      const version = Math.max(0, ...versions.filter(Number.isSafeInteger))
      try {
        const text = version === 0 ? '' : await readFile(path(version), 'utf8')
        return { version, value: text === '' ? null : text, path }
      } catch (e) {
        // Two newer writes removed the version just listed: list again.
        if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'ENOENT') throw e
      }
    }
  }

  /** @param {string} key */
  async get(key) { return (await this.#latest(key)).value }

  /** @param {string} key @param {string | null} expected @param {string | null} next */
  async compareAndSet(key, expected, next) {
    const { version, value, path } = await this.#latest(key)
    if (value !== expected) return false
    const tmp = join(this.dir, `.tmp-${randomUUID()}`)
    await writeFile(tmp, next ?? '', { mode: 0o600 })
    try {
      await link(tmp, path(version + 1))
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code === 'EEXIST') return false // another writer won
      throw e
    } finally {
      await unlink(tmp)
    }
    if (version > 0) await unlink(path(version - 1)).catch(() => {}) // keep the last two versions
    return true
  }

  async keys() {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const names = new Set((await readdir(this.dir)).filter((f) => !f.startsWith('.')).map((f) => decodeURIComponent(f.replace(/\.\d+$/, ''))))
    const present = await Promise.all([...names].map(async (k) => ((await this.get(k)) === null ? null : k)))
    return present.filter((k) => k !== null)
  }
}

// One worker: a client on the folder store, and concurrent requests with it.
async function worker() {
  const dir = process.env.ZOHO_STORE_DIR
  assert.ok(dir, 'set ZOHO_STORE_DIR (a folder every worker on this host shares)')
  const client = new Client({
    clientId: process.env.ZOHO_CLIENT_ID,
    clientSecret: process.env.ZOHO_CLIENT_SECRET,
    refreshToken: process.env.ZOHO_REFRESH_TOKEN,
    dc: process.env.ZOHO_DC || 'us',
    tokenStore: new FolderStore(dir),
    accountsUrl: process.env.ZOHO_ACCOUNTS_URL || undefined,
    apiDomain: process.env.ZOHO_API_DOMAIN || undefined,
  })
  const calls = Array.from({ length: REQUESTS_PER_WORKER }, () => client.get('/crm/v8/Leads', { params: { per_page: 1 } }))
  for (const r of await Promise.all(calls)) r.throwForStatus()
  // A hash of the token, safe to print: the same in every worker means one shared token.
  const fingerprint = createHash('sha256').update(await client.accessToken()).digest('hex').slice(0, 12)
  console.log(`worker ${process.pid}: ${REQUESTS_PER_WORKER} calls ok, access token ${fingerprint}`)
}

async function fleetOnFakeZoho() {
  const { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } = await import('zoho-oauth/testing')
  const mock = new MockZoho()
  const tmp = mkdtempSync(join(tmpdir(), 'zoho-oauth-folder-store-'))
  try {
    const dir = join(tmp, 'tokens')
    const { ZOHO_DC: _dc, ZOHO_API_DOMAIN: _api, ...inherited } = process.env
    const env = {
      ...inherited,
      ZOHO_CLIENT_ID: DEFAULT_CLIENT_ID,
      ZOHO_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
      ZOHO_REFRESH_TOKEN: mock.mintRefreshToken(['ZohoCRM.modules.ALL']).refreshToken,
      ZOHO_ACCOUNTS_URL: mock.baseUrl,
      ZOHO_STORE_DIR: dir,
    }
    const runs = Array.from({ length: WORKERS }, (_, i) => new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], { env, stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (chunk) => (out += chunk))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker ${i} exited with ${code}`))))
    }))
    const outputs = await Promise.all(runs)
    for (const out of outputs) process.stdout.write(out)
    console.log(`refreshes seen by the fake Zoho: ${mock.tokenRequests('refresh_token')}`)
    const fingerprints = new Set(outputs.map((out) => out.trim().split(' ').pop()))
    assert.equal(fingerprints.size, 1, 'every worker uses the same access token')
    assert.equal(mock.tokenRequests('refresh_token'), 1, 'one refresh for the whole fleet')
    const identities = await new FolderStore(dir).keys()
    console.log(`identities in the store: ${identities.length}`)
    assert.equal(identities.length, 1)
    assert.ok(identities[0].startsWith('zoho-oauth:v1:'))
  } finally {
    mock.stop()
    rmSync(tmp, { recursive: true, force: true })
  }
}

if (process.env.ZOHO_CLIENT_ID) await worker()
else await fleetOnFakeZoho()
