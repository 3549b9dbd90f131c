import { describe, it, expect, afterEach } from 'vitest'
import { buildApi, type HearsayApi } from '../../src/api/index.js'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { startPeerWithApi, auth, json, body, TOKEN, type ErrorBody, type Fixture } from './helpers.js'

let fixture: Fixture | undefined
let cluster: Cluster | undefined
let app: HearsayApi | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
  await fixture?.close()
  fixture = undefined
  await cluster?.stop()
  cluster = undefined
})

describe('the --test-faults routes', () => {
  it('do not exist unless the API is built with testFaults', async () => {
    fixture = await startPeerWithApi()
    for (const [method, url] of [['GET', '/v1/test/partition'], ['POST', '/v1/test/partition'], ['POST', '/v1/test/heal'], ['POST', '/v1/test/counter/c'], ['POST', '/v1/test/set/s']] as const) {
      const response = await fixture.app.inject({ method, url, headers: json, payload: '{}' })
      expect(response.statusCode, `${method} ${url}`).toBe(404)
      expect(body<ErrorBody>(response).error.code).toBe('ERR_NOT_FOUND')
    }
    expect(fixture.app.hearsay.routes.some((r) => r.url.startsWith('/v1/test/'))).toBe(false)
  })

  it('need the token like every other route', async () => {
    fixture = await startPeerWithApi({ testFaults: true })
    const response = await fixture.app.inject({ method: 'POST', url: '/v1/test/heal' })
    expect(response.statusCode).toBe(401)
    expect(fixture.peer.net.blocked()).toEqual([])
  })

  it('partition cuts a real connection and heal lets the peers find each other again', async () => {
    cluster = await createCluster({ size: 2 })
    await cluster.converged({ timeout: 30_000 })
    const [a, b] = cluster.peers as [typeof cluster.peers[0], typeof cluster.peers[0]]
    app = buildApi(a, { token: TOKEN, logger: false, testFaults: true })
    const cut = await app.inject({ method: 'POST', url: '/v1/test/partition', headers: json, payload: JSON.stringify({ deny: [b.peerId] }) })
    expect(cut.statusCode).toBe(200)
    expect(body(cut)).toEqual({ deny: [b.peerId] })
    expect(a.net.isConnected(b.peerId)).toBe(false)
    await expect(a.net.dial(b.addresses()[0]!)).rejects.toThrow()
    const listed = await app.inject({ method: 'GET', url: '/v1/test/partition', headers: auth })
    expect(body(listed)).toEqual({ deny: [b.peerId] })
    // The list is replaced, not added to: an empty list lifts the block.
    const again = await app.inject({ method: 'POST', url: '/v1/test/partition', headers: json, payload: JSON.stringify({ deny: [] }) })
    expect(body(again)).toEqual({ deny: [] })
    await app.inject({ method: 'POST', url: '/v1/test/partition', headers: json, payload: JSON.stringify({ deny: [b.peerId] }) })
    const healed = await app.inject({ method: 'POST', url: '/v1/test/heal', headers: auth })
    expect(healed.statusCode).toBe(200)
    expect(body(healed)).toEqual({ deny: [] })
    await b.kv.put('after-heal', 1)
    await cluster.converged({ timeout: 30_000 })
    expect(a.kv.get('after-heal')).toBe(1)
  })

  it('refuse a bad deny list and change nothing', async () => {
    fixture = await startPeerWithApi({ testFaults: true })
    const f = fixture
    const cases = [{ deny: [f.peer.peerId] }, { deny: ['not-a-peer-id'] }, { deny: 'x' }, {}, { deny: [], extra: 1 }]
    for (const payload of cases) {
      const response = await f.app.inject({ method: 'POST', url: '/v1/test/partition', headers: json, payload: JSON.stringify(payload) })
      expect(response.statusCode, JSON.stringify(payload)).toBe(400)
      expect(body<ErrorBody>(response).error.code).toBe('ERR_BAD_REQUEST')
    }
    expect(f.peer.net.blocked()).toEqual([])
  })

  it('counter and set writes answer with their dot once written', async () => {
    fixture = await startPeerWithApi({ testFaults: true })
    const f = fixture
    for (const by of [1, 2.5]) {
      const response = await f.app.inject({ method: 'POST', url: '/v1/test/counter/hits', headers: json, payload: JSON.stringify({ by }) })
      expect(response.statusCode).toBe(200)
      expect(body<{ dot: { replica: string } }>(response).dot.replica).toBe(f.peer.peerId)
    }
    expect(f.peer.kv.get('hits')).toBe(3.5)
    for (const add of ['x', { y: 1 }, null]) {
      const response = await f.app.inject({ method: 'POST', url: '/v1/test/set/tags', headers: json, payload: JSON.stringify({ add }) })
      expect(response.statusCode).toBe(200)
    }
    expect(f.peer.kv.get('tags')).toEqual(['x', null, { y: 1 }])
    for (const payload of [{ by: 0 }, { by: -1 }, { by: 'one' }, {}]) {
      const response = await f.app.inject({ method: 'POST', url: '/v1/test/counter/hits', headers: json, payload: JSON.stringify(payload) })
      expect(response.statusCode, JSON.stringify(payload)).toBe(400)
    }
    const wrong = await f.app.inject({ method: 'POST', url: '/v1/test/counter/tags', headers: json, payload: JSON.stringify({ by: 1 }) })
    expect(wrong.statusCode).toBe(409)
    expect(body<ErrorBody>(wrong).error.code).toBe('ERR_WRONG_TYPE')
    expect(f.peer.kv.get('hits')).toBe(3.5)
    expect(f.peer.kv.get('tags')).toEqual(['x', null, { y: 1 }])
  })

  it('a set remove answers with its dot, or changed: false when this peer holds no add of the element', async () => {
    fixture = await startPeerWithApi({ testFaults: true })
    const f = fixture
    const post = async (payload: unknown): Promise<{ statusCode: number, answer: { key: string, changed: boolean, dot?: { replica: string, seq: number } } }> => {
      const response = await f.app.inject({ method: 'POST', url: '/v1/test/set/tags', headers: json, payload: JSON.stringify(payload) })
      return { statusCode: response.statusCode, answer: body(response) }
    }
    const added = await post({ add: 'x' })
    expect(added.answer).toMatchObject({ key: 'tags', changed: true, dot: { replica: f.peer.peerId } })
    await post({ add: 'y' })
    const removed = await post({ remove: 'x' })
    expect(removed.statusCode).toBe(200)
    expect(removed.answer).toMatchObject({ key: 'tags', changed: true, dot: { replica: f.peer.peerId } })
    expect(removed.answer.dot!.seq).toBeGreaterThan(added.answer.dot!.seq)
    expect(f.peer.kv.get('tags')).toEqual(['y'])
    // No dot: nothing was written.
    expect(await post({ remove: 'x' })).toEqual({ statusCode: 200, answer: { key: 'tags', changed: false } })
    for (const payload of [{}, { add: 'z', remove: 'y' }, { delete: 'y' }]) {
      expect((await post(payload)).statusCode, JSON.stringify(payload)).toBe(400)
    }
    expect(f.peer.kv.get('tags')).toEqual(['y'])
  })
})
