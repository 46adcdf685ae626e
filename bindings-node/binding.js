'use strict'
// Loads the native addon built from src/ (by `npm run build`, or by install.js on
// `npm install`). Kept small and hand-written so that a from-source install needs no
// generated loader; `ZOHO_OAUTH_NATIVE` may point at a specific .node file.
const { existsSync } = require('node:fs')
const { join } = require('node:path')

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

function candidates() {
  const triple = `${process.platform}-${process.arch}${abiSuffix()}`
  const list = [`zoho-oauth.${triple}.node`, 'zoho-oauth.node']
  return { triple, files: list.map((f) => join(__dirname, f)) }
}

function load() {
  if (process.env.ZOHO_OAUTH_NATIVE) return require(process.env.ZOHO_OAUTH_NATIVE)
  const { triple, files } = candidates()
  for (const f of files) {
    if (existsSync(f)) return require(f)
  }
  throw new Error(
    `zoho-oauth: no native addon for ${triple} next to ${__filename}. ` +
      'Build it with `npm run build` in the package folder (needs Rust and cargo: https://rustup.rs), ' +
      'or reinstall the package so that its install script builds it.',
  )
}

module.exports = load()
