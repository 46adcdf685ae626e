// Runs inside a worker thread: its own addon instance, the shared core runtime.
import { parentPort, workerData } from 'node:worker_threads'
import { Client } from '../index.mjs'

const { baseUrl, refreshToken, clientId, clientSecret, count, logs } = workerData
const records = []
const c = new Client({ clientId, clientSecret, refreshToken, accountsUrl: baseUrl, logger: logs ? (r) => records.push(r.message) : undefined })
const rs = await Promise.all(Array.from({ length: count }, () => c.get('/crm/v8/Leads')))
parentPort.postMessage({ statuses: rs.map((r) => r.status), token: await c.accessToken(), records })
