// Shared fixtures: a fake Zoho per test and clients wired to its virtual clock.
import { Client, OAuthApp } from '../index.mjs'
import { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../testing.mjs'

export const SCOPES = ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ']

export function start(options) {
  const mock = new MockZoho(options)
  const env = {
    mock,
    refreshToken: (scopes = SCOPES, opts) => mock.mintRefreshToken(scopes, opts).refreshToken,
    client: (extra = {}) =>
      new Client({
        clientId: DEFAULT_CLIENT_ID,
        clientSecret: DEFAULT_CLIENT_SECRET,
        refreshToken: extra.refreshToken ?? env.refreshToken(),
        accountsUrl: mock.baseUrl,
        clock: mock.clock,
        ...extra,
      }),
    app: (extra = {}) =>
      new OAuthApp({ clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, accountsUrl: mock.baseUrl, clock: mock.clock, ...extra }),
    refreshes: (outcome = 'success') => mock.tokenRequests('refresh_token', outcome),
    calls: (route) => mock.counters().api_calls[route] ?? {},
    [Symbol.dispose]: () => mock.stop(),
  }
  return env
}

/** Run `fn(env)` with a fresh mock, stopped afterwards. */
export async function withMock(options, fn) {
  if (typeof options === 'function') [options, fn] = [undefined, options]
  const env = start(options)
  try {
    return await fn(env)
  } finally {
    env.mock.stop()
  }
}

export { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET }

/** The smallest correct store: a Map (one JS thread, so every method is atomic). */
export class MapStore {
  constructor() {
    this.data = new Map()
    this.calls = []
    this.broken = false
  }

  #enter(name) {
    this.calls.push(name)
    if (this.broken) throw new Error('store down (last value 1000.aaaaaaaaaaaaaaaaaaaaaaaa)')
  }

  async get(key) {
    this.#enter('get')
    return this.data.get(key)
  }

  compareAndSet(key, expected, next) {
    this.#enter('compareAndSet')
    if ((this.data.get(key) ?? null) !== expected) return false
    if (next === null) this.data.delete(key)
    else this.data.set(key, next)
    return true
  }

  keys() {
    this.#enter('keys')
    return this.data.keys()
  }
}
