// The examples run as documented (against the in-process fake Zoho when no credentials are set).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

test('examples/crm-leads.mjs lists every lead', () => {
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('ZOHO_')) delete env[k]
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../examples/crm-leads.mjs', import.meta.url))], { env, encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /first page: 1 lead\(s\)/)
  assert.match(r.stdout, /250 leads in total/)
  assert.match(r.stderr, /\[info\] refresh succeeded/)
})
