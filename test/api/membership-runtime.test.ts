import { describe, it, expect, afterEach } from 'vitest'
import { randomBytes } from 'node:crypto'
import { createPeer, type Peer } from '../../src/index.js'
import { buildApi, type HearsayApi } from '../../src/api/index.js'
import { TOKEN, auth, json, body, type ErrorBody } from './helpers.js'

interface MemberBody { peerId: string, state: string, incarnation: number, tags: Record<string, string>, self: boolean }

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => { for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {}) })

async function peers (n: number): Promise<Peer[]> {
  const network = `rt-${randomBytes(4).toString('hex')}`
  const out: Peer[] = []
  for (let i = 0; i < n; i++) {
    const peer = await createPeer({ profile: 'local', network })
    await peer.start()
    cleanup.push(async () => { await peer.stop({ graceful: false }) })
    out.push(peer)
  }
  return out
}

function api (peer: Peer): HearsayApi {
  const app = buildApi(peer, { token: TOKEN, logger: false })
  cleanup.push(async () => { await app.close() })
  return app
}

const state = (peer: Peer, id: string): string | undefined => peer.members().find((m) => m.peerId === id)?.state

describe('membership at runtime, through inject()', () => {
  it('POST /v1/join joins through an address; a bad one is reported, not fatal; bad input is 400', async () => {
    const [a, b] = await peers(2)
    const app = api(a!)
    const response = await app.inject({ method: 'POST', url: '/v1/join', headers: json, payload: JSON.stringify({ addresses: [b!.addresses()[0], '/ip4/127.0.0.1/tcp/1'] }) })
    expect(response.statusCode).toBe(200)
    const reply = body<{ joined: number, results: Array<{ address: string, peerId?: string, error?: string }> }>(response)
    expect(reply.joined).toBe(1)
    expect(reply.results[0]).toMatchObject({ peerId: b!.peerId })
    expect(reply.results[1]).toMatchObject({ address: '/ip4/127.0.0.1/tcp/1', error: expect.any(String) })
    await expect.poll(() => state(a!, b!.peerId), { timeout: 10_000 }).toBe('alive')
    await expect.poll(() => state(b!, a!.peerId), { timeout: 10_000 }).toBe('alive')
    for (const payload of [{}, { addresses: [] }, { addresses: [''] }, { addresses: ['a'], more: 1 }]) {
      expect((await app.inject({ method: 'POST', url: '/v1/join', headers: json, payload: JSON.stringify(payload) })).statusCode).toBe(400)
    }
  })

  it('PUT /v1/tags sets and deletes tags, which the other member sees; GET /v1/members filters by state and tag', async () => {
    const [a, b] = await peers(2)
    const app = api(a!)
    await a!.join(b!.addresses())
    const put = await app.inject({ method: 'PUT', url: '/v1/tags', headers: json, payload: JSON.stringify({ set: { zone: 'eu', rack: '7' } }) })
    expect(body(put)).toEqual({ tags: { zone: 'eu', rack: '7' } })
    const del = await app.inject({ method: 'PUT', url: '/v1/tags', headers: json, payload: JSON.stringify({ delete: ['rack'], set: { tier: 'gold' } }) })
    expect(body(del)).toEqual({ tags: { zone: 'eu', tier: 'gold' } })
    await expect.poll(() => b!.members().find((m) => m.peerId === a!.peerId)?.tags, { timeout: 10_000 }).toEqual({ zone: 'eu', tier: 'gold' })
    const tooMany = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`t${i}`, 'x']))
    const refused = await app.inject({ method: 'PUT', url: '/v1/tags', headers: json, payload: JSON.stringify({ set: tooMany }) })
    expect(refused.statusCode).toBe(400)
    expect(body<ErrorBody>(refused).error.code).toBe('ERR_INVALID_TAGS')
    expect(a!.members().find((m) => m.self)?.tags).toEqual({ zone: 'eu', tier: 'gold' })

    await expect.poll(() => a!.members().filter((m) => m.state === 'alive').length, { timeout: 10_000 }).toBe(2)
    const get = async (query: string): Promise<string[]> => body<MemberBody[]>(await app.inject({ method: 'GET', url: `/v1/members${query}`, headers: auth })).map((m) => m.peerId)
    expect(await get('?tag=zone%3Deu')).toEqual([a!.peerId])
    expect(await get('?tag=zone%3Deu&tag=tier%3Dsilver')).toEqual([])
    expect((await get('?state=alive')).sort()).toEqual([a!.peerId, b!.peerId].sort())
    expect(await get('?state=dead&state=left')).toEqual([])
    expect((await app.inject({ method: 'GET', url: '/v1/members?state=sleeping', headers: auth })).statusCode).toBe(400)
    expect((await app.inject({ method: 'GET', url: '/v1/members?tag=novalue', headers: auth })).statusCode).toBe(400)
  })

  it('force-leave: a dead member goes left everywhere at once; a live one refutes it', async () => {
    const [a, b, c] = await peers(3)
    const app = api(a!)
    await a!.join([b!.addresses()[0]!, c!.addresses()[0]!])
    await expect.poll(() => [state(a!, b!.peerId), state(a!, c!.peerId), state(b!, c!.peerId)], { timeout: 15_000 }).toEqual(['alive', 'alive', 'alive'])
    // c crashes: a and b see it dead after the suspicion timeout.
    await c!.stop({ graceful: false })
    await expect.poll(() => [state(a!, c!.peerId), state(b!, c!.peerId)], { timeout: 20_000 }).toEqual(['dead', 'dead'])
    const forced = await app.inject({ method: 'POST', url: `/v1/members/${c!.peerId}/force-leave`, headers: auth })
    expect(forced.statusCode).toBe(200)
    expect(body<MemberBody>(forced)).toMatchObject({ peerId: c!.peerId, state: 'left' })
    await expect.poll(() => state(b!, c!.peerId), { timeout: 10_000 }).toBe('left')

    // b is alive: it hears the force-leave and refutes it with a higher incarnation.
    const before = a!.members().find((m) => m.peerId === b!.peerId)!.incarnation
    const live = await app.inject({ method: 'POST', url: `/v1/members/${b!.peerId}/force-leave`, headers: auth })
    expect(body<MemberBody>(live).state).toBe('left')
    await expect.poll(() => a!.members().find((m) => m.peerId === b!.peerId), { timeout: 10_000 }).toMatchObject({ state: 'alive' })
    expect(a!.members().find((m) => m.peerId === b!.peerId)!.incarnation).toBeGreaterThan(before)

    const self = await app.inject({ method: 'POST', url: `/v1/members/${a!.peerId}/force-leave`, headers: auth })
    expect(self.statusCode).toBe(400)
    expect(body<ErrorBody>(self).error.message).toContain('/v1/leave')
    const unknown = await app.inject({ method: 'POST', url: '/v1/members/12D3KooWRco1nneqv127gRVUd1nHMQL7D7h47VMVHKtzJR5gNVNK/force-leave', headers: auth })
    expect(unknown.statusCode).toBe(404)
    expect(body<ErrorBody>(unknown).error.code).toBe('ERR_MEMBER_NOT_FOUND')
    expect((await app.inject({ method: 'POST', url: '/v1/members/not-a-peer/force-leave', headers: auth })).statusCode).toBe(400)
  })

  it('POST /v1/leave answers, then the peer leaves gracefully: the others see it left at once', async () => {
    const [a, b] = await peers(2)
    const app = api(a!)
    await a!.join(b!.addresses())
    await expect.poll(() => state(b!, a!.peerId), { timeout: 10_000 }).toBe('alive')
    const response = await app.inject({ method: 'POST', url: '/v1/leave', headers: auth })
    expect(response.statusCode).toBe(200)
    expect(body(response)).toEqual({ leaving: true, peerId: a!.peerId })
    await expect.poll(() => a!.isRunning(), { timeout: 10_000 }).toBe(false)
    await expect.poll(() => state(b!, a!.peerId), { timeout: 10_000 }).toBe('left')
  })
})
