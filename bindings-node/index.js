// @ts-check
'use strict'
/**
 * zoho-oauth: Zoho OAuth 2.0 for Node on one audited Rust core.
 *
 * This file converts options in and results and errors out; the OAuth logic (cache,
 * single-flight refresh, refresh budget, 401 handling, retries, host checks) lives in the Rust
 * core and runs on its own threads, so no call blocks the event loop. Types and docs:
 * index.d.ts.
 */
const util = require('node:util')
/** @type {typeof import('./native.js')} (checked against the generated types by `npm run typecheck`) */
const native = require('./binding.js')

const inspect = util.inspect.custom
const REDACTED = '[redacted]'

// ---------------------------------------------------------------------------------------------
// Errors: the classes live here (so `instanceof` works and users can subclass or construct them);
// the addon builds every instance itself, from the core error: the class by the code's family,
// the message in the core's format, and code, family, status, zohoCode, zohoMessage, retryAfter,
// hint and body as own properties (src/error.rs).

/** The one error type: a stable `code` shared by Rust, Python and Node, plus Zoho's details. */
class ZohoError extends Error {
  constructor(message, details) {
    super(message, details?.cause === undefined ? undefined : { cause: details.cause })
    this.name = new.target.name
    // The addon sets every property right after construction; these serve errors constructed
    // in JavaScript (the family of their code comes from the core too).
    this.code = details?.code ?? 'config'
    this.family = details?.family ?? native.errorFamily(this.code)
    this.status = details?.status ?? null
    this.zohoCode = details?.zohoCode ?? null
    this.zohoMessage = details?.zohoMessage ?? null
    this.retryAfter = details?.retryAfter ?? null
    this.hint = details?.hint ?? null
    this.body = details?.body ?? null
  }
}
/** Authorization and token exchange failures. */
class AuthError extends ZohoError {}
/** Throttles and budgets (`retryAfter` says how long to wait). */
class RateLimitError extends ZohoError {}
/** Product API errors (from `Response.throwForStatus()`). */
class ApiError extends ZohoError {}
/** Network failures, timeouts, unparseable answers. */
class TransportError extends ZohoError {}
/** Bad configuration or input, caught before any network I/O. */
class ConfigError extends ZohoError {}
/** Token store failures. */
class StoreError extends ZohoError {}

native.registerErrorClasses({
  zohoError: ZohoError,
  authError: AuthError,
  rateLimitError: RateLimitError,
  apiError: ApiError,
  transportError: TransportError,
  configError: ConfigError,
  storeError: StoreError,
})

/** A `config` error for bad input caught here, built like the core's own. */
function configError(message, hint) {
  return native.configError(message, hint)
}

function abortError(signal) {
  if (signal && signal.reason !== undefined) return signal.reason
  return new DOMException('This operation was aborted', 'AbortError')
}

// napi's own argument errors (a value of the wrong type reached the addon).
const NAPI_INPUT_CODES = new Set([
  'InvalidArg', 'ObjectExpected', 'StringExpected', 'NameExpected', 'FunctionExpected',
  'NumberExpected', 'BooleanExpected', 'ArrayExpected', 'BigintExpected',
])

/**
 * What a failed call rejects with: the AbortSignal's reason once it fired, a `config` error for
 * napi's argument checks, and otherwise the error as the addon built it.
 */
function convertError(e, signal) {
  if (signal && signal.aborted) return abortError(signal)
  if (e && NAPI_INPUT_CODES.has(e.code)) {
    return configError(`invalid argument: ${e.message}`, 'check the types of the options (see index.d.ts)')
  }
  return e
}

function callSync(fn) {
  try {
    return fn()
  } catch (e) {
    throw convertError(e)
  }
}

/** Call `start(cancelToken)` (which returns a native Promise) with AbortSignal support. */
function withSignal(signal, start) {
  if (signal == null) {
    // The addon rejects with finished errors: the Promise is returned as it is.
    try {
      return start(null)
    } catch (e) {
      return Promise.reject(convertError(e))
    }
  }
  if (typeof AbortSignal === 'undefined' || !(signal instanceof AbortSignal)) {
    return Promise.reject(configError('signal must be an AbortSignal', 'pass AbortController#signal or AbortSignal.timeout(ms)'))
  }
  if (signal.aborted) return Promise.reject(abortError(signal))
  const token = new native.CancelToken()
  const onAbort = () => token.cancel()
  signal.addEventListener('abort', onAbort, { once: true })
  let p
  try {
    p = start(token)
  } catch (e) {
    signal.removeEventListener('abort', onAbort)
    return Promise.reject(convertError(e, signal))
  }
  return p.then(
    (v) => {
      signal.removeEventListener('abort', onAbort)
      return v
    },
    (e) => {
      signal.removeEventListener('abort', onAbort)
      throw convertError(e, signal)
    },
  )
}

// ---------------------------------------------------------------------------------------------
// Option checking: every message names the option, never its value (it may be a secret).

function kind(v) {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v
}

function checkKeys(what, obj, allowed) {
  if (obj === undefined || obj === null) return {}
  if (typeof obj !== 'object' || Array.isArray(obj)) {
    throw configError(`${what} must be an object, got ${kind(obj)}`, `pass ${what} as an object literal`)
  }
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) {
      const camel = k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
      const hint = camel !== k && allowed.has(camel) ? `did you mean ${camel}?` : `known options: ${[...allowed].join(', ')}`
      throw configError(`unknown option ${JSON.stringify(k)} in ${what}`, hint)
    }
  }
  return obj
}

function str(name, v, { required = false } = {}) {
  if (v === undefined || v === null) {
    if (required) throw configError(`${name} is required`, `pass ${name} as a string`)
    return undefined
  }
  if (typeof v !== 'string') throw configError(`${name} must be a string, got ${kind(v)}`, `pass ${name} as a string`)
  return v
}

// Type checks only: the ranges of every option (seconds, counts) are the core's rules
// (zoho_oauth::config), the same in every language.
function num(name, v) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number') throw configError(`${name} must be a number, got ${kind(v)}`, `pass ${name} in seconds, for example 30`)
  return v
}

function int(name, v) {
  if (v === undefined || v === null) return undefined
  if (!Number.isInteger(v)) throw configError(`${name} must be a whole number, got ${typeof v === 'number' ? v : kind(v)}`, `pass ${name} as an integer`)
  return v
}

function bool(name, v) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'boolean') throw configError(`${name} must be a boolean`, `pass true or false`)
  return v
}

function strList(name, v) {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw configError(`${name} must be an array of strings`, `for example ['ZohoCRM.modules.ALL']`)
  }
  return v
}

function strMap(name, v) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((s) => typeof s !== 'string')) {
    throw configError(`${name} must be an object of strings`, `for example { eu: '...' }`)
  }
  return { ...v }
}

function scalar(name, v) {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  throw configError(`${name} values must be strings, numbers or booleans`, `convert nested values yourself`)
}

/** Pairs from an object, Map, URLSearchParams, Headers or array of pairs, flattened. */
function flatPairs(name, v) {
  const out = []
  const push = (k, val) => {
    if (val === undefined || val === null) return
    if (Array.isArray(val)) {
      for (const x of val) push(k, x)
      return
    }
    out.push(String(k), scalar(name, val))
  }
  if (v instanceof URLSearchParams || v instanceof Map || (typeof Headers !== 'undefined' && v instanceof Headers)) {
    v.forEach((val, k) => push(k, val))
  } else if (Array.isArray(v)) {
    for (const pair of v) {
      if (!Array.isArray(pair) || pair.length !== 2) throw configError(`${name} pairs must be [key, value]`, `or pass an object`)
      push(pair[0], pair[1])
    }
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, val] of Object.entries(v)) push(k, val)
  } else {
    throw configError(`${name} must be an object`, `for example { per_page: 200 }`)
  }
  return out
}

function pairsToHeaders(flat) {
  const h = new Headers()
  for (let i = 0; i + 1 < flat.length; i += 2) h.append(flat[i], flat[i + 1])
  return h
}

// ---------------------------------------------------------------------------------------------
// Logger and clock

let warnedLogger = false

function nativeLogger(logger) {
  if (logger === undefined || logger === null) return null
  let sink
  if (typeof logger === 'function') {
    sink = logger
  } else if (typeof logger === 'object') {
    sink = (rec) => {
      const fn = logger[rec.level] ?? (rec.level === 'trace' ? logger.debug : undefined) ?? logger.log
      if (typeof fn === 'function') fn.call(logger, rec.message, rec.fields)
    }
  } else {
    throw configError('logger must be a function or an object with info/warn/debug/error methods', 'pass console, pino, or (record) => {}')
  }
  return new native.NativeLogger((json) => {
    try {
      const rec = JSON.parse(json)
      rec.time = new Date()
      sink(rec)
    } catch (e) {
      if (!warnedLogger) {
        warnedLogger = true
        process.emitWarning(`zoho-oauth: the logger threw and its events are being dropped: ${e && e.message}`)
      }
    }
  })
}

const STORE_HINT = 'pass a store URL (memory://, file:///…, redis://…, postgres://…) or an object with get(key), ' +
  'compareAndSet(key, expected, next) and keys(): see KeyValueStore in index.d.ts'

/**
 * `tokenStore` given an object (a store of the user's own): its three methods wrapped so each
 * always answers a promise of the type the core expects, or rejects with "Name: message". The
 * core (CasStore) builds the lease, budget and backoff on them. null for a URL string.
 */
function nativeStore(store) {
  if (store === undefined || store === null || typeof store === 'string') return null
  if (typeof store !== 'object' && typeof store !== 'function') {
    throw configError(`tokenStore must be a URL string or a store object, got ${kind(store)}`, STORE_HINT)
  }
  const name = (typeof store.constructor === 'function' && store.constructor.name) || 'Object'
  for (const m of ['get', 'compareAndSet', 'keys']) {
    if (typeof store[m] !== 'function') throw configError(`tokenStore is a ${name} without a ${m}() method`, STORE_HINT)
  }
  const answer = async (method, args, ok, want) => {
    let v
    try {
      v = await store[method](...args)
    } catch (e) {
      throw e instanceof Error ? `${e.name}: ${e.message}` : `${kind(e)}: ${String(e)}`
    }
    if (!ok(v)) throw `${method}() returned ${kind(v)}; it must return ${want}`
    return v
  }
  const t = store.timeout
  return new native.NativeKeyValueStore(
    name,
    t === undefined || t === null ? null : typeof t === 'number' ? t : NaN,
    async (key) => (await answer('get', [key], (v) => v == null || typeof v === 'string', 'a string, null or undefined')) ?? null,
    (key, expected, next) => answer('compareAndSet', [key, expected, next], (v) => typeof v === 'boolean',
      'true when it wrote the new value and false when the current value was not the expected one'),
    async () => {
      const iterable = (v) => v != null && typeof v !== 'string' && typeof v[Symbol.iterator] === 'function'
      const keys = Array.from(await answer('keys', [], iterable, 'an array (or iterable) of strings'))
      if (!keys.every((k) => typeof k === 'string')) throw 'keys() returned a key that is not a string'
      return keys
    },
  )
}

function nativeClock(clock) {
  if (clock === undefined || clock === null) return null
  if (!(clock instanceof native.MockClock)) {
    throw configError('clock must be MockZoho#clock from zoho-oauth/testing', 'omit clock outside tests')
  }
  return clock
}

// ---------------------------------------------------------------------------------------------
// Results

let tokenNative

/** Tokens from an exchange or a refresh. Secrets are readable, never printed or serialized. */
class TokenSet {
  #n
  constructor(n) {
    if (!(n instanceof native.NativeTokenSet)) {
      throw configError('TokenSet is created by OAuthApp and Client', 'use app.exchangeCode() or client.tokenSet()')
    }
    this.#n = n
  }
  static {
    tokenNative = (t) => (t instanceof TokenSet ? t.#n : null)
  }
  /** The access token (about one hour). */
  get accessToken() { return this.#n.accessToken }
  /** The refresh token (offline exchanges only). */
  get refreshToken() { return this.#n.refreshToken }
  /** Base URL of the `www.zohoapis.*` products in the user's DC. */
  get apiDomain() { return this.#n.apiDomain }
  /** The accounts server that issued the tokens. */
  get accountsServer() { return this.#n.accountsServer }
  /** Token type as sent (`Bearer`). */
  get tokenType() { return this.#n.tokenType }
  /** Absolute expiry. */
  get expiresAt() { return new Date(this.#n.expiresAtMs) }
  /** Absolute expiry, Unix milliseconds. */
  get expiresAtMs() { return this.#n.expiresAtMs }
  /** Granted scopes. */
  get scopes() { return this.#n.scopes }
  /** OpenID id_token, when the `email` scope was granted. */
  get idToken() { return this.#n.idToken }
  toJSON() {
    return {
      accessToken: REDACTED,
      refreshToken: this.#n.refreshToken == null ? null : REDACTED,
      apiDomain: this.apiDomain,
      accountsServer: this.accountsServer,
      tokenType: this.tokenType,
      expiresAt: this.expiresAt.toISOString(),
      scopes: this.scopes,
      idToken: this.#n.idToken == null ? null : REDACTED,
    }
  }
  toString() {
    return `TokenSet(${this.accountsServer}, expires ${this.expiresAt.toISOString()})`
  }
  [inspect](depth, options, insp) {
    return `TokenSet ${(insp ?? util.inspect)(this.toJSON(), options)}`
  }
}

/** A fully read response of a product API. */
class Response {
  #n
  #headers
  #text
  constructor(n) {
    this.#n = n
    /** HTTP status code. */
    this.status = native.responseStatus(n)
  }
  /** True for 2xx. */
  get ok() { return this.status >= 200 && this.status < 300 }
  /** The URL that answered (credentials never appear in it). */
  get url() { return native.responseUrl(this.#n) }
  /** Response headers (case-insensitive `get`). */
  get headers() {
    if (this.#headers === undefined) this.#headers = pairsToHeaders(native.responseHeaders(this.#n))
    return this.#headers
  }
  /** The body as text. */
  text() {
    if (this.#text === undefined) this.#text = native.responseText(this.#n)
    return this.#text
  }
  /** The body parsed as JSON; a 204 or non-JSON body throws `invalid_response`. */
  json() {
    const t = this.text()
    try {
      return JSON.parse(t)
    } catch (e) {
      // The core's invalid_response error (status, hint and the redacted body included).
      callSync(() => native.responseCheckJson(this.#n))
      throw e
    }
  }
  /** The body bytes. */
  buffer() { return native.responseBody(this.#n) }
  /** Throw the typed error for 4xx/5xx (Zoho's code parsed); returns this response otherwise. */
  throwForStatus() {
    callSync(() => native.responseCheckStatus(this.#n))
    return this
  }
  toJSON() { return { status: this.status, url: this.url } }
  [inspect](depth, options, insp) {
    return `Response ${(insp ?? util.inspect)({ status: this.status, ok: this.ok, url: this.url }, options)}`
  }
}

/** A started device flow: show `userCode` and `verificationUrl`, then `await wait()`. */
class DeviceAuthorization {
  #n
  constructor(n) {
    this.#n = n
    /** The code the user types at `verificationUrl`. */
    this.userCode = n.userCode
    /** Where the user enters the code. */
    this.verificationUrl = n.verificationUrl
    /** A URL with the code pre-filled, when Zoho sends one. */
    this.verificationUrlComplete = n.verificationUrlComplete
    /** Seconds the user code is valid. */
    this.expiresIn = n.expiresIn
    /** Seconds between polls (at least 30). */
    this.interval = n.interval
    /** When the user code expires. */
    this.expiresAt = new Date(n.expiresAtMs)
  }
  /** Poll until the user approves (tokens), denies (`access_denied`) or the code expires. */
  async wait(options) {
    const o = checkKeys('wait options', options, new Set(['signal']))
    const n = this.#n
    return new TokenSet(await withSignal(o.signal, (c) => n.wait(c)))
  }
}

// ---------------------------------------------------------------------------------------------
// OAuthApp

const APP_KEYS = new Set(['clientId', 'clientSecret', 'dc', 'clientType', 'accountsUrl', 'dcAccountsUrls', 'dcSecrets', 'timeout', 'logger', 'clock'])

function nativeAppOptions(o) {
  const out = { clientId: str('clientId', o.clientId, { required: true }) }
  const set = (k, v) => { if (v !== undefined) out[k] = v }
  set('clientSecret', str('clientSecret', o.clientSecret))
  set('dc', str('dc', o.dc))
  set('clientType', str('clientType', o.clientType))
  set('accountsUrl', str('accountsUrl', o.accountsUrl))
  set('dcAccountsUrls', strMap('dcAccountsUrls', o.dcAccountsUrls))
  set('dcSecrets', strMap('dcSecrets', o.dcSecrets))
  set('timeout', num('timeout', o.timeout))
  return out
}

/** A Zoho OAuth client registration: authorization URLs, code exchange, refresh, revoke, device flow. */
class OAuthApp {
  #n
  constructor(options) {
    const o = checkKeys('OAuthApp options', options, APP_KEYS)
    const opts = nativeAppOptions(o)
    this.#n = callSync(() => new native.NativeApp(opts, nativeClock(o.clock), nativeLogger(o.logger)))
  }
  /** The client id. */
  get clientId() { return this.#n.clientId }
  /** The home DC's code. */
  get dc() { return this.#n.dc }
  /** The home DC's accounts server. */
  get accountsServer() { return this.#n.accountsServer }

  /** Build the URL that starts the authorization code flow; keep `state` (and `codeVerifier`). */
  authorizationUrl(options) {
    const o = checkKeys('authorizationUrl options', options, new Set(['scopes', 'redirectUri', 'accessType', 'prompt', 'state', 'pkce']))
    const req = {
      scopes: strList('scopes', o.scopes) ?? [],
      redirectUri: str('redirectUri', o.redirectUri, { required: true }),
    }
    const set = (k, v) => { if (v !== undefined) req[k] = v }
    set('accessType', str('accessType', o.accessType))
    set('prompt', str('prompt', o.prompt))
    set('state', str('state', o.state))
    set('pkce', bool('pkce', o.pkce))
    const r = callSync(() => this.#n.authorizationUrl(req))
    const out = { url: r.url, state: r.state }
    if (r.codeVerifier != null) out.codeVerifier = r.codeVerifier
    return out
  }

  /** Check the callback's state and accounts server, and exchange its code at the user's DC. */
  async handleCallback(callbackUrl, options) {
    const o = checkKeys('handleCallback options', options, new Set(['expectedState', 'redirectUri', 'codeVerifier', 'skipStateCheck', 'signal']))
    const url = str('callbackUrl', callbackUrl, { required: true })
    const opts = {}
    const set = (k, v) => { if (v !== undefined) opts[k] = v }
    set('expectedState', str('expectedState', o.expectedState))
    set('redirectUri', str('redirectUri', o.redirectUri))
    set('codeVerifier', str('codeVerifier', o.codeVerifier))
    set('skipStateCheck', bool('skipStateCheck', o.skipStateCheck))
    const n = this.#n
    return new TokenSet(await withSignal(o.signal, (c) => n.handleCallback(url, opts, c)))
  }

  /** Exchange a grant code (self clients: just the code; server clients add `redirectUri`). */
  async exchangeCode(code, options) {
    const o = checkKeys('exchangeCode options', options, new Set(['redirectUri', 'codeVerifier', 'accountsServer', 'signal']))
    const c0 = str('code', code, { required: true })
    const opts = {}
    const set = (k, v) => { if (v !== undefined) opts[k] = v }
    set('redirectUri', str('redirectUri', o.redirectUri))
    set('codeVerifier', str('codeVerifier', o.codeVerifier))
    set('accountsServer', str('accountsServer', o.accountsServer))
    const n = this.#n
    return new TokenSet(await withSignal(o.signal, (c) => n.exchangeCode(c0, opts, c)))
  }

  /** A new access token for a refresh token, uncached (a `Client` caches and budgets). */
  async refresh(refreshToken, options) {
    const o = checkKeys('refresh options', options, new Set(['accountsServer', 'signal']))
    const rt = str('refreshToken', refreshToken, { required: true })
    const server = str('accountsServer', o.accountsServer) ?? null
    const n = this.#n
    return new TokenSet(await withSignal(o.signal, (c) => n.refresh(rt, server, c)))
  }

  /** Revoke a refresh token and every access token minted from it. */
  async revoke(refreshToken, options) {
    const o = checkKeys('revoke options', options, new Set(['accountsServer', 'signal']))
    const rt = str('refreshToken', refreshToken, { required: true })
    const server = str('accountsServer', o.accountsServer) ?? null
    const n = this.#n
    await withSignal(o.signal, (c) => n.revoke(rt, server, c))
  }

  /** Client-credentials grant (self clients only): an access token without a refresh token. */
  async clientCredentials(scopes, options) {
    const o = checkKeys('clientCredentials options', options, new Set(['soid', 'signal']))
    const s = strList('scopes', scopes) ?? []
    const soid = str('soid', o.soid) ?? null
    const n = this.#n
    return new TokenSet(await withSignal(o.signal, (c) => n.clientCredentials(s, soid, c)))
  }

  /** Start the device flow; show `userCode`/`verificationUrl`, then `await flow.wait()`. */
  async startDeviceFlow(options) {
    const o = checkKeys('startDeviceFlow options', options, new Set(['scopes', 'accessType', 'prompt', 'signal']))
    const req = { scopes: strList('scopes', o.scopes) ?? [] }
    const set = (k, v) => { if (v !== undefined) req[k] = v }
    set('accessType', str('accessType', o.accessType))
    set('prompt', str('prompt', o.prompt))
    const n = this.#n
    return new DeviceAuthorization(await withSignal(o.signal, (c) => n.startDeviceFlow(req, c)))
  }

  toJSON() { return { clientId: this.clientId, dc: this.dc, accountsServer: this.accountsServer, clientSecret: REDACTED } }
  [inspect](depth, options, insp) { return `OAuthApp ${(insp ?? util.inspect)(this.toJSON(), options)}` }
}

// ---------------------------------------------------------------------------------------------
// Client

const CLIENT_KEYS = new Set([
  ...APP_KEYS, 'refreshToken', 'tokenStore', 'accountsServer', 'apiDomain', 'allowHosts', 'refreshMargin',
  'refreshBudget', 'maxRetries', 'maxConcurrency', 'maxResponseBytes', 'initialToken',
])
const REQUEST_KEYS = new Set(['params', 'json', 'form', 'body', 'headers', 'product', 'timeout', 'maxRetries', 'retryNonIdempotent', 'signal'])
const FROM_NATIVE = Symbol('fromNative')

function bodyBuffer(body) {
  if (typeof body === 'string') return Buffer.from(body)
  if (Buffer.isBuffer(body)) return body
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  throw configError('body must be a string, Buffer, TypedArray or ArrayBuffer', 'use json or form for structured bodies')
}

function nativeRequestOptions(options) {
  if (options === undefined || options === null) return null
  const o = checkKeys('request options', options, REQUEST_KEYS)
  const out = {}
  if (o.params != null) out.params = flatPairs('params', o.params)
  if (o.headers != null) out.headers = flatPairs('headers', o.headers)
  if (o.json !== undefined) {
    let s
    try {
      s = JSON.stringify(o.json)
    } catch (e) {
      throw configError(`json cannot be serialized: ${e.message}`, 'pass plain data')
    }
    if (s === undefined) throw configError('json cannot be serialized', 'pass plain data')
    out.json = s
  }
  if (o.form != null) {
    out.form = flatPairs('form', o.form)
  }
  if (o.body != null) {
    out.body = bodyBuffer(o.body)
  }
  const product = str('product', o.product)
  if (product !== undefined) out.product = product
  const timeout = num('timeout', o.timeout)
  if (timeout !== undefined) out.timeout = timeout
  const maxRetries = int('maxRetries', o.maxRetries)
  if (maxRetries !== undefined) out.maxRetries = maxRetries
  const rni = bool('retryNonIdempotent', o.retryNonIdempotent)
  if (rni !== undefined) out.retryNonIdempotent = rni
  return out
}

/**
 * The core's cache generation counter of a native client, read in place (a Uint32Array over its
 * memory), or null where the runtime forbids external array buffers (Electron's V8 sandbox):
 * cache hits then ask the addon each time, still correct, one call slower.
 */
function generationView(n) {
  try {
    return new Uint32Array(n.cacheGenerationBuffer())
  } catch {
    return null
  }
}

/** One Zoho identity (app + refresh token + store): cached tokens and authenticated requests. */
class Client {
  #n
  /** A copy of the core's cached token (see accessToken); never printed or serialized. */
  #hot = null
  /** The core's cache generation counter, in place (a Uint32Array over its memory). */
  #gen
  constructor(options, nativeClient) {
    if (options === FROM_NATIVE) {
      this.#n = nativeClient
      this.#gen = generationView(nativeClient)
      return
    }
    const o = checkKeys('Client options', options, CLIENT_KEYS)
    /** @type {import('./native.js').ClientOptions} */
    const opts = { ...nativeAppOptions(o), refreshToken: str('refreshToken', o.refreshToken, { required: true }) }
    const set = (k, v) => { if (v !== undefined) opts[k] = v }
    const store = nativeStore(o.tokenStore)
    if (!store) set('tokenStore', str('tokenStore', o.tokenStore))
    set('accountsServer', str('accountsServer', o.accountsServer))
    set('apiDomain', str('apiDomain', o.apiDomain))
    set('allowHosts', strList('allowHosts', o.allowHosts))
    set('refreshMargin', num('refreshMargin', o.refreshMargin))
    set('refreshBudget', int('refreshBudget', o.refreshBudget))
    set('maxRetries', int('maxRetries', o.maxRetries))
    set('maxConcurrency', int('maxConcurrency', o.maxConcurrency))
    set('maxResponseBytes', int('maxResponseBytes', o.maxResponseBytes))
    let initial = null
    if (o.initialToken != null) {
      initial = tokenNative(o.initialToken)
      if (!initial) throw configError('initialToken must be a TokenSet', 'pass the result of app.exchangeCode()')
    }
    this.#n = callSync(() => new native.NativeClient(opts, nativeClock(o.clock), nativeLogger(o.logger), initial, store))
    this.#gen = generationView(this.#n)
  }

  /**
   * Build from ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us),
   * ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL and ZOHO_API_DOMAIN.
   */
  static fromEnv(options) {
    const o = checkKeys('fromEnv options', options, new Set(['logger']))
    return new Client(FROM_NATIVE, callSync(() => native.NativeClient.fromEnv(nativeLogger(o.logger))))
  }

  /** The client id. */
  get clientId() { return this.#n.clientId }
  /** The user's DC code. */
  get dc() { return this.#n.dc }
  /** The accounts server refreshes go to. */
  get accountsServer() { return this.#n.accountsServer }
  /** The non-secret key of this identity in the token store. */
  get storeKey() { return this.#n.storeKey }
  /**
   * The base URL a relative path of `product` (crm, books, desk, mail, campaigns) goes to now:
   * `apiDomain`, else the cached token's, else the user's DC's host. No I/O.
   */
  baseUrl(product) { return callSync(() => this.#n.baseUrl(str('product', product) ?? null)) }

  /** A valid access token: the cached one, or one refresh shared by every concurrent caller. */
  accessToken(options) {
    let signal
    if (options != null) {
      try {
        signal = checkKeys('accessToken options', options, new Set(['signal'])).signal
      } catch (e) {
        return Promise.reject(e)
      }
    }
    const n = this.#n
    if (signal == null) {
      // Cache hit, answered on this thread without a call into the addon: the copy is served
      // only while the core's rule allows (its freshness deadline, computed by the core, is
      // ahead of the wall clock) and the core's cache has not changed since (the counter,
      // read in place, still holds the copy's generation); else a fresh copy.
      const h = this.#hot
      const g = this.#gen
      if (h !== null && g !== null && Date.now() < h.freshUntilMs && Atomics.load(g, 0) === h.generation) return Promise.resolve(h.token)
      const e = n.cacheEntry()
      this.#hot = e
      if (e !== null) return Promise.resolve(e.token)
    }
    return withSignal(signal, (c) => n.accessToken(c))
  }

  /** The cached TokenSet (refreshed if needed); `{ force: true }` refreshes now. */
  async tokenSet(options) {
    const o = checkKeys('tokenSet options', options, new Set(['force', 'signal']))
    const force = bool('force', o.force) ?? false
    const n = this.#n
    return new TokenSet(await withSignal(o.signal, (c) => n.tokenSet(force, c)))
  }

  /** Revoke the refresh token at Zoho and drop the cached access token. */
  async revoke(options) {
    const o = checkKeys('revoke options', options, new Set(['signal']))
    const n = this.#n
    await withSignal(o.signal, (c) => n.revoke(c))
  }

  /**
   * Drop the cached token only if it is still `accessToken` (compare-and-invalidate): a late 401
   * on an old token never discards a newer one. Resolves to whether it was dropped. For code
   * that sends requests with its own HTTP library and sees the 401 itself.
   */
  async invalidate(accessToken, options) {
    if (typeof accessToken !== 'string' || accessToken === '') throw configError('accessToken must be a non-empty string', 'pass the token that was rejected')
    const o = checkKeys('invalidate options', options, new Set(['signal']))
    const n = this.#n
    return await withSignal(o.signal, (c) => n.invalidate(accessToken, c))
  }

  /**
   * Keep this identity's refresh token in the token store (optionally labelled, for example
   * with the user's email) so other processes and the `zoho-oauth` command can use it. Stores
   * never keep a refresh token unless asked; the client secret never.
   */
  async saveRefreshToken(options) {
    const o = checkKeys('saveRefreshToken options', options, new Set(['label', 'signal']))
    if (o.label !== undefined && typeof o.label !== 'string') throw configError('label must be a string', 'pass { label: "user@example.com" } or nothing')
    const n = this.#n
    await withSignal(o.signal, (c) => n.saveRefreshToken(o.label, c))
  }

  /** Rate-limit headers of the last response that carried any. */
  rateLimits() {
    return this.#n.rateLimits()
  }

  /** Send `method` to a path (resolved against the product's base URL) or an absolute URL. */
  async request(method, url, options) {
    if (typeof method !== 'string') throw configError('method must be a string', 'for example GET')
    if (typeof url !== 'string') {
      if (url instanceof URL) url = url.href
      else throw configError('url must be a string or URL', 'pass a path such as /crm/v8/Leads or an https:// URL')
    }
    const opts = nativeRequestOptions(options)
    const n = this.#n
    return new Response(await withSignal(options && options.signal, (c) => n.request(method, url, opts, c)))
  }

  /** GET. */
  get(url, options) { return this.request('GET', url, options) }
  /** POST. */
  post(url, options) { return this.request('POST', url, options) }
  /** PUT. */
  put(url, options) { return this.request('PUT', url, options) }
  /** PATCH. */
  patch(url, options) { return this.request('PATCH', url, options) }
  /** DELETE. */
  delete(url, options) { return this.request('DELETE', url, options) }

  /** Every record of a CRM list, page by page (`page` up to 2,000 records, then `page_token`). */
  async *paginate(path, options) {
    const o = checkKeys('paginate options', options, new Set(['perPage', 'params', 'signal']))
    const p = str('path', path, { required: true })
    const perPage = int('perPage', o.perPage) ?? null
    const params = o.params == null ? null : flatPairs('params', o.params)
    const pager = callSync(() => this.#n.paginate(p, perPage, params))
    for (;;) {
      const page = await withSignal(o.signal, (c) => pager.nextPage(c))
      if (page === null) return
      yield* JSON.parse(page)
    }
  }

  /**
   * A `fetch`-compatible call through this client: the token is added (and refreshed) by the
   * client; the result is a standard `Response`. Relative URLs resolve like `request`.
   */
  async fetch(input, init) {
    const i = init ?? {}
    let url
    let method = i.method
    let headers
    if (typeof input === 'string') url = input
    else if (input instanceof URL) url = input.href
    else if (typeof Request !== 'undefined' && input instanceof Request) {
      url = input.url
      method = method ?? input.method
      headers = new Headers(input.headers)
      if (input.body !== null && i.body === undefined) {
        throw configError('Request objects with a body are not supported', 'pass the body in init.body')
      }
    } else throw configError('fetch input must be a string, URL or Request', 'pass a path or an absolute URL')
    method = (method ?? 'GET').toUpperCase()
    headers = new Headers(i.headers ?? headers)
    let body
    if (i.body != null) {
      if (i.body instanceof URLSearchParams) {
        body = Buffer.from(i.body.toString())
        if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8')
      } else if (typeof Blob !== 'undefined' && i.body instanceof Blob) {
        body = Buffer.from(await i.body.arrayBuffer())
        if (!headers.has('content-type') && i.body.type) headers.set('content-type', i.body.type)
      } else {
        if (typeof i.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8')
        body = bodyBuffer(i.body)
      }
    }
    const opts = { headers: flatPairs('headers', headers) }
    if (body !== undefined) opts.body = body
    const product = str('product', i.product)
    if (product !== undefined) opts.product = product
    const n = this.#n
    const r = await withSignal(i.signal ?? undefined, (c) => n.request(method, url, opts, c))
    const status = native.responseStatus(r)
    const nullBody = method === 'HEAD' || status === 101 || status === 204 || status === 205 || status === 304
    // A Buffer is a valid body at run time; the DOM typings of BodyInit just do not list it.
    const payload = nullBody ? null : /** @type {any} */ (native.responseBody(r))
    const resp = new globalThis.Response(payload, { status, headers: pairsToHeaders(native.responseHeaders(r)) })
    Object.defineProperty(resp, 'url', { value: native.responseUrl(r) })
    return resp
  }

  toJSON() { return { clientId: this.clientId, dc: this.dc, accountsServer: this.accountsServer, storeKey: this.storeKey } }
  [inspect](depth, options, insp) { return `Client ${(insp ?? util.inspect)(this.toJSON(), options)}` }
}

const DATA_CENTERS = Object.freeze(['us', 'eu', 'in', 'au', 'jp', 'cn', 'ca', 'sa', 'uk'])

const api = {
  Client,
  OAuthApp,
  TokenSet,
  Response,
  DeviceAuthorization,
  ZohoError,
  AuthError,
  RateLimitError,
  ApiError,
  TransportError,
  ConfigError,
  StoreError,
  DATA_CENTERS,
}
// `default`: `import zoho from 'zoho-oauth'` from TypeScript compiled to CommonJS without
// esModuleInterop.
module.exports = Object.assign(api, { default: api })
