// install.js: skips when an addon is present, builds from source otherwise, and says clearly
// when cargo is missing. (The real cargo build is exercised by `npm install ./bindings-node`.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, copyFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('../install.js', import.meta.url))

function runIn(setup, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'zoho-oauth-install-'))
  try {
    copyFileSync(script, join(dir, 'install.js'))
    setup(dir)
    const base = { ...process.env }
    delete base.INIT_CWD
    delete base.ZOHO_OAUTH_SKIP_BUILD
    const r = spawnSync(process.execPath, ['install.js'], { cwd: dir, env: { ...base, INIT_CWD: tmpdir(), ...env }, encoding: 'utf8' })
    return { status: r.status, out: r.stdout + r.stderr, dir }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const triple = () => {
  const glibc = process.report.getReport().header.glibcVersionRuntime
  const abi = process.platform === 'linux' ? (glibc ? '-gnu' : '-musl') : process.platform === 'win32' ? '-msvc' : ''
  return `${process.platform}-${process.arch}${abi}`
}

test('a built addon next to the package is used as is', () => {
  const r = runIn((d) => writeFileSync(join(d, `zoho-oauth.${triple()}.node`), ''), { CARGO: '/nonexistent/cargo' })
  assert.equal(r.status, 0)
  assert.equal(r.out, '')
})

test('without cargo the install fails with a clear message', () => {
  const r = runIn((d) => writeFileSync(join(d, 'Cargo.toml'), ''), { CARGO: '/nonexistent/cargo' })
  assert.equal(r.status, 1)
  assert.match(r.out, /needs Rust/)
  assert.match(r.out, /rustup\.rs/)
})

test('a package without sources or addon says so', () => {
  const r = runIn(() => {})
  assert.equal(r.status, 1)
  assert.match(r.out, /no prebuilt native addon/)
})

test('npm install inside the package folder and ZOHO_OAUTH_SKIP_BUILD skip the build', () => {
  const dev = runIn((d) => writeFileSync(join(d, 'Cargo.toml'), ''), { CARGO: '/nonexistent/cargo', INIT_CWD: '.' })
  // INIT_CWD '.' resolves to the child's cwd: the package folder itself.
  assert.equal(dev.status, 0)
  assert.match(dev.out, /npm run build/)
  const skip = runIn(() => {}, { ZOHO_OAUTH_SKIP_BUILD: '1' })
  assert.equal(skip.status, 0)
  assert.match(skip.out, /ZOHO_OAUTH_SKIP_BUILD/)
})
