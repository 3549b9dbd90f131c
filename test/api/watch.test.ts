import { describe, it, expect, afterEach } from 'vitest'
import { connect, type Socket } from 'node:net'
import { createPeer, type Peer } from '../../src/index.js'
import { buildApi, startApi, type RunningApi } from '../../src/api/index.js'
import { startPeerWithApi, auth, TOKEN, type Fixture } from './helpers.js'

interface Change { key: string, value: unknown, origin: string, deleted?: boolean }

/** The change events in an SSE payload. */
function changes (payload: string): Change[] {
  return payload.split('\n\n')
    .filter((block) => block.startsWith('event: change\n'))
    .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 'data: '.length)) as Change)
}

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

describe('GET /v1/watch through inject()', () => {
  let f: Fixture

  it('streams one change event per change under the prefix, deletes included, until the API closes', async () => {
    f = await startPeerWithApi({ watch: { keepAliveMs: 20 } })
    cleanup.push(async () => { await f.peer.stop() })
    const streaming = f.app.inject({ method: 'GET', url: '/v1/watch?prefix=w%2F', headers: auth })
    await expect.poll(() => f.app.hearsay.watchStats().clients).toBe(1)
    await f.peer.kv.put('w/1', { n: 1 })
    await f.peer.kv.put('elsewhere', 2)
    await f.peer.kv.put('w/2', 'two')
    await f.peer.kv.delete('w/1')
    // Every change written, and an idle moment long enough for a keep-alive line after them.
    await expect.poll(() => f.app.hearsay.watchStats().eventsSent).toBe(3)
    const keepAlives = f.app.hearsay.watchStats().keepAlivesSent
    await expect.poll(() => f.app.hearsay.watchStats().keepAlivesSent).toBeGreaterThan(keepAlives)
    await f.app.close()
    const response = await streaming
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(response.headers['cache-control']).toContain('no-cache')
    expect(changes(response.body)).toEqual([
      { key: 'w/1', value: { n: 1 }, origin: 'local' },
      { key: 'w/2', value: 'two', origin: 'local' },
      { key: 'w/1', origin: 'local', deleted: true }
    ])
    expect(response.body).toContain(': keep-alive\n\n')
    expect(f.app.hearsay.watchStats()).toMatchObject({ clients: 0, opened: 1, dropped: 0, eventsSent: 3 })
  })

  it('the stream ends when the peer stops', async () => {
    f = await startPeerWithApi({ watch: { keepAliveMs: 20 } })
    cleanup.push(async () => { await f.app.close() })
    const streaming = f.app.inject({ method: 'GET', url: '/v1/watch', headers: auth })
    await expect.poll(() => f.app.hearsay.watchStats().clients).toBe(1)
    await f.peer.kv.put('any', 1)
    await f.peer.stop()
    const response = await streaming
    expect(changes(response.body)).toEqual([{ key: 'any', value: 1, origin: 'local' }])
    expect(f.app.hearsay.watchStats().clients).toBe(0)
  })

  it('needs the token, and validates its query', async () => {
    f = await startPeerWithApi()
    cleanup.push(f.close)
    const anonymous = await f.app.inject({ method: 'GET', url: '/v1/watch' })
    expect(anonymous.statusCode).toBe(401)
    const bad = await f.app.inject({ method: 'GET', url: '/v1/watch?prefix=a&since=3', headers: auth })
    expect(bad.statusCode).toBe(400)
    expect(f.app.hearsay.watchStats().opened).toBe(0)
  })
})

describe('GET /v1/watch over a real socket', () => {
  it('a client that never reads is dropped once its queue is full; memory stays bounded', async () => {
    const peer: Peer = await createPeer({ profile: 'local' })
    await peer.start()
    const api: RunningApi = await startApi(peer, { token: TOKEN, logger: false, watch: { maxQueuedEvents: 10, keepAliveMs: 60_000 } })
    cleanup.push(async () => { await api.close(); await peer.stop() })
    const { port } = new URL(api.url)

    // A well-behaved client, reading everything.
    const reader = await fetch(`${api.url}/v1/watch?prefix=slow%2F`, { headers: auth })
    expect(reader.status).toBe(200)
    const received: string[] = []
    const decoder = new TextDecoder()
    const readAll = (async () => {
      for await (const chunk of reader.body as AsyncIterable<Uint8Array>) received.push(decoder.decode(chunk, { stream: true }))
    })().catch(() => {})

    // A client that sends its request and then never reads a byte.
    const slow: Socket = connect(Number(port), '127.0.0.1')
    await new Promise<void>((resolve) => slow.once('connect', () => { resolve() }))
    slow.pause()
    let closed = false
    slow.on('close', () => { closed = true })
    slow.on('error', () => {})
    slow.write(`GET /v1/watch?prefix=slow%2F HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
    await expect.poll(() => api.app.hearsay.watchStats().clients).toBe(2)

    // 256 KiB values: the socket buffers fill after some MiB, then events queue, then the drop.
    const value = 'v'.repeat(256 * 1024)
    let writes = 0
    while (api.app.hearsay.watchStats().dropped === 0 && writes < 2_000) {
      await peer.kv.put(`slow/${writes++}`, value)
      // Let the fast reader keep up, as a live client would.
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const stats = api.app.hearsay.watchStats()
    expect(stats.dropped).toBe(1)
    expect(stats.clients).toBe(1)
    // What waits now is only the live reader's, within the same bound, and it drains.
    expect(stats.queuedEvents).toBeLessThanOrEqual(10)
    await expect.poll(() => api.app.hearsay.watchStats().queuedEvents, { timeout: 10_000 }).toBe(0)
    // It never had more waiting than the limit allows (the one over it triggers the drop).
    expect(stats.maxQueuedEventsSeen).toBeLessThanOrEqual(11)
    // The server closed the connection: once the client reads, it sees the end.
    slow.resume()
    await expect.poll(() => closed, { timeout: 10_000 }).toBe(true)
    // The reader that kept up is still there and got every event.
    await expect.poll(() => changes(received.join('')).length, { timeout: 10_000 }).toBe(writes)
    const metrics = await fetch(`${api.url}/metrics`, { headers: auth })
    expect(await metrics.text()).toMatch(/^hearsay_watch_clients_dropped_total 1$/m)
    await api.close()
    await readAll
  })
})

describe('watch options', () => {
  it('refuses a non-positive limit', async () => {
    const peer = await createPeer({ profile: 'local' })
    expect(() => buildApi(peer, { token: TOKEN, logger: false, watch: { maxQueuedEvents: 0 } })).toThrow(/maxQueuedEvents/)
    expect(() => buildApi(peer, { token: TOKEN, logger: false, watch: { keepAliveMs: -1 } })).toThrow(/keepAliveMs/)
  })
})

describe('closing the API', () => {
  it('close() is prompt with a kept-alive client connection and an open watch stream, which it ends', async () => {
    const peer = await createPeer({ profile: 'local' })
    await peer.start()
    cleanup.push(async () => { await peer.stop() })
    const api = await startApi(peer, { token: TOKEN, logger: false })
    const status = await fetch(`${api.url}/v1/status`, { headers: auth })
    expect(status.status).toBe(200)
    await status.json()
    const watching = await fetch(`${api.url}/v1/watch`, { headers: auth })
    const text = watching.text()
    await expect.poll(() => api.app.hearsay.watchStats().clients).toBe(1)
    const started = Date.now()
    await api.close()
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(await text).toContain(': watching ""')
    expect(api.app.hearsay.watchStats().clients).toBe(0)
  })
})
