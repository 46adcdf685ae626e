'use strict'
// `npm install` hook: make sure a native addon sits next to binding.js.
//
// - A built addon is already here (a packed tarball, or `npm run build` was run): nothing to do.
// - Installed from a source checkout (`npm install ./bindings-node` from another folder): build
//   it with cargo in release mode and copy it here. Needs Rust: https://rustup.rs.
// - `npm install` inside this folder (development): skipped; run `npm run build` instead.
// - ZOHO_OAUTH_SKIP_BUILD=1 skips the build in every case.
const { existsSync, copyFileSync } = require('node:fs')
const { join, resolve } = require('node:path')
const { spawnSync } = require('node:child_process')

const here = __dirname
const say = (msg) => console.error(`zoho-oauth: ${msg}`)

function abiSuffix() {
  if (process.platform === 'win32') return '-msvc'
  if (process.platform !== 'linux') return ''
  try {
    const header = process.report.getReport().header
    return header && header.glibcVersionRuntime ? '-gnu' : '-musl'
  } catch {
    return '-gnu'
  }
}

function main() {
  const triple = `${process.platform}-${process.arch}${abiSuffix()}`
  const target = join(here, `zoho-oauth.${triple}.node`)
  if (process.env.ZOHO_OAUTH_SKIP_BUILD) return say('ZOHO_OAUTH_SKIP_BUILD is set; not building the native addon'), 0
  if (existsSync(target) || existsSync(join(here, 'zoho-oauth.node'))) return 0
  if (process.env.INIT_CWD && resolve(process.env.INIT_CWD) === here) {
    say('development checkout: build the native addon with `npm run build`')
    return 0
  }
  if (!existsSync(join(here, 'Cargo.toml'))) {
    say(`no prebuilt native addon for ${triple} in this package, and no Rust sources to build one.`)
    return 1
  }
  const cargo = process.env.CARGO || 'cargo'
  const probe = spawnSync(cargo, ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    say(
      `building the native addon from source needs Rust, but \`${cargo}\` was not found.\n` +
        '  Install Rust from https://rustup.rs (or set CARGO to the cargo binary), then run npm install again.',
    )
    return 1
  }
  say(`building the native addon for ${triple} with ${probe.stdout.trim()} (release; the first build takes a few minutes)`)
  const build = spawnSync(
    cargo,
    ['build', '--release', '-p', 'zoho-oauth-node', '--message-format=json-render-diagnostics'],
    { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 },
  )
  if (build.error || build.status !== 0) {
    say(`cargo build failed${build.error ? `: ${build.error.message}` : ` (exit ${build.status})`}; see the messages above`)
    return 1
  }
  let artifact
  for (const line of build.stdout.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const m = JSON.parse(line)
      if (m.reason === 'compiler-artifact' && m.target && m.target.name === 'zoho_oauth_node') {
        artifact = m.filenames.find((f) => /\.(so|dylib|dll)$/.test(f)) ?? artifact
      }
    } catch {
      // not a cargo message
    }
  }
  if (!artifact) {
    say('cargo finished but reported no zoho_oauth_node library')
    return 1
  }
  copyFileSync(artifact, target)
  say(`built ${target}`)
  return 0
}

process.exitCode = main()
