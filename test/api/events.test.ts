import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPeer, type UserEvent } from '../../src/index.js'
import { startApi } from '../../src/api/index.js'
import { auth, body, json, startPeerWithApi, TOKEN, type ErrorBody, type Fixture } from './helpers.js'

/** The user events in an SSE payload. */
function userEvents (payload: string): UserEvent[] {
  return payload.split('\n\n')
    .filter((block) => block.startsWith('event: user\n'))
    .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 'data: '.length)) as UserEvent)
}

describe('user events and queries through inject()', () => {
  let f: Fixture
  const seen: UserEvent[] = []
  beforeAll(async () => {
    f = await startPeerWithApi({ watch: { keepAliveMs: 20 } }, { events: { burst: 3, ratePerSecond: 0.001 } })
    f.peer.events.addEventListener('user', (e) => { seen.push(e.detail) })
  })
  afterAll(async () => { await f.close() })

  it('POST /v1/events/:name sends the JSON body as the payload; no body sends null', async () => {
    const response = await f.app.inject({ method: 'POST', url: '/v1/events/deploy', headers: json, payload: '{"version":3}' })
    expect(response.statusCode).toBe(200)
    const receipt = body<{ id: string, name: string, at: number, recipients: number }>(response)
    expect(receipt).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'deploy', at: expect.any(Number), recipients: 0 })
    expect(seen.at(-1)).toEqual({ name: 'deploy', payload: { version: 3 }, from: f.peer.peerId, id: receipt.id, at: receipt.at })

    const empty = await f.app.inject({ method: 'POST', url: '/v1/events/ping', headers: auth })
    expect(empty.statusCode).toBe(200)
    expect(seen.at(-1)).toMatchObject({ name: 'ping', payload: null })
  })

  it('refuses a bad name, a payload over 64 KiB or nested too deep, and a sender past its rate, sending nothing', async () => {
    const sent = f.peer.diagnostics.stats().events.eventsSent
    const cases: Array<[string, string, number, string]> = [
      ['/v1/events/a%20b', '1', 400, 'ERR_INVALID_EVENT_NAME'],
      [`/v1/events/${'n'.repeat(129)}`, '1', 400, 'ERR_INVALID_EVENT_NAME'],
      ['/v1/events/big', JSON.stringify('x'.repeat(64 * 1024)), 413, 'ERR_EVENT_TOO_LARGE'],
      ['/v1/events/deep', '['.repeat(65) + ']'.repeat(65), 400, 'ERR_INVALID_PAYLOAD'],
      ['/v1/events/bad-json', '{', 400, 'ERR_BAD_JSON']
    ]
    for (const [url, payload, status, code] of cases) {
      const response = await f.app.inject({ method: 'POST', url, headers: json, payload })
      expect(response.statusCode, url).toBe(status)
      expect(body<ErrorBody>(response).error.code, url).toBe(code)
    }
    expect(f.peer.diagnostics.stats().events.eventsSent).toBe(sent)

    // The burst is 3 and two went out above: one more, then 429.
    expect((await f.app.inject({ method: 'POST', url: '/v1/events/third', headers: json, payload: '3' })).statusCode).toBe(200)
    const limited = await f.app.inject({ method: 'POST', url: '/v1/events/fourth', headers: json, payload: '4' })
    expect(limited.statusCode).toBe(429)
    expect(body<ErrorBody>(limited).error).toMatchObject({ code: 'ERR_RATE_LIMITED', message: expect.stringMatching(/wait a moment/) })
    expect(seen.some((e) => e.name === 'fourth')).toBe(false)
  })

  it('POST /v1/queries/:name answers with the handlers\' answers and who did not answer', async () => {
    const off = f.peer.events.onQuery('load', (payload) => ({ cpu: 0.25, echo: payload }))
    try {
      const response = await f.app.inject({ method: 'POST', url: '/v1/queries/load?timeout=2000', headers: json, payload: '{"detail":1}' })
      expect(response.statusCode).toBe(200)
      expect(body(response)).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        name: 'load',
        responses: [{ peerId: f.peer.peerId, payload: { cpu: 0.25, echo: { detail: 1 } } }],
        missing: []
      })
    } finally {
      off()
    }
    const unanswered = await f.app.inject({ method: 'POST', url: '/v1/queries/nobody?timeout=50', headers: auth })
    expect(body(unanswered)).toMatchObject({ name: 'nobody', responses: [], missing: [f.peer.peerId] })

    const failing = f.peer.events.onQuery('fails', () => { throw new Error('no disk') })
    try {
      const response = await f.app.inject({ method: 'POST', url: '/v1/queries/fails', headers: auth })
      expect(body(response)).toMatchObject({ responses: [{ peerId: f.peer.peerId, error: 'no disk' }], missing: [] })
    } finally {
      failing()
    }
  })

  it('a query\'s timeout is 1 to 60,000 ms, and its name is checked', async () => {
    for (const url of ['/v1/queries/load?timeout=0', '/v1/queries/load?timeout=60001', '/v1/queries/load?timeout=soon', '/v1/queries/load?colour=blue']) {
      const response = await f.app.inject({ method: 'POST', url, headers: auth })
      expect(response.statusCode, url).toBe(400)
      expect(body<ErrorBody>(response).error.code, url).toBe('ERR_BAD_REQUEST')
    }
    const badName = await f.app.inject({ method: 'POST', url: '/v1/queries/%2Fetc', headers: auth })
    expect(body<ErrorBody>(badName).error.code).toBe('ERR_INVALID_EVENT_NAME')
  })

  it('the routes need the token; the stream stays open until the API closes', async () => {
    const streaming = f.app.inject({ method: 'GET', url: '/v1/events?type=user', headers: auth })
    await expect.poll(() => f.app.hearsay.streamStats().clients).toBe(1)
    for (const url of ['/v1/events', '/v1/events/x', '/v1/queries/x']) {
      const anonymous = await f.app.inject({ method: url === '/v1/events' ? 'GET' : 'POST', url })
      expect(anonymous.statusCode, url).toBe(401)
    }
    await f.app.close()
    const response = await streaming
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(userEvents(response.body)).toEqual([])
    expect(f.app.hearsay.streamStats()).toMatchObject({ clients: 0, opened: 1, eventsSent: 0 })
  })
})

describe('GET /v1/events carries every user event', () => {
  let f: Fixture
  beforeAll(async () => { f = await startPeerWithApi({ watch: { keepAliveMs: 20 } }) })
  afterAll(async () => { await f.peer.stop() })

  it('one `event: user` per event, in order, and nothing for queries, until the API closes', async () => {
    const streaming = f.app.inject({ method: 'GET', url: '/v1/events?type=user', headers: auth })
    await expect.poll(() => f.app.hearsay.streamStats().clients).toBe(1)
    const first = await f.peer.events.publish('deploy', { version: 1 })
    // A query is not an event: it does not appear on the stream.
    const off = f.peer.events.onQuery('q', () => 1)
    expect((await f.peer.events.query('q', null, { timeout: 1_000 })).responses).toHaveLength(1)
    off()
    await f.app.inject({ method: 'POST', url: '/v1/events/restart', headers: json, payload: '"web"' })
    await expect.poll(() => f.app.hearsay.streamStats().eventsSent).toBe(2)
    await f.app.close()
    const response = await streaming
    const events = userEvents(response.body)
    expect(events.map((e) => [e.name, e.payload])).toEqual([['deploy', { version: 1 }], ['restart', 'web']])
    expect(events[0]).toEqual({ name: 'deploy', payload: { version: 1 }, from: f.peer.peerId, id: first.id, at: first.at })
    expect(f.app.hearsay.streamStats()).toMatchObject({ clients: 0, opened: 1, dropped: 0, eventsSent: 2 })
  })
})

describe('events in status and metrics', () => {
  let f: Fixture
  beforeAll(async () => { f = await startPeerWithApi() })
  afterAll(async () => { await f.close() })

  it('GET /v1/status has the events counters; GET /metrics has hearsay_user_* series', async () => {
    await f.peer.events.publish('counted', 1)
    const status = body<{ stats: { events: Record<string, number> } }>(await f.app.inject({ method: 'GET', url: '/v1/status', headers: auth }))
    expect(status.stats.events).toEqual(f.peer.diagnostics.stats().events)
    expect(status.stats.events.eventsSent).toBe(1)
    const metrics = (await f.app.inject({ method: 'GET', url: '/metrics', headers: auth })).body
    expect(metrics).toContain('hearsay_user_events_total{direction="sent"} 1')
    expect(metrics).toContain('hearsay_user_events_total{direction="received"} 0')
    expect(metrics).toContain('hearsay_user_messages_dropped_total{reason="bad_signature"} 0')
    expect(metrics).toContain('hearsay_user_query_answers_total{outcome="late"} 0')
  })
})

describe('GET /v1/events over a real socket', () => {
  it('a client that never reads is dropped once its queue is full; one that reads gets every event', async () => {
    const peer = await createPeer({ profile: 'local', events: { burst: 10_000, ratePerSecond: 10_000 } })
    await peer.start()
    const api = await startApi(peer, { token: TOKEN, logger: false, watch: { maxQueuedEvents: 10, keepAliveMs: 60_000 } })
    try {
      const { port } = new URL(api.url)
      const reader = await fetch(`${api.url}/v1/events`, { headers: auth })
      expect(reader.status).toBe(200)
      const received: string[] = []
      const decoder = new TextDecoder()
      const readAll = (async () => {
        for await (const chunk of reader.body as AsyncIterable<Uint8Array>) received.push(decoder.decode(chunk, { stream: true }))
      })().catch(() => {})

      const slow: Socket = connect(Number(port), '127.0.0.1')
      await new Promise<void>((resolve) => slow.once('connect', () => { resolve() }))
      slow.pause()
      let closed = false
      slow.on('close', () => { closed = true })
      slow.on('error', () => {})
      slow.write(`GET /v1/events?type=user HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
      await expect.poll(() => api.app.hearsay.streamStats().clients).toBe(2)

      // 60 KiB payloads: the socket buffers fill after some MiB, then events queue, then the drop.
      const payload = 'e'.repeat(60 * 1024)
      let sent = 0
      while (api.app.hearsay.streamStats().dropped === 0 && sent < 5_000) {
        await peer.events.publish('bulk', { n: sent++, payload })
        // Let the fast reader keep up, as a live client would.
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
      expect(api.app.hearsay.streamStats()).toMatchObject({ dropped: 1, clients: 1 })
      slow.resume()
      await expect.poll(() => closed, { timeout: 10_000 }).toBe(true)
      await expect.poll(() => userEvents(received.join('')).length, { timeout: 10_000 }).toBe(sent)
      expect(userEvents(received.join('')).map((e) => (e.payload as { n: number }).n)).toEqual([...Array(sent).keys()])
      await api.close()
      await readAll
    } finally {
      await api.close()
      await peer.stop()
    }
  }, 60_000)
})
