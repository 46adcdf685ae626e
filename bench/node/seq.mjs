// One GET at a time for SECONDS with the zoho-oauth `Client.get` or `undici.request`, as a rung
// of bench/ladder.py (bench/README.md "Change 11"). Output like bench/raw/*.rs:
// {"rps": …, "cpu_us_per_req": …} (CPU of the whole process per request, all threads).
//
//   node bench/node/seq.mjs zoho   API_BASE ACCOUNTS_URL REFRESH_TOKEN SECONDS [TOKEN_STORE_URL]
//   node bench/node/seq.mjs undici API_BASE TOKEN SECONDS
//
// Env: ZOHO_OAUTH_NATIVE (the addon to load; default: the one in bindings-node).
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const root = fileURLToPath(new URL('../..', import.meta.url))
const require = createRequire(join(root, 'bindings-node', 'package.json'))
const PATH = '/crm/v8/Leads'
const [which, ...rest] = process.argv.slice(2)

let one
let seconds
if (which === 'zoho' && (rest.length === 4 || rest.length === 5)) {
  const { Client } = require('./index.js')
  const { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } = require('./testing.js')
  const [apiDomain, accountsUrl, refreshToken, s, tokenStore] = rest
  const client = new Client({ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, refreshToken, accountsUrl, apiDomain, tokenStore })
  // The query in the path, as bench.mjs sends it (a `params` option costs a little more).
  one = async () => {
    const r = await client.get(`${PATH}?per_page=1`)
    if (r.status !== 200) throw new Error(`status ${r.status}`)
    r.text()
  }
  seconds = Number(s)
} else if (which === 'undici' && rest.length === 3) {
  const undici = require('undici')
  const [base, token, s] = rest
  const url = `${base}${PATH}?per_page=1`
  const headers = { authorization: `Zoho-oauthtoken ${token}` }
  one = async () => {
    const r = await undici.request(url, { headers })
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`)
    await r.body.text()
  }
  seconds = Number(s)
} else {
  console.error('usage: node bench/node/seq.mjs zoho API_BASE ACCOUNTS_URL REFRESH_TOKEN SECONDS [TOKEN_STORE_URL] | undici API_BASE TOKEN SECONDS')
  process.exit(2)
}
for (let i = 0; i < 300; i++) await one()
const t0 = performance.now()
const end = t0 + seconds * 1000
const cpu0 = process.cpuUsage()
let n = 0
while (performance.now() < end) {
  await one()
  n++
}
const elapsed = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
console.log(JSON.stringify({ rps: Math.round((n / elapsed) * 10) / 10, cpu_us_per_req: Math.round(((cpu.user + cpu.system) / n) * 10) / 10 }))
