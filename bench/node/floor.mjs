// The floor for a native Node addon, one GET at a time (bench/node/floor, bench/README.md
// "Change 11"). Same arguments and output as bench/raw/floor.rs:
//
//   cargo build --release -p zoho-oauth-bench-floor
//   node bench/node/floor.mjs URL HEADER_VALUE SECONDS
//
// prints {"rps": …, "cpu_us_per_req": …} (CPU of the whole process per request).
import { createRequire } from 'node:module'
import { copyFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const [url, header, seconds] = process.argv.slice(2)
if (!url || !header || !seconds) {
  console.error('usage: node bench/node/floor.mjs URL HEADER_VALUE SECONDS')
  process.exit(2)
}
const root = fileURLToPath(new URL('../..', import.meta.url))
const triple = process.env.CARGO_BUILD_TARGET ?? 'x86_64-unknown-linux-gnu'
const lib = join(root, 'target', triple, 'release', 'libzoho_oauth_bench_floor.so')
const addon = join(root, 'target', triple, 'release', 'zoho_oauth_bench_floor.node')
copyFileSync(lib, addon) // Node loads addons by their .node name
const floor = createRequire(import.meta.url)(addon)

const u = new URL(url)
const port = Number(u.port || 80)
floor.connect(u.hostname, port, `GET ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\nauthorization: ${header}\r\naccept: */*\r\n\r\n`)
for (let i = 0; i < 200; i++) await floor.get()
const end = performance.now() + Number(seconds) * 1000
const t0 = performance.now()
const cpu0 = process.cpuUsage()
let n = 0
while (performance.now() < end) {
  if ((await floor.get()) < 100) throw new Error('short answer')
  n++
}
const elapsed = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
console.log(JSON.stringify({ rps: Math.round((n / elapsed) * 10) / 10, cpu_us_per_req: Math.round(((cpu.user + cpu.system) / n) * 10) / 10 }))
