/**
 * The API's bounds under load, over real HTTP: one budget of event streams for every kind,
 * refused past it with 503; a client that floods requests gets 429 with Retry-After; a
 * dashboard client that reads nothing is dropped. Meanwhile /health and an honest client are
 * still served, within a second each.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'
import { createPeer, type Peer } from '../../src/index.js'
import { startApi, type ApiOptions, type RunningApi } from '../../src/api/index.js'
import { createCliLogger } from '../../src/cli/logger.js'
import { TOKEN, type ErrorBody } from './helpers.js'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => { for (const fn of cleanup.splice(0).reverse()) await fn() })

async function serve (options: Partial<ApiOptions> = {}): Promise<{ peer: Peer, api: RunningApi }> {
  const cli = await createCliLogger('warn', true, { out: () => {}, err: () => {} })
  const peer = await createPeer({ profile: 'local', logger: cli.log })
  await peer.start()
  const api = await startApi(peer, { token: TOKEN, logger: cli.log, logs: cli.source, ...options })
  cleanup.push(async () => { await api.close(); await peer.stop() })
  return { peer, api }
}

interface Answer { status: number, headers: IncomingMessage['headers'], body: string, ms: number }

/** One request over its own connection (or `agent`'s), from `localAddress`; resolves once the whole answer is in. */
async function call (api: RunningApi, method: string, path: string, options: { body?: string, agent?: Agent, localAddress?: string } = {}): Promise<Answer> {
  const started = performance.now()
  return await new Promise((resolve, reject) => {
    const req = httpRequest(`${api.url}${path}`, {
      method,
      agent: options.agent ?? false,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      headers: { authorization: `Bearer ${TOKEN}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, ms: performance.now() - started }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** An honest client's round while the peer is under load: /health, a PUT and a GET, each timed. */
async function honestRound (api: RunningApi, key: string, localAddress?: string): Promise<Array<{ what: string, status: number, ms: number }>> {
  const from = localAddress === undefined ? {} : { localAddress }
  const health = await call(api, 'GET', '/health', from)
  const put = await call(api, 'PUT', `/v1/kv/${key}`, { ...from, body: JSON.stringify({ honest: key }) })
  const get = await call(api, 'GET', `/v1/kv/${key}`, from)
  expect(JSON.parse(get.body)).toMatchObject({ value: { honest: key } })
  return [{ what: 'health', status: health.status, ms: health.ms }, { what: 'put', status: put.status, ms: put.ms }, { what: 'get', status: get.status, ms: get.ms }]
}

/** An event stream's request: settles with its status once the head (or a refusal's whole body) is in. */
function openStream (api: RunningApi, path: string): { req: ClientRequest, answer: Promise<{ status: number, body: string }> } {
  let req: ClientRequest | undefined
  const answer = new Promise<{ status: number, body: string }>((resolve, reject) => {
    req = httpRequest(`${api.url}${path}`, { agent: false, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      const status = res.statusCode ?? 0
      res.on('error', () => {})
      if (status === 200) {
        res.resume()
        resolve({ status, body: '' })
        return
      }
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => { resolve({ status, body: text }) })
    })
    req.on('error', reject)
    req.end()
  })
  return { req: req!, answer }
}

function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const BURST = fileURLToPath(new URL('./fixtures/stream-burst.mjs', import.meta.url))

const PATHS = ['/v1/watch?prefix=a', '/v1/events', '/v1/dashboard/events', '/v1/watch', '/v1/events?type=member']

describe('bounded resources of the API', () => {
  it('1,000 event streams opened at once: the first 256 (every kind together) are served, the rest get 503 ERR_TOO_MANY_STREAMS; /health and an honest client are served within 1 s meanwhile', async () => {
    const { api } = await serve()
    const n = 1_000
    // Every kind in turn, and every twentieth follows the log (50 of them, under the log tap's own limit of 64).
    const paths = Array.from({ length: 20 }, (_, i) => i === 0 ? '/v1/monitor?level=warn' : PATHS[i % PATHS.length]!)
    // The burst comes from a process of its own, as many clients would.
    const burst = spawn(process.execPath, [BURST, api.url, TOKEN, String(n), ...paths], { stdio: ['pipe', 'pipe', 'inherit'] })
    cleanup.push(async () => { if (burst.exitCode === null) burst.kill() })
    const lines = createInterface({ input: burst.stdout })[Symbol.asyncIterator]()
    expect(JSON.parse((await lines.next()).value as string)).toEqual({ sent: n })
    const honest = await honestRound(api, 'during-the-streams')
    const { answers } = JSON.parse((await lines.next()).value as string) as { answers: Array<{ status: number, body?: string }> }
    const after = await honestRound(api, 'with-the-streams-open')
    for (const round of [honest, after]) {
      expect(round.map((r) => r.status)).toEqual([200, 200, 200])
      for (const r of round) expect({ what: r.what, within1s: r.ms < 1_000 }).toEqual({ what: r.what, within1s: true })
    }
    const served = answers.filter((a) => a.status === 200).length
    const refused = answers.filter((a) => a.status === 503)
    expect(served).toBe(256)
    expect(refused).toHaveLength(n - 256)
    for (const r of refused) {
      expect((JSON.parse(r.body!) as ErrorBody).error).toMatchObject({ code: 'ERR_TOO_MANY_STREAMS', message: expect.stringMatching(/256 streams.*close a stream you no longer read/) })
    }
    const stats = api.app.hearsay.limitStats().streams
    expect(stats).toMatchObject({ open: 256, max: 256, refused: n - 256 })
    expect(Object.values(stats.byKind).reduce((a, b) => a + b, 0)).toBe(256)
    expect(Object.values(stats.byKind).every((open) => open > 0)).toBe(true)

    // Counted where an operator looks.
    const metrics = await call(api, 'GET', '/metrics')
    expect(sample(metrics.body, 'hearsay_api_streams_refused_total')).toBe(n - 256)
    expect(sample(metrics.body, 'hearsay_api_streams_max')).toBe(256)
    const status = JSON.parse((await call(api, 'GET', '/v1/status')).body) as { stats: { api: { streams: { open: number, refused: number } } } }
    expect(status.stats.api.streams).toMatchObject({ open: 256, refused: n - 256 })

    // The slots come back as the clients go, and a new stream is served again.
    burst.stdin.end()
    await expect.poll(() => api.app.hearsay.limitStats().streams.open, { timeout: 10_000 }).toBe(0)
    const again = openStream(api, '/v1/watch')
    expect((await again.answer).status).toBe(200)
    again.req.destroy()
  })

  it('a PUT flood of 20,000 requests from one client gets 429 ERR_RATE_LIMITED with Retry-After past its limit and writes nothing more; /health and another client are served within 1 s meanwhile', async () => {
    // The default (20,000 per 10 s) is above what one client makes on this machine; the flood
    // meets a lower limit, the same mechanism.
    const { peer, api } = await serve({ rateLimit: { max: 2_000, windowMs: 10_000 } })
    const flooder = new Agent({ keepAlive: true, maxSockets: 32, localAddress: '127.0.0.2' })
    cleanup.push(async () => { flooder.destroy() })
    const total = 20_000
    let next = 0
    const answers: Answer[] = []
    const flood = Promise.all(Array.from({ length: 32 }, async () => {
      while (next < total) {
        const i = next++
        answers.push(await call(api, 'PUT', `/v1/kv/flood-${i}`, { agent: flooder, body: String(i) }))
      }
    }))
    // Once the flooder is over its limit, the honest client (another address) makes its rounds.
    await expect.poll(() => answers.some((a) => a.status === 429), { timeout: 30_000, interval: 20 }).toBe(true)
    const rounds: Array<Array<{ what: string, status: number, ms: number }>> = []
    for (let i = 0; next < total && i < 20; i++) rounds.push(await honestRound(api, `honest-${i}`, '127.0.0.1'))
    await flood
    expect(rounds.length).toBeGreaterThan(0)
    for (const round of rounds) {
      expect(round.map((r) => r.status)).toEqual([200, 200, 200])
      for (const r of round) expect({ what: r.what, within1s: r.ms < 1_000 }).toEqual({ what: r.what, within1s: true })
    }

    const limited = answers.filter((a) => a.status === 429)
    const written = answers.filter((a) => a.status === 200)
    expect(limited.length + written.length).toBe(total)
    expect(written.length).toBeGreaterThanOrEqual(2_000)
    expect(limited.length).toBeGreaterThan(0)
    for (const a of limited) {
      expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      expect(Number(a.headers['retry-after'])).toBeLessThanOrEqual(10)
      expect((JSON.parse(a.body) as ErrorBody).error).toMatchObject({ code: 'ERR_RATE_LIMITED', message: expect.stringMatching(/more than 2000 requests in 10000 ms.*Retry-After/) })
    }
    // A refused PUT wrote nothing: the store holds exactly the flood's accepted writes.
    expect(peer.kv.list('flood-')).toHaveLength(written.length)
    expect(api.app.hearsay.limitStats().rateLimited).toBe(limited.length)
    const metrics = await call(api, 'GET', '/metrics')
    expect(sample(metrics.body, 'hearsay_api_rate_limited_total')).toBe(limited.length)
    // /health is never limited, even for the flooder.
    expect((await call(api, 'GET', '/health', { agent: flooder })).status).toBe(200)
  })

  it('a dashboard client that reads nothing is dropped once its socket has stayed full for maxBlockedMs, and counted', async () => {
    // Snapshots of 1.6 MiB, five a second: a client that stops reading fills its socket at once.
    const { peer, api } = await serve({ dashboard: { intervalMs: 200, maxKeys: 50, previewChars: 40_000, maxBlockedMs: 2_000 } })
    const value = 'd'.repeat(32 * 1024)
    for (let i = 0; i < 50; i++) await peer.kv.put(`big/${i}`, value)
    const reader = openStream(api, '/v1/dashboard/events')
    expect((await reader.answer).status).toBe(200)
    cleanup.push(async () => { reader.req.destroy() })
    const url = new URL(api.url)
    const stuck = connect(Number(url.port), url.hostname)
    stuck.on('error', () => {})
    cleanup.push(async () => { stuck.destroy() })
    stuck.pause()
    stuck.write(`GET /v1/dashboard/events HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
    await expect.poll(() => api.app.hearsay.limitStats().streams.byKind.dashboard, { timeout: 10_000 }).toBe(2)
    await expect.poll(() => api.app.hearsay.limitStats().streams.dropped.dashboard, { timeout: 20_000 }).toBe(1)
    // Its slot comes back once its socket has closed; the reader that keeps up stays.
    await expect.poll(() => api.app.hearsay.limitStats().streams.byKind.dashboard, { timeout: 5_000 }).toBe(1)
    const metrics = await call(api, 'GET', '/metrics')
    expect(sample(metrics.body, 'hearsay_api_streams_dropped_total{kind="dashboard"}')).toBe(1)
    expect(sample(metrics.body, 'hearsay_api_streams{kind="dashboard"}')).toBe(1)
  })
})
