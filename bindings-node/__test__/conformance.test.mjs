// Cross-language conformance: every scenario of tests/conformance/scenarios through the Node API.
// The schema, the actions and the matcher are described in tests/conformance/README.md; the Rust
// and Python runners implement the same few rules, so a scenario that passes there and fails
// here fails the build.
//
// Every scenario is also a secret-leak check: every client and app has a logger, and no logger
// record, error message, `util.inspect`/JSON of an error, client, app or token set may contain a
// client secret, refresh token, access token, grant code or PKCE verifier the scenario used or saw.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import util from 'node:util'

import { Client, OAuthApp, ZohoError } from '../index.mjs'
import { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../testing.mjs'
import { MapStore } from './helpers.mjs'

// The store object of ZOHO_CONFORMANCE_STORE=object: (see newClient).
const OWN_STORE = new MapStore()

const DIR = new URL('../../tests/conformance/scenarios/', import.meta.url)
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()
const DEFAULT_SCOPES = ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ']
const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
const pick = (st, keys) => Object.fromEntries(keys.filter((k) => k in st).map((k) => [camel(k), st[k]]))

class Runner {
  constructor(scenario) {
    this.s = scenario
    const m = scenario.mock ?? {}
    this.mock = new MockZoho({ dcs: m.dcs ?? ['us'], settings: m.settings })
    const dcs = this.call('info').dcs
    this.dcUrls = Object.fromEntries(Object.entries(dcs).map(([k, v]) => [k, v.accounts_server]))
    this.vars = { base: this.mock.baseUrl, dc: this.dcUrls }
    this.homeDc = Object.keys(this.dcUrls).find((k) => this.dcUrls[k] === this.mock.baseUrl)
    this.clients = {}
    this.apps = {}
    this.flows = {}
    this.shown = [] // everything the library printed: checked for secrets
    this.logs = []
    this.logger = (r) => this.logs.push(JSON.stringify(r))
    this.secrets = new Set([DEFAULT_CLIENT_SECRET])
  }

  show(...values) {
    for (const v of values) this.shown.push(util.inspect(v, { showHidden: true, depth: Infinity, getters: true }), JSON.stringify(v) ?? '', String(v))
  }

  call(op, body) {
    return this.mock._call(op, body)
  }

  // Placeholders: "${name.path}" (a whole string keeps the value's type), "${http_date+N}".
  sub(v) {
    if (Array.isArray(v)) return v.map((x) => this.sub(x))
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.sub(x)]))
    if (typeof v !== 'string' || !v.includes('${')) return v
    const whole = v.match(/^\$\{([^}]+)\}$/)
    if (whole) return this.lookup(whole[1])
    return v.replace(/\$\{([^}]+)\}/g, (_, name) => String(this.lookup(name)))
  }

  lookup(name) {
    if (name.startsWith('http_date+')) return new Date(this.call('now_ms').now_ms + Number(name.split('+')[1]) * 1000).toUTCString()
    return lookupVar(this.vars, name)
  }

  newApp(a) {
    return new OAuthApp({
      clientId: a.client_id ?? DEFAULT_CLIENT_ID,
      clientSecret: a.client_secret ?? DEFAULT_CLIENT_SECRET,
      clientType: a.client_type ?? 'self',
      dc: a.dc ?? this.homeDc,
      dcAccountsUrls: this.dcUrls,
      dcSecrets: a.dc_secrets,
      clock: this.mock.clock,
      logger: this.logger,
    })
  }

  newClient(c) {
    let rt = c.refresh_token
    if (rt === undefined) rt = this.call('mint_refresh_token', { scopes: c.scopes ?? DEFAULT_SCOPES, ...(c.user ? { user: c.user } : {}) }).refresh_token
    const o = { ...(c.options ?? {}) }
    const dc = o.dc ?? this.homeDc
    const apiDomain = 'api_domain' in o ? o.api_domain : this.mock.baseUrl
    delete o.dc
    delete o.api_domain
    this.secrets.add(rt)
    const opts = { clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, refreshToken: rt, dc, accountsUrl: this.dcUrls[dc], clock: this.mock.clock, logger: this.logger }
    if (apiDomain !== null) opts.apiDomain = apiDomain
    for (const [k, v] of Object.entries(o)) opts[camel(k)] = v
    // ZOHO_CONFORMANCE_STORE: every scenario on that shared store (the test command runs the
    // runner once more against PostgreSQL); identities never collide across scenarios.
    // "object:" plays them on a store object of the user's own (one for the whole run, like
    // memory://), so the core's CasStore gives the same results as its own stores.
    const store = process.env.ZOHO_CONFORMANCE_STORE
    if (store === 'object:') opts.tokenStore = OWN_STORE
    else if (store) opts.tokenStore = store
    return new Client(opts)
  }

  token(t) {
    this.show(t)
    const now = this.call('now_ms').now_ms
    return {
      access_token: t.accessToken,
      refresh_token: t.refreshToken,
      api_domain: t.apiDomain,
      accounts_server: t.accountsServer,
      token_type: t.tokenType,
      scopes: t.scopes,
      expires_in: Math.floor((t.expiresAtMs - now) / 1000),
    }
  }

  response(r, raise) {
    if (raise) r.throwForStatus()
    let json = null
    try {
      json = r.json()
    } catch (e) {
      if (!(e instanceof ZohoError)) throw e
    }
    const ra = r.headers.get('retry-after')
    return { status: r.status, json, text: r.text(), retry_after: ra !== null && /^\d+$/.test(ra) ? Number(ra) : null }
  }

  async act(st) {
    const c = () => this.clients[st.client ?? 'main']
    const app = () => this.apps[st.app ?? 'app']
    switch (st.do) {
      case 'mock':
        return this.call(st.op, st.body)
      case 'advance_clock':
        return this.call('advance_clock', { seconds: st.seconds }).now_ms
      case 'new_client':
        this.clients[st.name ?? 'main'] = this.newClient(st)
        this.show(this.clients[st.name ?? 'main'])
        return null
      case 'new_app':
        this.apps[st.name ?? 'app'] = this.newApp(st)
        this.show(this.apps[st.name ?? 'app'])
        return null
      case 'access_token':
        return await c().accessToken()
      case 'token_set':
        return this.token(await c().tokenSet())
      case 'force_refresh':
        return this.token(await c().tokenSet({ force: true }))
      case 'invalidate':
        return await c().invalidate(st.token)
      case 'revoke':
        return (await c().revoke()) ?? null
      case 'request': {
        const opts = pick(st, ['params', 'headers', 'product', 'timeout', 'max_retries', 'json', 'retry_non_idempotent'])
        return this.response(await c().request(st.method ?? 'GET', st.path, opts), st.raise ?? false)
      }
      case 'rate_limits': {
        const r = c().rateLimits()
        return { credits_remaining: r.creditsRemaining ?? null, retry_after: r.retryAfter ?? null, status: r.status ?? null }
      }
      case 'paginate': {
        let count = 0
        for await (const _ of c().paginate(st.path, { perPage: st.per_page ?? 200 })) count++
        return { count }
      }
      case 'concurrent': {
        const outs = await Promise.all(Array.from({ length: st.n }, () => this.outcome(() => this.act(st.step))))
        const oks = outs.filter((o) => 'ok' in o).map((o) => JSON.stringify(o.ok))
        return { ok: oks.length, errors: [...new Set(outs.filter((o) => 'error' in o).map((o) => o.error.code))].sort(), distinct: new Set(oks).size }
      }
      case 'exchange_code':
        return this.token(await app().exchangeCode(st.code, pick(st, ['redirect_uri', 'code_verifier', 'accounts_server'])))
      case 'refresh':
        return this.token(await app().refresh(st.refresh_token, pick(st, ['accounts_server'])))
      case 'app_revoke':
        return (await app().revoke(st.refresh_token)) ?? null
      case 'client_credentials':
        return this.token(await app().clientCredentials(st.scopes))
      case 'authorization_url': {
        const u = app().authorizationUrl({ scopes: st.scopes, redirectUri: st.redirect_uri, ...pick(st, ['state', 'prompt', 'access_type']) })
        return { url: u.url, state: u.state, code_verifier: u.codeVerifier ?? null }
      }
      case 'consent':
        return await consent(st.url, st.params ?? {})
      case 'handle_callback':
        return this.token(await app().handleCallback(st.url, pick(st, ['expected_state', 'redirect_uri', 'code_verifier'])))
      case 'start_device_flow': {
        const f = await app().startDeviceFlow({ scopes: st.scopes, ...pick(st, ['access_type']) })
        this.flows[st.save ?? 'flow'] = f
        return { user_code: f.userCode, verification_url: f.verificationUrl, expires_in: f.expiresIn, interval: f.interval }
      }
      case 'device_wait':
        return this.token(await this.flows[st.flow ?? 'flow'].wait())
      default:
        throw new Error(`unknown action ${st.do}`)
    }
  }

  async outcome(f) {
    try {
      return { ok: await f() }
    } catch (e) {
      if (!(e instanceof ZohoError)) throw e
      this.show(e, e.message, e.body, e.hint, e.zohoMessage)
      return { error: { code: e.code, status: e.status, zoho_code: e.zohoCode, retry_after: e.retryAfter } }
    }
  }

  async run() {
    this.apps.app = this.newApp({})
    this.clients.main = this.newClient(this.s.client ?? {})
    for (const [i, raw] of this.s.steps.entries()) {
      const st = this.sub(raw)
      collectSecrets(st, this.secrets)
      const where = `step ${i} (${st.do})`
      const before = this.call('now_ms').now_ms
      const t0 = performance.now()
      const out = await this.outcome(() => this.act(st))
      const elapsedMs = performance.now() - t0
      const advanced = (this.call('now_ms').now_ms - before) / 1000
      const exp = st.expect ?? {}
      if ('error' in exp) {
        const want = typeof exp.error === 'object' ? exp.error : { code: exp.error }
        assert.ok('error' in out, `${where}: expected error ${JSON.stringify(want)}, got ${JSON.stringify(out)}`)
        check(want, out.error, this.vars, where)
      } else {
        assert.ok('ok' in out, `${where}: unexpected error ${JSON.stringify(out.error)}`)
        if ('result' in exp) check(exp.result, out.ok, this.vars, where)
      }
      if ('counters' in exp) check(exp.counters, this.call('counters'), this.vars, `${where} counters`)
      if ('clock_advanced' in exp) check(exp.clock_advanced, advanced, this.vars, `${where} clock_advanced`)
      if ('elapsed_ms_max' in exp) assert.ok(elapsedMs <= exp.elapsed_ms_max, `${where}: took ${elapsedMs.toFixed(0)} ms`)
      if ('save' in st) this.vars[st.save] = 'ok' in out ? out.ok : out.error
      collectSecrets(out, this.secrets)
    }
  }

  async assertNoLeaks() {
    await new Promise((resolve) => setImmediate(resolve))
    if (this.call('counters').token_requests.refresh_token) assert.ok(this.logs.some((l) => l.includes('refresh')), "the core's events reach the logger")
    const secrets = [...this.secrets].filter((x) => x.length >= 8)
    for (const text of [...this.shown, ...this.logs]) {
      for (const secret of secrets) assert.ok(!text.includes(secret), `a secret leaked into ${text}`)
    }
  }
}

const SECRET_KEYS = ['access_token', 'refresh_token', 'client_secret', 'code_verifier']
const GROUPS = ['secrets', 'dc_secrets']

/** Every secret in a step or a result: values of secret-named keys, everything under
 * `secrets`/`dc_secrets`, and anything shaped like a Zoho token or grant code. */
function collectSecrets(v, out, key = '') {
  if (Array.isArray(v)) for (const x of v) collectSecrets(x, out, key)
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) collectSecrets(x, out, GROUPS.includes(key) ? key : k)
  else if (typeof v === 'string' && (SECRET_KEYS.includes(key) || GROUPS.includes(key) || /^1000\.[0-9a-f]{16,}/.test(v))) out.add(v)
}

/** The browser's part: open the authorization URL, return the redirect's Location. */
async function consent(url, params) {
  const extra = new URLSearchParams(params).toString()
  const r = await fetch(extra ? `${url}&${extra}` : url, { redirect: 'manual' })
  const location = r.headers.get('location')
  assert.ok(r.status === 302 && location, `consent answered ${r.status}`)
  return location
}

function lookupVar(vars, name) {
  return name.split('.').reduce((v, part) => v[part], vars)
}

function check(want, got, vars, where) {
  assert.ok(matches(want, got, vars), `${where}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`)
}

const isNum = (x) => typeof x === 'number'

function matches(want, got, vars) {
  if (want && typeof want === 'object' && !Array.isArray(want) && Object.keys(want).some((k) => k.startsWith('$'))) {
    const [[op, arg]] = Object.entries(want)
    switch (op) {
      case '$len':
        return got != null && got.length === arg
      case '$between':
        return isNum(got) && arg[0] <= got && got <= arg[1]
      case '$same':
        return JSON.stringify(got) === JSON.stringify(lookupVar(vars, arg))
      case '$not':
        return !matches(arg, got, vars)
      case '$contains':
        return typeof got === 'string' && got.includes(arg)
      case '$type':
        if (arg === 'any') return got != null
        if (arg === 'null') return got === null
        if (arg === 'array') return Array.isArray(got)
        if (arg === 'object') return got !== null && typeof got === 'object' && !Array.isArray(got)
        return typeof got === arg
      default:
        throw new Error(`unknown matcher ${op}`)
    }
  }
  if (Array.isArray(want)) return Array.isArray(got) && got.length === want.length && want.every((w, i) => matches(w, got[i], vars))
  if (want && typeof want === 'object') {
    return got !== null && typeof got === 'object' && Object.entries(want).every(([k, v]) => matches(v, got[k] ?? null, vars) || (v === 0 && !(k in got)))
  }
  if (isNum(want)) return isNum(got) && want === got
  return want === got
}

// Credentials of the configuration cases (no mock: nothing is sent).
const CONFIG_CREDENTIALS = { clientId: '1000.CONFORMANCE', clientSecret: 'conformance-secret', refreshToken: '1000.conformance-refresh' }
const PRODUCTS = ['crm', 'books', 'desk', 'mail', 'campaigns']

// One case of a `"kind": "config"` scenario: the client's resolution, or the request or page size
// (its construction only: the accounts server is a closed port and nothing is retried, so a
// request that wrongly builds fails fast instead of reaching Zoho).
async function configCase(c) {
  const opts = { ...CONFIG_CREDENTIALS }
  for (const [k, v] of Object.entries(c.options ?? {})) opts[camel(k)] = v
  if (c.request || c.paginate) {
    opts.accountsUrl ??= 'http://127.0.0.1:1'
    opts.maxRetries ??= 0
  }
  const client = new Client(opts)
  if (c.request) {
    const { method, path, ...rest } = c.request
    await client.request(method, path, Object.fromEntries(Object.entries(rest).map(([k, v]) => [camel(k), v])))
    return 'built'
  }
  if (c.paginate) {
    // An async generator: its checks run on the first next().
    await client.paginate(c.paginate.path, { perPage: c.paginate.per_page }).next()
    return 'built'
  }
  return { dc: client.dc, accounts_server: client.accountsServer, api_hosts: Object.fromEntries(PRODUCTS.map((p) => [p, client.baseUrl(p)])) }
}

async function runConfig(scenario) {
  const failures = []
  for (const c of scenario.cases) {
    let out
    try {
      out = { ok: await configCase(c) }
    } catch (e) {
      if (!(e instanceof ZohoError)) throw e
      out = { error: { code: e.code, status: e.status, zoho_code: e.zohoCode, retry_after: e.retryAfter } }
    }
    const exp = c.expect
    const ok = 'error' in exp
      ? 'error' in out && matches(typeof exp.error === 'string' ? { code: exp.error } : exp.error, out.error, {})
      : 'ok' in out && matches(exp.result, out.ok, {})
    if (!ok) failures.push(`case ${JSON.stringify(c.name)}: expected ${JSON.stringify(exp)}, got ${JSON.stringify(out)}`)
  }
  assert.deepEqual(failures, [])
}

test('there are enough scenarios, with unique names', () => {
  assert.ok(FILES.length >= 40)
  const names = FILES.map((f) => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')).name)
  assert.equal(new Set(names).size, names.length)
})

for (const file of FILES) {
  const scenario = JSON.parse(readFileSync(new URL(file, DIR), 'utf8'))
  const skip = scenario.not_in?.node
  test(`conformance ${file.replace(/\.json$/, '')}`, { skip }, async () => {
    if (scenario.kind === 'config') return runConfig(scenario)
    const runner = new Runner(scenario)
    try {
      await runner.run()
      await runner.assertNoLeaks()
    } finally {
      runner.mock.stop()
    }
  })
}
