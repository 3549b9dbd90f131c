import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { startPeerWithApi, auth, json, body, type ErrorBody, type Fixture } from './helpers.js'

interface TypedReply { key: string, type: string | null, value: unknown, changed: boolean, dot?: { replica: string, seq: number } }

describe('typed values over HTTP: counters and sets', () => {
  let f: Fixture
  beforeAll(async () => { f = await startPeerWithApi() })
  afterAll(async () => { await f.close() })

  const post = async (url: string, payload: unknown) => f.app.inject({ method: 'POST', url, headers: json, payload: JSON.stringify(payload) })

  it('POST /v1/counter/:key adds (default 1), subtracts with a negative by, and answers the total with the write\'s dot', async () => {
    const first = await post('/v1/counter/hits', {})
    expect(first.statusCode).toBe(200)
    expect(body<TypedReply>(first)).toMatchObject({ key: 'hits', type: 'counter', value: 1, changed: true, dot: { replica: f.peer.peerId } })
    expect(body<TypedReply>(await post('/v1/counter/hits', { by: 5 }))).toMatchObject({ value: 6 })
    const down = body<TypedReply>(await post('/v1/counter/hits', { by: -2.5 }))
    expect(down).toMatchObject({ value: 3.5, type: 'counter' })
    expect(down.dot!.seq).toBeGreaterThan(body<TypedReply>(first).dot!.seq)
    expect(f.peer.kv.get('hits')).toBe(3.5)
    const get = await f.app.inject({ method: 'GET', url: '/v1/kv/hits', headers: auth })
    expect(body(get)).toEqual({ key: 'hits', type: 'counter', value: 3.5 })
  })

  it('POST /v1/set/:key adds and removes any JSON element; removing one it does not hold changes nothing', async () => {
    expect(body<TypedReply>(await post('/v1/set/tags', { add: 'b' }))).toMatchObject({ key: 'tags', type: 'set', value: ['b'], changed: true })
    expect(body<TypedReply>(await post('/v1/set/tags', { add: { zone: 'a' } }))).toMatchObject({ value: ['b', { zone: 'a' }] })
    expect(body<TypedReply>(await post('/v1/set/tags', { remove: 'b' }))).toMatchObject({ value: [{ zone: 'a' }], changed: true })
    const digest = f.peer.kv.digest()
    const none = body<TypedReply>(await post('/v1/set/tags', { remove: 'never-added' }))
    expect(none).toEqual({ key: 'tags', type: 'set', value: [{ zone: 'a' }], changed: false })
    expect(f.peer.kv.digest()).toBe(digest)
    expect(body(await f.app.inject({ method: 'GET', url: '/v1/kv/tags', headers: auth }))).toEqual({ key: 'tags', type: 'set', value: [{ zone: 'a' }] })
  })

  it('the wrong type is 409 ERR_WRONG_TYPE and changes nothing', async () => {
    await f.peer.kv.put('plain', 'text')
    await f.peer.kv.increment('count')
    await f.peer.kv.setAdd('members', 1)
    const digest = f.peer.kv.digest()
    for (const [url, payload] of [['/v1/counter/plain', { by: 1 }], ['/v1/set/plain', { add: 1 }], ['/v1/set/count', { add: 1 }], ['/v1/counter/members', { by: -1 }]] as const) {
      const response = await post(url, payload)
      expect(response.statusCode, url).toBe(409)
      expect(body<ErrorBody>(response).error.code).toBe('ERR_WRONG_TYPE')
      expect(body<ErrorBody>(response).error.message).toMatch(/holds a (register|counter|set)/)
    }
    expect(f.peer.kv.digest()).toBe(digest)
  })

  it('bad input is 400 naming the field, and changes nothing', async () => {
    const digest = f.peer.kv.digest()
    for (const [url, payload, field] of [
      ['/v1/counter/c', { by: 0 }, 'body.by'],
      ['/v1/counter/c', { by: 'many' }, 'body.by'],
      ['/v1/counter/c', { by: 1, extra: true }, 'unknown parameter "extra"'],
      ['/v1/set/s', {}, 'body must NOT have fewer than 1 properties'],
      ['/v1/set/s', { add: 1, remove: 2 }, 'body must NOT have more than 1 properties'],
      ['/v1/set/s', { put: 1 }, 'unknown parameter "put"']
    ] as const) {
      const response = await post(url, payload)
      expect(response.statusCode, JSON.stringify(payload)).toBe(400)
      expect(body<ErrorBody>(response).error).toMatchObject({ code: 'ERR_BAD_REQUEST' })
      expect(body<ErrorBody>(response).error.message).toContain(field)
    }
    const tooLong = await post(`/v1/counter/${'k'.repeat(1025)}`, { by: 1 })
    expect(body<ErrorBody>(tooLong).error.code).toBe('ERR_KEY_TOO_LONG')
    expect(f.peer.kv.digest()).toBe(digest)
  })
})
