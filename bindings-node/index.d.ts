/**
 * zoho-oauth: Zoho OAuth 2.0, client side, for Node: token exchange, token caching with
 * single-flight refresh, and authenticated requests to Zoho CRM, Desk, Books, Mail and
 * Campaigns, in every data centre. One audited Rust core shared with the Rust and Python
 * packages; every network call and wait runs on the core's threads, never on the event loop.
 *
 * ```ts
 * import { Client } from 'zoho-oauth'
 * const client = new Client({ clientId, clientSecret, refreshToken, dc: 'eu' })
 * const r = await client.get('/crm/v8/Leads', { params: { per_page: 200 } })
 * r.throwForStatus()
 * for await (const lead of client.paginate('/crm/v8/Leads')) console.log(lead.id)
 * ```
 *
 * Security: secrets (client secret, refresh and access tokens, grant codes) never appear in
 * `util.inspect`, `JSON.stringify`, error messages or logger records. The access token is sent
 * only to the DC's Zoho hosts, the token's `api_domain`, or hosts configured explicitly
 * (`apiDomain`, `allowHosts`); anything else is a `config` error raised before any I/O. Only
 * `https://` is accepted, except loopback hosts configured explicitly (tests, the mock).
 */

/// <reference types="node" />
import type { MockClock } from './testing.js'

/** Zoho data centres by short code. */
export type DataCenterCode = 'us' | 'eu' | 'in' | 'au' | 'jp' | 'cn' | 'ca' | 'sa' | 'uk'
/** Every known data-centre code. */
export declare const DATA_CENTERS: readonly DataCenterCode[]

/** The kind of client registered in Zoho's API console; it decides PKCE and redirect rules. */
export type ClientType = 'server' | 'self' | 'mobile' | 'device'

/** The Zoho product a relative path belongs to; it picks the base URL. */
export type Product = 'crm' | 'books' | 'desk' | 'mail' | 'campaigns'

/** Stable error codes, identical in Rust, Python and Node. */
export type ErrorCode =
  | 'invalid_code'
  | 'invalid_client'
  | 'invalid_client_secret'
  | 'invalid_redirect_uri'
  | 'access_denied'
  | 'state_mismatch'
  | 'untrusted_accounts_server'
  | 'device_flow_expired'
  | 'token_throttled'
  | 'refresh_budget_exhausted'
  | 'rate_limited'
  | 'unauthorized'
  | 'scope_mismatch'
  | 'api_error'
  | 'timeout'
  | 'transport'
  | 'invalid_response'
  | 'response_too_large'
  | 'config'
  | 'store'
  | 'internal'

/** The group of an error code; it decides the error class (`auth` → `AuthError` ...). */
export type ErrorFamily = 'auth' | 'rate_limit' | 'api' | 'transport' | 'config' | 'store'

/** One event of the core (refresh started/succeeded/failed, budget left, throttles, retries). */
export interface LogRecord {
  level: 'error' | 'warn' | 'info' | 'debug' | 'trace'
  /** `zoho_oauth` or a submodule. */
  target: string
  message: string
  /** Structured fields (never a secret: identities appear as a hashed store key). */
  fields: Record<string, string | number | boolean>
  time: Date
}

/** A function receiving every record, or an object with level methods (`console`, pino ...). */
export type Logger =
  | ((record: LogRecord) => void)
  | {
      error?(message: string, fields: LogRecord['fields']): void
      warn?(message: string, fields: LogRecord['fields']): void
      info?(message: string, fields: LogRecord['fields']): void
      debug?(message: string, fields: LogRecord['fields']): void
      log?(message: string, fields: LogRecord['fields']): void
    }

/** Options describing the registered app. Durations are in seconds. */
export interface OAuthAppOptions {
  /** The client id from https://api-console.zoho.com (`1000.XXXX`). */
  clientId: string
  /** The client secret, used in every DC without a DC-specific one (`dcSecrets`). */
  clientSecret?: string
  /** The app's home data centre (default `us`, also the multi-DC entry point). */
  dc?: DataCenterCode | (string & {})
  /** The client type (default `server`; mobile clients get PKCE S256). */
  clientType?: ClientType
  /** Override the home DC's accounts server (a proxy, or the mock on loopback). */
  accountsUrl?: string
  /** Accounts servers of other DCs by code; they also become trusted callback servers. */
  dcAccountsUrls?: Partial<Record<DataCenterCode, string>>
  /** Client secrets of other DCs by code, when they differ. */
  dcSecrets?: Partial<Record<DataCenterCode, string>>
  /** Timeout of one token-endpoint request, in seconds (default 30). */
  timeout?: number
  /** Receives the core's redacted events. */
  logger?: Logger
  /** Tests only: `MockZoho#clock`, so expiry and polling follow the mock's virtual clock. */
  clock?: MockClock
}

/**
 * A token store of your own (`tokenStore`): a string map with an atomic compare-and-set, for a
 * database the store URLs do not cover (DynamoDB, etcd, an in-house service). The core builds
 * everything else on these three methods, exactly as for its own stores: the refresh lease with
 * its fencing number, compare-and-invalidate, the refresh budget, the throttle cooldown and the
 * failure backoff are fields of one JSON value per identity, changed by `get` → change →
 * `compareAndSet` and retried when another client changed it first. So processes and hosts that
 * share the store refresh once, as long as `compareAndSet` is atomic where the store is shared.
 *
 * Methods may return values or promises. A throw or rejection, an answer of the wrong type, or
 * no answer within `timeout` seconds (default 2) rejects the call that needed the store with a
 * `StoreError`; clients whose cached token is fresh keep working, and none refreshes until the
 * store answers again. Values hold the cached access token (and the refresh token when
 * `saveRefreshToken()` is called): store them as secrets. Keys (`zoho-oauth:v1:<hash>`) reveal
 * nothing. `examples/node/json-file-store.mjs` is a complete store shared by processes.
 */
export interface KeyValueStore {
  /** The value of `key`, or null/undefined when it has none. */
  get(key: string): string | null | undefined | Promise<string | null | undefined>
  /**
   * Atomically: if the value of `key` is `expected` (null: it has none), set it to `next`
   * (null: remove it) and answer true; otherwise change nothing and answer false.
   */
  compareAndSet(key: string, expected: string | null, next: string | null): boolean | Promise<boolean>
  /** Every key that has a value (for listing; any order). */
  keys(): Iterable<string> | Promise<Iterable<string>>
  /** Seconds one call may take (default 2). */
  readonly timeout?: number
}

/** Options of `new Client(...)`: one Zoho identity. Durations are in seconds. */
export interface ClientOptions extends OAuthAppOptions {
  /** The refresh token (from a code exchange with `access_type=offline`). */
  refreshToken: string
  /**
   * Where tokens, the refresh lease and the refresh budget live: `memory://` (default, this
   * process), `file:///path/tokens.json` (every process on this machine),
   * `redis://host:6379/0?prefix=app:`, `redis+cluster://…`, `redis+sentinel://…`,
   * `postgres://…` or `mysql://…` (a fleet of hosts); or a store of your own ({@link KeyValueStore}).
   */
  tokenStore?: string | KeyValueStore
  /** The user's accounts server (`tokens.accountsServer`); default: the home DC's. */
  accountsServer?: string
  /** Explicit base URL for relative paths of every product (wins over the token's api_domain). */
  apiDomain?: string
  /** More origins the access token may be sent to (`https://host[:port]` or a bare host). */
  allowHosts?: string[]
  /** Refresh this many seconds before expiry (default 300). */
  refreshMargin?: number
  /** Refreshes allowed per refresh token per 10 minutes (default 10, Zoho's limit). */
  refreshBudget?: number
  /** Timeout of one request attempt and of one token request, in seconds (default 30). */
  timeout?: number
  /** Retries after the first attempt (default 3). */
  maxRetries?: number
  /** At most this many requests of this client in flight at once. */
  maxConcurrency?: number
  /** Largest response body read, in bytes (default 64 MiB); a larger one rejects with `response_too_large`. */
  maxResponseBytes?: number
  /** Seed the cache with tokens you already have (from the exchange), saving one refresh. */
  initialToken?: TokenSet
}

/** Scalar values for params, form fields and headers; arrays repeat the key. */
export type Scalar = string | number | boolean | bigint
/** Key/value pairs in any common shape. */
export type Pairs =
  | Record<string, Scalar | readonly Scalar[] | null | undefined>
  | URLSearchParams
  | Headers
  | Map<string, Scalar>
  | ReadonlyArray<readonly [string, Scalar]>

/** Per-request options. */
export interface RequestOptions {
  /** Query parameters. */
  params?: Pairs
  /** A JSON body (serialized with JSON.stringify). */
  json?: unknown
  /** A form body (`application/x-www-form-urlencoded`). */
  form?: Pairs
  /** A raw body; set its `content-type` in `headers`. */
  body?: string | Buffer | ArrayBuffer | ArrayBufferView
  /** Extra headers (`Authorization` is set by the client and refused here). */
  headers?: Pairs
  /** The product of a relative path (default `crm`). */
  product?: Product
  /** Timeout of each attempt, in seconds. */
  timeout?: number
  /** Retries for this request (overrides the client's). */
  maxRetries?: number
  /** Retry 5xx and connection errors for POST/PATCH too (429 is always retried). */
  retryNonIdempotent?: boolean
  /** Cancels the request (the promise rejects with the signal's reason). */
  signal?: AbortSignal
}

/** `fetch` init plus the Zoho product of a relative URL. */
export interface ZohoFetchInit extends Omit<RequestInit, 'body'> {
  body?: string | URLSearchParams | Blob | Buffer | ArrayBuffer | ArrayBufferView | null
  /** The product of a relative URL (default `crm`). */
  product?: Product
}

/** Only a signal. */
export interface SignalOption {
  signal?: AbortSignal
}

/**
 * The one error type: a stable `code`, HTTP status, Zoho's code and message, a hint. Errors
 * from the library are built by the Rust core: the message has the same format in every
 * language, and the class is the one of the code's family.
 */
export declare class ZohoError extends Error {
  /** `family` defaults to the family of `code` (`null` for a code the core does not have). */
  constructor(message: string, details?: Partial<Omit<ZohoError, 'name' | 'message' | 'stack'>> & { cause?: unknown })
  /** Stable machine-readable code. */
  code: ErrorCode
  /** The group of the code, which decides the class; `null` for `internal`. */
  family: ErrorFamily | null
  /** HTTP status of the answer, when there was one. */
  status: number | null
  /** Zoho's own error code (`INVALID_TOKEN`, `invalid_code`, `57` ...). */
  zohoCode: string | null
  /** Zoho's own message. */
  zohoMessage: string | null
  /** Seconds to wait before trying again, when known. */
  retryAfter: number | null
  /** A hint a person can act on. */
  hint: string | null
  /** The raw answer body (truncated; bodies carrying tokens are redacted). */
  body: string | null
}
/** `invalid_code invalid_client invalid_client_secret invalid_redirect_uri access_denied state_mismatch untrusted_accounts_server device_flow_expired`. */
export declare class AuthError extends ZohoError {}
/** `token_throttled refresh_budget_exhausted rate_limited`; `retryAfter` says how long to wait. */
export declare class RateLimitError extends ZohoError {}
/** `unauthorized scope_mismatch api_error` (from `Response#throwForStatus`). */
export declare class ApiError extends ZohoError {}
/** `timeout transport invalid_response response_too_large`. */
export declare class TransportError extends ZohoError {}
/** `config`: bad configuration or input, caught before any network I/O. */
export declare class ConfigError extends ZohoError {}
/** `store`: the token store failed. */
export declare class StoreError extends ZohoError {}

/** Tokens from an exchange or a refresh. Secrets are readable but never printed or serialized. */
export declare class TokenSet {
  private constructor()
  /** The access token (about one hour). */
  readonly accessToken: string
  /** The refresh token: only from an offline code or device exchange, never from a refresh. */
  readonly refreshToken: string | null
  /** Base URL of the `www.zohoapis.*` products in the user's DC. */
  readonly apiDomain: string | null
  /** The accounts server that issued the tokens; refreshes and revocation go there. */
  readonly accountsServer: string
  /** Token type as sent (`Bearer`). */
  readonly tokenType: string
  /** Absolute expiry. */
  readonly expiresAt: Date
  /** Absolute expiry, Unix milliseconds. */
  readonly expiresAtMs: number
  /** Granted scopes. */
  readonly scopes: string[]
  /** OpenID id_token, present when the `email` scope was granted. */
  readonly idToken: string | null
  /** A redacted summary. */
  toJSON(): Record<string, unknown>
  /** The accounts server and the expiry, nothing secret. */
  toString(): string
}

/** A fully read response of a product API (every status; see `throwForStatus`). */
export declare class Response {
  private constructor()
  /** HTTP status code. */
  readonly status: number
  /** True for 2xx. */
  readonly ok: boolean
  /** The URL that answered (the query string is kept). */
  readonly url: string
  /** Response headers (case-insensitive `get`). */
  readonly headers: Headers
  /** The body as text. */
  text(): string
  /** The body parsed as JSON; a 204 or non-JSON body throws `invalid_response`. */
  json<T = any>(): T
  /** The body bytes. */
  buffer(): Buffer
  /** Throws the typed error (Zoho's code parsed) for 4xx/5xx; returns this response otherwise. */
  throwForStatus(): this
  /** The status and the URL. */
  toJSON(): { status: number; url: string }
}

/** An authorization URL and what to keep until the callback arrives. */
export interface AuthorizationUrl {
  /** Send the user's browser here. */
  url: string
  /** Compare with the callback's state: keep it in the user's session. */
  state: string
  /** The PKCE verifier to pass to `handleCallback` (mobile clients). */
  codeVerifier?: string
}

/** A started device flow: show `userCode` and `verificationUrl`, then `await wait()`. */
export declare class DeviceAuthorization {
  private constructor()
  /** The code the user types at `verificationUrl`. */
  readonly userCode: string
  /** Where the user enters the code. */
  readonly verificationUrl: string
  /** A URL with the code pre-filled, when Zoho sends one. */
  readonly verificationUrlComplete: string | null
  /** Seconds the user code is valid. */
  readonly expiresIn: number
  /** Seconds between polls (at least 30, Zoho's rule). */
  readonly interval: number
  /** When the user code expires. */
  readonly expiresAt: Date
  /**
   * Poll until the user approves (tokens), denies (`access_denied`) or the code expires
   * (`device_flow_expired`); follows `other_dc` and backs off on `slow_down`.
   */
  wait(options?: SignalOption): Promise<TokenSet>
}

/** A Zoho OAuth client registration: authorization URLs, code exchange, refresh, revoke, device flow. */
export declare class OAuthApp {
  /** Validates the options (no network I/O). */
  constructor(options: OAuthAppOptions)
  readonly clientId: string
  /** The home DC's code. */
  readonly dc: string
  /** The home DC's accounts server. */
  readonly accountsServer: string
  /**
   * The URL that starts the authorization code flow, at the home DC's accounts server. A random
   * `state` is generated unless given; mobile clients get PKCE S256.
   */
  authorizationUrl(options: {
    scopes: string[]
    redirectUri: string
    /** `offline` (default) to get a refresh token, or `online`. */
    accessType?: 'offline' | 'online'
    /** `consent` to force the consent screen (needed for a new refresh token). */
    prompt?: string
    state?: string
    pkce?: boolean
  }): AuthorizationUrl
  /**
   * Handle the redirect Zoho sent back: parse it, check the state and the accounts server,
   * and exchange the code at the user's DC with that DC's secret. `expectedState` is required
   * unless `skipStateCheck` is true (only for callers that check the state themselves).
   */
  handleCallback(
    callbackUrl: string,
    options?: { expectedState?: string; redirectUri?: string; codeVerifier?: string; skipStateCheck?: boolean; signal?: AbortSignal },
  ): Promise<TokenSet>
  /** Exchange a grant code (self clients: just the code; server clients add `redirectUri`). */
  exchangeCode(
    code: string,
    options?: { redirectUri?: string; codeVerifier?: string; accountsServer?: string; signal?: AbortSignal },
  ): Promise<TokenSet>
  /** A new access token for a refresh token, uncached and unbudgeted (a `Client` does both). */
  refresh(refreshToken: string, options?: { accountsServer?: string; signal?: AbortSignal }): Promise<TokenSet>
  /** Revoke a refresh token and every access token minted from it. */
  revoke(refreshToken: string, options?: { accountsServer?: string; signal?: AbortSignal }): Promise<void>
  /** Client-credentials grant (self clients only); `soid` is `Service.orgid` when Zoho asks for it. */
  clientCredentials(scopes: string[], options?: { soid?: string; signal?: AbortSignal }): Promise<TokenSet>
  /** Start the device flow (non-browser clients) at the home DC. */
  startDeviceFlow(options: { scopes: string[]; accessType?: 'offline' | 'online'; prompt?: string; signal?: AbortSignal }): Promise<DeviceAuthorization>
  /** The client id, DC and accounts server; the secret redacted. */
  toJSON(): { clientId: string; dc: string; accountsServer: string; clientSecret: string }
}

/** Rate-limit headers of the last response that carried any. */
export interface RateLimits {
  /** `X-API-CREDITS-REMAINING` (CRM sends it once half the daily credits are used). */
  creditsRemaining?: number | null
  /** `Retry-After` of the last 429/503, in seconds. */
  retryAfter?: number | null
  status?: number | null
}

/**
 * One Zoho identity (app + refresh token + store) with a cached access token and
 * authenticated requests. Clients with the same identity share the `memory://` cache, so a
 * client per request still refreshes once.
 */
export declare class Client {
  /** Validates the options (no network I/O). */
  constructor(options: ClientOptions)
  /**
   * Build from `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET`, `ZOHO_REFRESH_TOKEN`, `ZOHO_DC` (default
   * `us`), `ZOHO_TOKEN_STORE`, `ZOHO_ACCOUNTS_URL` and `ZOHO_API_DOMAIN`.
   */
  static fromEnv(options?: { logger?: Logger }): Client
  readonly clientId: string
  /** The user's DC code. */
  readonly dc: string
  /** The accounts server refreshes go to. */
  readonly accountsServer: string
  /** The non-secret key of this identity in the token store. */
  readonly storeKey: string
  /**
   * The base URL a relative path of `product` (crm, books, desk, mail, campaigns) goes to now:
   * `apiDomain`, else the cached token's, else the user's DC's host. No I/O.
   */
  baseUrl(product?: 'crm' | 'books' | 'desk' | 'mail' | 'campaigns'): string
  /**
   * A valid access token: the cached one until `expires_at - refreshMargin`, else one refresh
   * shared by every concurrent caller of this identity (budgeted and throttle-aware).
   */
  accessToken(options?: SignalOption): Promise<string>
  /**
   * The cached token set (refreshed if needed; when the refresh fails or is refused and the current
   * token still works, that token). `force: true` refreshes now (still single-flight, budgeted and
   * backed off after failures) and rejects on failure even while the current token works.
   */
  tokenSet(options?: { force?: boolean; signal?: AbortSignal }): Promise<TokenSet>
  /** Revoke the refresh token at Zoho and drop the cached access token. */
  revoke(options?: SignalOption): Promise<void>
  /**
   * Drop the cached token only if it is still `accessToken` (compare-and-invalidate); resolves to
   * whether it was dropped. For code that sees a dead-token 401 through its own HTTP library.
   */
  invalidate(accessToken: string, options?: SignalOption): Promise<boolean>
  /**
   * Keep this identity's refresh token in the token store (optionally labelled) so other
   * processes and the `zoho-oauth` command can use it; stores never keep it unless asked.
   */
  saveRefreshToken(options?: { label?: string; signal?: AbortSignal }): Promise<void>
  /** Rate-limit headers of the last response that carried any. */
  rateLimits(): RateLimits
  /**
   * Send a request: a path (resolved against the product's base URL: an explicit `apiDomain`,
   * else the token's api_domain for CRM/Books, else the DC's host) or an absolute URL. Resolves
   * with the response for every status once retries are done; dead-token 401s are refreshed
   * and retried once; 429/503 honour Retry-After.
   */
  request(method: string, url: string | URL, options?: RequestOptions): Promise<Response>
  get(url: string | URL, options?: RequestOptions): Promise<Response>
  post(url: string | URL, options?: RequestOptions): Promise<Response>
  put(url: string | URL, options?: RequestOptions): Promise<Response>
  patch(url: string | URL, options?: RequestOptions): Promise<Response>
  delete(url: string | URL, options?: RequestOptions): Promise<Response>
  /** Every record of a CRM list (`page` up to 2,000 records, then `page_token`). */
  paginate<T = Record<string, any>>(
    path: string,
    options?: { perPage?: number; params?: Pairs; signal?: AbortSignal },
  ): AsyncGenerator<T, void, undefined>
  /**
   * A `fetch`-compatible call through this client: the token is added (and refreshed) by the
   * client and the result is a standard `Response`. Relative URLs resolve as in `request`.
   */
  fetch(input: string | URL | Request, init?: ZohoFetchInit): Promise<globalThis.Response>
  /** The client id, DC, accounts server and store key (nothing secret). */
  toJSON(): { clientId: string; dc: string; accountsServer: string; storeKey: string }
}

declare const _default: {
  Client: typeof Client
  OAuthApp: typeof OAuthApp
  TokenSet: typeof TokenSet
  Response: typeof Response
  DeviceAuthorization: typeof DeviceAuthorization
  ZohoError: typeof ZohoError
  AuthError: typeof AuthError
  RateLimitError: typeof RateLimitError
  ApiError: typeof ApiError
  TransportError: typeof TransportError
  ConfigError: typeof ConfigError
  StoreError: typeof StoreError
  DATA_CENTERS: typeof DATA_CENTERS
}
export default _default
