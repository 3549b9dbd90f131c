import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { buildApi, startApi, type HearsayApi, type RunningApi, type DashboardSnapshot } from '../../src/api/index.js'
import type { ConvergenceReport, TraceReport } from '../../src/index.js'
import { auth, body, TOKEN, type ErrorBody } from './helpers.js'

describe('convergence, traces and the dashboard over a three-peer cluster', () => {
  let cluster: Cluster
  let app: HearsayApi
  let api: RunningApi
  const ids = (): string[] => cluster.peers.map((p) => p.peerId)
  const get = async <T>(url: string): Promise<{ status: number, body: T }> => {
    const response = await app.inject({ method: 'GET', url, headers: auth })
    return { status: response.statusCode, body: body<T>(response) }
  }
  const convergence = async (): Promise<ConvergenceReport> => (await get<ConvergenceReport>('/v1/convergence')).body
  const rowOf = (report: ConvergenceReport, index: number): ConvergenceReport['members'][number] | undefined =>
    report.members.find((m) => m.peerId === cluster.peers[index]!.peerId)

  beforeAll(async () => {
    // A killed or cut-off peer stays suspect (it still counts, and is still asked) for the whole file.
    cluster = await createCluster({ size: 3, peer: { membership: { suspicionTimeout: 120_000 } } })
    await cluster.converged({ timeout: 30_000 })
    app = buildApi(cluster.peers[0]!, { token: TOKEN, logger: false })
    api = await startApi(cluster.peers[0]!, { token: TOKEN, logger: false, dashboard: { intervalMs: 200 } })
  }, 60_000)
  afterAll(async () => {
    await app?.close()
    await api?.close()
    await cluster?.stop()
  })

  it('GET /v1/convergence: every member in sync once a write has reached them all', async () => {
    await cluster.peers[1]!.kv.put('conv/first', 1)
    await cluster.converged({ timeout: 15_000 })
    await expect.poll(async () => (await convergence()).converged, { timeout: 15_000 }).toBe(true)
    const report = await convergence()
    expect(report.peerId).toBe(ids()[0])
    expect(report.members.map((m) => m.peerId).sort()).toEqual([...ids()].sort())
    expect(report.members[0]).toMatchObject({ peerId: ids()[0], self: true, lagEntries: 0, inSync: true })
    for (const row of report.members) {
      expect(row).toMatchObject({ state: 'alive', lagEntries: 0, aheadEntries: 0, oldestMissingMs: 0, inSync: true, digest: report.digest })
      expect(row.vector).toEqual(report.vector)
    }
    expect(report.keys).toBe(cluster.peers[0]!.kv.size())
  })

  it('a cut-off member lags by the writes it misses, with the age of the oldest; after the heal it catches up', async () => {
    await cluster.partition([0, 1], [2])
    const before = Date.now()
    for (let i = 0; i < 3; i++) await cluster.peers[0]!.kv.put(`conv/cut-${i}`, i)
    await expect.poll(async () => rowOf(await convergence(), 2)?.lagEntries, { timeout: 10_000 }).toBe(3)
    const report = await convergence()
    expect(report.converged).toBe(false)
    const row = rowOf(report, 2)!
    expect(row.inSync).toBe(false)
    expect(row.oldestMissingMs).toBeGreaterThanOrEqual(0)
    expect(row.oldestMissingMs).toBeLessThanOrEqual(Date.now() - before + 1_000)
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: auth })
    expect(metrics.body).toContain(`hearsay_member_lag_entries{member="${ids()[2]}"} 3`)
    expect(metrics.body).toMatch(/^hearsay_converged 0$/m)

    await cluster.heal()
    await cluster.converged({ timeout: 30_000 })
    await expect.poll(async () => (await convergence()).converged, { timeout: 30_000 }).toBe(true)
    expect(rowOf(await convergence(), 2)).toMatchObject({ lagEntries: 0, inSync: true })
    const after = await app.inject({ method: 'GET', url: '/metrics', headers: auth })
    expect(after.body).toMatch(/^hearsay_converged 1$/m)
  }, 90_000)

  it('GET /v1/trace/:key: when and how each peer applied the last write, measured from when it was made', async () => {
    const receipt = await cluster.peers[1]!.kv.put('trace/me', { v: 1 })
    await cluster.converged({ timeout: 15_000 })
    const { status, body: trace } = await get<TraceReport>(`/v1/trace/${encodeURIComponent('trace/me')}`)
    expect(status).toBe(200)
    expect(trace).toMatchObject({
      traceId: `${ids()[1]}/${receipt.dot.seq}`, key: 'trace/me', op: 'put', author: ids()[1], dot: receipt.dot, complete: true, unanswered: []
    })
    expect(trace.peers.map((p) => p.peerId).sort()).toEqual([...ids()].sort())
    expect(trace.peers.every((p) => p.status === 'applied')).toBe(true)
    const author = trace.peers.find((p) => p.peerId === ids()[1])!
    expect(author).toMatchObject({ path: 'local', from: ids()[1], afterMs: 0 })
    expect(trace.peers[0]!.peerId).toBe(ids()[1])
    for (const peer of trace.peers.filter((p) => p.peerId !== ids()[1])) {
      expect(['gossip', 'anti-entropy']).toContain(peer.path)
      expect(ids()).toContain(peer.from)
      expect(peer.appliedAt).toBeGreaterThanOrEqual(peer.receivedAt!)
      expect(peer.afterMs).toBe(peer.appliedAt! - trace.writtenAt)
    }
    expect(trace.propagationMs).toBe(Math.max(...trace.peers.map((p) => p.afterMs!)))

    // A newer write of the key, made elsewhere: that is the one traced now.
    const newer = await cluster.peers[2]!.kv.put('trace/me', { v: 2 })
    await cluster.converged({ timeout: 15_000 })
    expect((await get<TraceReport>(`/v1/trace/${encodeURIComponent('trace/me')}`)).body.dot).toEqual(newer.dot)
    // A delete is a write too: it is traced although the key holds no value now.
    const deleted = await cluster.peers[0]!.kv.delete('trace/me')
    const gone = (await get<TraceReport>(`/v1/trace/${encodeURIComponent('trace/me')}`)).body
    expect(gone).toMatchObject({ op: 'delete', dot: deleted!.dot })
  })

  it('GET /v1/trace/:key refuses what it cannot trace: unknown key, bad key, no token', async () => {
    const unknown = await get<ErrorBody>('/v1/trace/never-written')
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.code).toBe('ERR_NO_TRACE')
    const long = await get<ErrorBody>(`/v1/trace/${'k'.repeat(1025)}`)
    expect(long.status).toBe(400)
    expect(long.body.error.code).toBe('ERR_KEY_TOO_LONG')
    const badTimeout = await get<ErrorBody>('/v1/trace/x?timeout=5')
    expect(badTimeout.status).toBe(400)
    const anonymous = await app.inject({ method: 'GET', url: '/v1/trace/x' })
    expect(anonymous.statusCode).toBe(401)
  })

  it('GET /v1/traces: the last writes to reach this peer, newest first, each traced', async () => {
    for (let i = 0; i < 3; i++) await cluster.peers[2]!.kv.put(`recent/${i}`, i)
    await cluster.converged({ timeout: 15_000 })
    const { status, body: reply } = await get<{ traces: TraceReport[] }>('/v1/traces?limit=10')
    expect(status).toBe(200)
    expect(reply.traces.length).toBeLessThanOrEqual(10)
    // The coordinator's maintenance jobs may write too: look at ours.
    const ours = reply.traces.filter((t) => t.key.startsWith('recent/'))
    expect(ours.map((t) => t.key).sort()).toEqual(['recent/0', 'recent/1', 'recent/2'])
    expect(ours.every((t) => t.complete && t.author === ids()[2])).toBe(true)
    expect((await get<{ traces: TraceReport[] }>('/v1/traces?limit=1')).body.traces).toHaveLength(1)
    expect((await get<ErrorBody>('/v1/traces?limit=1000')).status).toBe(400)
  })

  it('GET /v1/dashboard: members, leader, graph, keys, recent writes and jobs in one snapshot', async () => {
    await expect.poll(() => cluster.peers[0]!.leader() !== undefined, { timeout: 30_000 }).toBe(true)
    await cluster.peers[1]!.kv.put('dash/key', 'shown')
    await cluster.converged({ timeout: 15_000 })
    const { status, body: snap } = await get<DashboardSnapshot>('/v1/dashboard')
    expect(status).toBe(200)
    expect(snap.peerId).toBe(ids()[0])
    expect(snap.members.map((m) => m.peerId).sort()).toEqual([...ids()].sort())
    expect(snap.leader).toEqual(cluster.peers[0]!.leader())
    expect(snap.graph.nodes.map((n) => n.peerId).sort()).toEqual([...ids()].sort())
    // Every pair of the three is connected (each peer's own report or a beacon says so).
    await expect.poll(async () => (await get<DashboardSnapshot>('/v1/dashboard')).body.graph.edges.filter((e) => e.connected).length, { timeout: 10_000 }).toBe(3)
    expect(snap.keys.entries).toContainEqual({ key: 'dash/key', preview: '"shown"' })
    expect(snap.keys.total).toBe(snap.keys.entries.length)
    expect(snap.writes.find((w) => w.key === 'dash/key')).toMatchObject({ author: ids()[1], complete: true })
    expect(snap.jobs.map((j) => j.name)).toEqual(expect.arrayContaining(['hearsay.gc']))
    expect(snap.convergence.peerId).toBe(ids()[0])
    // Values may be up to 1 MiB: a snapshot shows the start of each.
    await cluster.peers[0]!.kv.put('dash/big', 'x'.repeat(10_000))
    const big = (await get<DashboardSnapshot>('/v1/dashboard')).body.keys.entries.find((e) => e.key === 'dash/big')
    expect(big?.preview).toBe(`"${'x'.repeat(159)}…`)
  })

  it('GET /v1/dashboard/events streams snapshots over a real socket, and only with the token', async () => {
    const denied = await fetch(`${api.url}/v1/dashboard/events`)
    expect(denied.status).toBe(401)
    const controller = new AbortController()
    const response = await fetch(`${api.url}/v1/dashboard/events`, { headers: auth, signal: controller.signal })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let text = ''
    const snapshots = (): DashboardSnapshot[] => text.split('\n\n').filter((b) => b.startsWith('event: snapshot\ndata: ')).map((b) => JSON.parse(b.slice('event: snapshot\ndata: '.length)) as DashboardSnapshot)
    const deadline = Date.now() + 15_000
    while (snapshots().length < 2) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${text.slice(0, 200)}`)
      const { value, done } = await reader.read()
      if (done) throw new Error('stream ended')
      text += decoder.decode(value, { stream: true })
    }
    const [first, second] = snapshots()
    expect(first!.peerId).toBe(ids()[0])
    expect(second!.at).toBeGreaterThanOrEqual(first!.at)
    controller.abort()
  })

  it('the page and its files load without a token, with a strict content security policy', async () => {
    const page = await fetch(`${api.url}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(await page.text()).toContain('<script src="/ui/app.js"')
    for (const [file, type] of [['app.js', 'text/javascript; charset=utf-8'], ['style.css', 'text/css; charset=utf-8']]) {
      const asset = await fetch(`${api.url}/ui/${file}`)
      expect(asset.status).toBe(200)
      expect(asset.headers.get('content-type')).toBe(type)
    }
    for (const bad of ['/ui/nothing.js', '/ui/index.html', '/ui/..%2Fpackage.json', '/ui/%2E%2E%2F%2E%2E%2Fpeer.ts']) {
      const response = await fetch(`${api.url}${bad}`)
      expect(response.status, bad).toBe(404)
      expect(await response.json()).toMatchObject({ error: { code: 'ERR_NOT_FOUND' } })
    }
    const doc = app.hearsay.openApi()
    expect(doc.paths['/']?.get?.security).toEqual([])
    expect(doc.paths['/v1/convergence']?.get?.security).toEqual([{ bearerAuth: [] }])
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/trace/{key}', '/v1/traces', '/v1/dashboard', '/v1/dashboard/events']))
  })

  it('a member that does not answer is reported as such, and the trace is incomplete', async () => {
    await cluster.peers[0]!.kv.put('trace/last', 1)
    await cluster.converged({ timeout: 15_000 })
    await cluster.kill(2)
    const { status, body: trace } = await get<TraceReport>('/v1/trace/trace%2Flast?timeout=1000')
    expect(status).toBe(200)
    expect(trace.complete).toBe(false)
    expect(trace.propagationMs).toBeNull()
    expect(trace.unanswered).toEqual([ids()[2]])
    expect(trace.peers.find((p) => p.peerId === ids()[2])).toMatchObject({ status: 'no-answer' })
    expect(trace.peers.find((p) => p.peerId === ids()[1])).toMatchObject({ status: 'applied' })
  })
})
