// Compiled with `tsc --noEmit --strict` by the test command: the published types must fit real use.
import { MockZoho, DEFAULT_CLIENT_ID, type MintedCode } from '../testing.js'

const mock: MockZoho = new MockZoho({ dcs: ['us', 'eu'], settings: { latency_ms: 5 } })
const minted: MintedCode = mock.mintCode(['ZohoCRM.modules.ALL'], { clientId: DEFAULT_CLIENT_ID, ttlSecs: 60 })
const base: string = mock.baseUrl
const eu: string | null = mock.url('eu')
mock.injectFault('/crm/', { status: 429, retryAfter: '3' })
const total: number = mock.counters().token_requests_total
mock.advanceClock(10)
const helperClient: Client = mock.client({ scopes: ['ZohoCRM.modules.ALL'], maxResponseBytes: 1024 })
const helperApp: OAuthApp = mock.app({ virtualClock: false })
const tooLarge: ErrorCode = 'response_too_large'
mock.stop()
export const used = [minted.code, base, eu, total, helperClient, helperApp, tooLarge]

// The main entry point, used as an application would.
import zoho, {
  Client, OAuthApp, ZohoError, RateLimitError, ConfigError, TokenSet, type Response, type LogRecord, type ErrorCode,
  type ErrorFamily,
  type KeyValueStore,
} from '../index.js'

async function app(): Promise<number> {
  const m = new MockZoho()
  const logs: LogRecord[] = []
  const client = new Client({
    clientId: DEFAULT_CLIENT_ID, clientSecret: 'mock-self-secret', refreshToken: 'x', dc: 'eu',
    accountsUrl: m.baseUrl, refreshMargin: 300, timeout: 10, maxRetries: 2, tokenStore: 'memory://',
    logger: (r) => logs.push(r), clock: m.clock,
  })
  const withConsole = new Client({ clientId: 'a', refreshToken: 'b', logger: console })
  const map = new Map<string, string>()
  const ownStore: KeyValueStore = {
    get: (key) => map.get(key),
    compareAndSet: async (key, expected, next) => {
      if ((map.get(key) ?? null) !== expected) return false
      if (next === null) map.delete(key)
      else map.set(key, next)
      return true
    },
    keys: () => map.keys(),
    timeout: 5,
  }
  const withOwnStore = new Client({ clientId: 'a', refreshToken: 'b', tokenStore: ownStore })
  const token: string = await client.accessToken({ signal: AbortSignal.timeout(1000) })
  const r: Response = await client.get('/crm/v8/Leads', { params: { per_page: 200, fields: ['a', 'b'] } })
  const status: number = r.throwForStatus().status
  const body = r.json<{ data: Array<{ id: string }> }>()
  await client.post('/api/v1/tickets', { product: 'desk', json: { subject: 's' }, headers: { orgId: '1' } })
  await client.put('/crm/v8/Leads', { form: new URLSearchParams({ a: 'b' }) })
  for await (const rec of client.paginate<{ id: string }>('/crm/v8/Leads', { perPage: 100 })) body.data.push(rec)
  const res: globalThis.Response = await client.fetch('/crm/v8/Leads', { method: 'GET', headers: { a: 'b' } })
  const ts: TokenSet = await client.tokenSet({ force: false })
  const expires: Date = ts.expiresAt
  const a = new OAuthApp({ clientId: 'c', clientSecret: 's', dc: 'us', clientType: 'server' })
  const { url, state, codeVerifier } = a.authorizationUrl({ scopes: ['ZohoCRM.modules.ALL'], redirectUri: 'https://x/cb' })
  const tokens = await a.handleCallback(url, { expectedState: state, redirectUri: 'https://x/cb', codeVerifier })
  const rt: string | null = tokens.refreshToken
  const flow = await a.startDeviceFlow({ scopes: ['ZohoCRM.modules.ALL'] })
  const userCode: string = flow.userCode
  await flow.wait({ signal: new AbortController().signal })
  try {
    await Client.fromEnv().accessToken()
  } catch (e) {
    if (e instanceof RateLimitError) console.log(e.retryAfter?.toFixed(0))
    if (e instanceof ZohoError) {
      const code: ErrorCode = e.code
      const family: ErrorFamily | null = e.family
      console.log(code, family, e.status, e.zohoCode, e.hint)
    }
    if (e instanceof ConfigError) console.log(e.message)
  }
  const own = new RateLimitError('slow down', { code: 'rate_limited', retryAfter: 3 })
  console.log(own.family, JSON.stringify(client), ts.toString(), r.toJSON().status)
  m.stop()
  void [token, expires, rt, userCode, res, withConsole, withOwnStore, zoho.DATA_CENTERS]
  return status
}
export const run = app
