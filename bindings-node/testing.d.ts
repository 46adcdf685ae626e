/** A faithful fake Zoho running inside this process (see mock/README.md for every endpoint). */
import type { Client, ClientOptions, OAuthApp, OAuthAppOptions } from './index'
export declare const DEFAULT_CLIENT_ID: string
export declare const DEFAULT_CLIENT_SECRET: string
export declare const DEFAULT_USER: string
/** The scopes `MockZoho.client()` mints a refresh token with when given none. */
export declare const DEFAULT_SCOPES: string[]

export interface MockZohoOptions {
  /** Data centres to serve, one listener each; the first is the default user's home. Default `['us']`. */
  dcs?: string[]
  /** Port of the first listener; 0 (the default) picks a free one. */
  port?: number
  /** Settings to change from Zoho's defaults, keys as in mock/README.md. */
  settings?: Record<string, unknown>
}

export interface MintedCode {
  code: string
  expiresIn: number
  accountsServer: string
  location: string
}

export interface MintedRefreshToken {
  refreshToken: string
  accountsServer: string
  apiDomain: string
}

export interface Counters {
  token_requests: Record<string, Record<string, number>>
  token_requests_total: number
  revocations: number
  device_polls: number
  api_calls: Record<string, Record<string, number>>
  api_calls_total: number
}

/**
 * The mock's virtual clock (an opaque handle for the `clock` option of `Client`/`OAuthApp`).
 * A type only: the value comes from `MockZoho#clock`.
 */
declare class MockClock {
  private constructor()
  private readonly __mockClock: never
}
export type { MockClock }

export declare class MockZoho {
  constructor(options?: MockZohoOptions)
  readonly baseUrl: string
  /** The virtual clock: pass it as `clock` so expiry, backoff and device polling follow the mock. */
  readonly clock: MockClock
  url(dc: string): string | null
  /** Every served data centre's code mapped to its base URL. */
  dcUrls(): Record<string, string>
  /** The first data centre (the one `baseUrl` serves). */
  homeDc(): string
  /** An `OAuthApp` of the default self client on this mock (the mock's clock unless `virtualClock: false`). */
  app(options?: Partial<OAuthAppOptions> & { virtualClock?: boolean }): OAuthApp
  /** A `Client` of the default self client on this mock, on `refreshToken` or one minted with `scopes`. */
  client(options?: Partial<ClientOptions> & { scopes?: string[]; virtualClock?: boolean }): Client
  registerClient(client: {
    clientId: string
    clientSecret?: string
    clientType?: 'server' | 'self' | 'mobile' | 'device' | 'js'
    redirectUris?: string[]
    secrets?: Record<string, string>
    dcs?: string[]
  }): void
  registerUser(email: string, dc: string): void
  mintCode(scopes: string[], options?: { clientId?: string; user?: string; ttlSecs?: number; accessType?: 'offline' | 'online' }): MintedCode
  mintRefreshToken(scopes: string[], options?: { clientId?: string; user?: string }): MintedRefreshToken
  approveDevice(userCode: string, options?: { user?: string; deny?: boolean }): void
  advanceClock(seconds: number): number
  nowMs(): number
  configure(settings: Record<string, unknown>): Record<string, unknown>
  injectFault(
    path: string,
    options?: {
      count?: number
      method?: string
      status?: number
      retryAfter?: string
      delayMs?: number
      reset?: boolean
      body?: string
      /** The fault stops applying when the mock's clock (`nowMs()`) reaches this time. */
      untilMs?: number
    },
  ): void
  seedCrm(module: string, count: number): void
  counters(): Counters
  tokenRequests(grantType: string, outcome?: string): number
  reset(): void
  stop(): void
}
