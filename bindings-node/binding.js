'use strict'
// Loads the native addon, first found wins:
//   1. ZOHO_OAUTH_NATIVE: the path of a specific .node file;
//   2. the platform package npm installed as an optional dependency (zoho-oauth-linux-x64-gnu, …);
//   3. an addon built in this folder (`npm run build`, or install.js from a source checkout).
// Kept small and hand-written so that a from-source install needs no generated loader.
const { existsSync } = require('node:fs')
const { join } = require('node:path')

// The platform packages scripts/package.sh builds (npm picks one by os, cpu and libc).
const PREBUILT = ['linux-x64-gnu', 'linux-arm64-gnu']

function abiSuffix() {
  if (process.platform === 'win32') return '-msvc'
  if (process.platform !== 'linux') return ''
  try {
    const report = process.report && process.report.getReport ? process.report.getReport() : null
    const header = report && (typeof report === 'string' ? JSON.parse(report) : report).header
    return header && header.glibcVersionRuntime ? '-gnu' : '-musl'
  } catch {
    return '-gnu'
  }
}

function load() {
  if (process.env.ZOHO_OAUTH_NATIVE) return require(process.env.ZOHO_OAUTH_NATIVE)
  const triple = `${process.platform}-${process.arch}${abiSuffix()}`
  const pkg = `zoho-oauth-${triple}`
  try {
    return require(pkg)
  } catch (err) {
    // Not installed is expected (a source checkout, or no prebuilt addon for this platform);
    // an addon that is there but does not load is reported as it is.
    if (!(err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(pkg))) throw err
  }
  const files = [`zoho-oauth.${triple}.node`, 'zoho-oauth.node'].map((f) => join(__dirname, f))
  for (const f of files) {
    if (existsSync(f)) return require(f)
  }
  const prebuilt = PREBUILT.includes(triple)
    ? `npm should have installed ${pkg} with zoho-oauth: reinstall without --omit=optional or --no-optional`
    : `there is no prebuilt addon for ${triple} (prebuilt: ${PREBUILT.join(', ')})`
  throw new Error(
    `zoho-oauth: no native addon for ${triple}: ${prebuilt}. ` +
      `Alternatives: set ZOHO_OAUTH_NATIVE to a zoho-oauth .node file, or build one from a source checkout ` +
      `(\`npm run build\` in bindings-node; needs Rust and cargo: https://rustup.rs). Looked in: ${pkg}, ${files.join(', ')}.`,
  )
}

module.exports = load()
