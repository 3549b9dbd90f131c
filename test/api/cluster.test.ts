import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createServer } from 'node:net'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { buildApi, startApi, type HearsayApi, type RunningApi } from '../../src/api/index.js'
import { auth, json, body, TOKEN } from './helpers.js'

describe('the API over a peer of a three-peer cluster', () => {
  let cluster: Cluster
  let app: HearsayApi
  let api: RunningApi
  beforeAll(async () => {
    cluster = await createCluster({ size: 3 })
    await cluster.converged({ timeout: 30_000 })
    app = buildApi(cluster.peers[0]!, { token: TOKEN, logger: false })
    api = await startApi(cluster.peers[0]!, { token: TOKEN, logger: false })
  })
  afterAll(async () => {
    await app?.close()
    await api?.close()
    await cluster?.stop()
  })

  it('GET /v1/members shows all three, one of them self', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/members', headers: auth })
    expect(response.statusCode).toBe(200)
    const members = body<Array<{ peerId: string, state: string, self: boolean, addresses: string[] }>>(response)
    expect(members.map((m) => m.peerId).sort()).toEqual(cluster.peers.map((p) => p.peerId).sort())
    expect(members.every((m) => m.state === 'alive')).toBe(true)
    expect(members.filter((m) => m.self).map((m) => m.peerId)).toEqual([cluster.peers[0]!.peerId])
    expect(members.every((m) => m.addresses.length > 0)).toBe(true)
  })

  it('GET /v1/leader names the coordinator every peer follows, with its term', async () => {
    await expect.poll(() => new Set(cluster.peers.map((p) => p.leader()?.peerId)).size === 1 && cluster.peers[0]!.leader() !== undefined,
      { timeout: 30_000 }).toBe(true)
    const response = await app.inject({ method: 'GET', url: '/v1/leader', headers: auth })
    expect(response.statusCode).toBe(200)
    const leader = body<{ peerId: string, term: number }>(response)
    expect(leader).toEqual(cluster.peers[0]!.leader())
    expect(cluster.peers.map((p) => p.peerId)).toContain(leader.peerId)
    expect(leader.term).toBeGreaterThan(0)
  })

  it('GET /v1/status counts three alive members and shows the connections', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/status', headers: auth })
    const status = body<{ members: Record<string, number>, connections: Array<{ peerId: string, direction: string }>, leader: unknown }>(response)
    expect(status.members).toEqual({ alive: 3, suspect: 0, dead: 0, left: 0 })
    const others = cluster.peers.slice(1).map((p) => p.peerId)
    for (const id of others) expect(status.connections.map((c) => c.peerId)).toContain(id)
    expect(status.connections.every((c) => c.direction === 'inbound' || c.direction === 'outbound')).toBe(true)
    const stats = body<{ stats: { observe: Record<string, number> } }>(response).stats
    expect(Object.keys(stats.observe)).toEqual(expect.arrayContaining(['beaconsSent', 'beaconsUnsent', 'beaconsReceived', 'traced']))
    expect(stats.observe.beaconsSent).toBeLessThanOrEqual(cluster.peers[0]!.diagnostics.stats().observe.beaconsSent)
  })

  it('over a real socket on 127.0.0.1: health, then a write through HTTP reaches the other peers', async () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const health = await fetch(`${api.url}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ ok: true, peerId: cluster.peers[0]!.peerId })
    const denied = await fetch(`${api.url}/v1/status`)
    expect(denied.status).toBe(401)
    expect(await denied.json()).toMatchObject({ error: { code: 'ERR_UNAUTHORIZED' } })

    const put = await fetch(`${api.url}/v1/kv/${encodeURIComponent('http/greeting')}`, { method: 'PUT', headers: json, body: JSON.stringify({ text: 'hello' }) })
    expect(put.status).toBe(200)
    expect(await put.json()).toMatchObject({ key: 'http/greeting', dot: { replica: cluster.peers[0]!.peerId } })
    await expect.poll(() => cluster.peers[2]!.kv.get('http/greeting'), { timeout: 15_000 }).toEqual({ text: 'hello' })

    const tooBig = await fetch(`${api.url}/v1/kv/big`, { method: 'PUT', headers: json, body: JSON.stringify('x'.repeat(2 * 1024 * 1024)) })
    expect(tooBig.status).toBe(413)
    expect(await tooBig.json()).toMatchObject({ error: { code: 'ERR_BODY_TOO_LARGE' } })
  })

  it('over a real socket: a watch stream gets the change made on another peer', async () => {
    const controller = new AbortController()
    const response = await fetch(`${api.url}/v1/watch?prefix=${encodeURIComponent('watched/')}`, { headers: auth, signal: controller.signal })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let text = ''
    const until = async (predicate: (t: string) => boolean): Promise<void> => {
      const deadline = Date.now() + 15_000
      while (!predicate(text)) {
        if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(text)}`)
        const { value, done } = await reader.read()
        if (done) throw new Error('stream ended')
        text += decoder.decode(value, { stream: true })
      }
    }
    await until((t) => t.includes(': watching'))
    await cluster.peers[2]!.kv.put('unwatched', 1)
    await cluster.peers[1]!.kv.put('watched/x', { from: 'peer 1' })
    await until((t) => t.includes('"watched/x"'))
    const event = text.split('\n\n').find((block) => block.includes('"watched/x"'))
    expect(event).toMatch(/^event: change\nid: [0-9a-f]+-\d+\ndata: \{"key":"watched\/x","value":\{"from":"peer 1"\},"origin":"remote"\}$/)
    expect(text).not.toContain('unwatched')
    controller.abort()
    await expect.poll(() => api.app.hearsay.watchStats().clients).toBe(0)
  })
})

describe('startApi', () => {
  it('a port that is taken → ERR_API_LISTEN', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    const cluster = await createCluster({ size: 1, durable: false })
    try {
      await expect(startApi(cluster.peers[0]!, { token: TOKEN, logger: false, port })).rejects.toMatchObject({ code: 'ERR_API_LISTEN' })
    } finally {
      blocker.close()
      await cluster.stop()
    }
  })
})
