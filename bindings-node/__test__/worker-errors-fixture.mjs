// Runs inside a worker thread: errors of every path (synchronous throw, Promise rejection, a
// rejection under a logger's dispatcher) must be instances of this worker's own classes.
import { parentPort, workerData } from 'node:worker_threads'
import { Client, OAuthApp, ZohoError, AuthError, ConfigError } from '../index.mjs'

const { baseUrl, clientId, clientSecret } = workerData
const describe = (e, Cls) => ({ ok: e instanceof Cls && e instanceof ZohoError, name: e.name, code: e.code, family: e.family, status: e.status })
const out = {}
try {
  new Client({ clientId, clientSecret, refreshToken: 'x', dc: 'mars' })
} catch (e) {
  out.sync = describe(e, ConfigError)
}
const app = new OAuthApp({ clientId, clientSecret, accountsUrl: baseUrl })
out.rejected = await app.exchangeCode('1000.not-a-code').then(() => null, (e) => describe(e, AuthError))
const records = []
const logged = new Client({ clientId, clientSecret, refreshToken: '1000.not-a-refresh-token', accountsUrl: baseUrl, logger: (r) => records.push(r) })
out.logged = await logged.accessToken().then(() => null, (e) => describe(e, AuthError))
parentPort.postMessage(out)
