import { describe, it, expect, afterEach } from 'vitest'
import { connect, type Socket } from 'node:net'
import { get as httpGet } from 'node:http'
import { createPeer, type Peer } from '../../src/index.js'
import { buildApi, startApi, type RunningApi, type WatchOptions } from '../../src/api/index.js'
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

type Block = { event?: string, id?: string, data?: unknown }

/** Every SSE block of a payload, parsed: event name, id and data (comments left out). */
function blocks (payload: string): Block[] {
  // Only complete blocks: the last piece is a block still arriving (or empty).
  return payload.split('\n\n').slice(0, -1).filter((b) => b !== '' && !b.startsWith(':')).map((block) => {
    const out: Block = {}
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) out.event = line.slice(7)
      else if (line.startsWith('id: ')) out.id = line.slice(4)
      else if (line.startsWith('data: ')) out.data = JSON.parse(line.slice(6))
    }
    return out
  })
}

/**
 * Opens a watch on a listening API and reads until `until` holds; then disconnects. Over
 * node:http: fetch (undici) opens a spare connection that the server only drops seconds later.
 */
async function read (api: RunningApi, query: string, headers: Record<string, string>, until: (b: Block[]) => boolean): Promise<Block[]> {
  return await new Promise((resolve, reject) => {
    let text = ''
    const request = httpGet(`${api.url}/v1/watch${query}`, { headers: { ...auth, ...headers } }, (response) => {
      expect(response.statusCode).toBe(200)
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        text += chunk
        if (until(blocks(text))) {
          request.destroy()
          resolve(blocks(text))
        }
      })
      response.on('end', () => { resolve(blocks(text)) })
      response.on('error', () => { resolve(blocks(text)) })
    })
    request.on('error', reject)
  })
}

describe('resuming a watch', () => {
  async function serve (watch: WatchOptions = {}): Promise<{ peer: Peer, api: RunningApi }> {
    const peer = await createPeer({ profile: 'local' })
    await peer.start()
    const api = await startApi(peer, { token: TOKEN, logger: false, watch })
    cleanup.push(async () => { await api.close(); await peer.stop() })
    return { peer, api }
  }

  /** Starts a reader, waits until the API has it, runs `act`, and resolves with what it read. */
  async function during (api: RunningApi, query: string, headers: Record<string, string>, until: (b: Block[]) => boolean, act: () => Promise<void>): Promise<Block[]> {
    const opened = api.app.hearsay.watchStats().opened
    const reading = read(api, query, headers, until)
    await expect.poll(() => api.app.hearsay.watchStats().opened).toBe(opened + 1)
    await act()
    const got = await reading
    await expect.poll(() => api.app.hearsay.watchStats().clients).toBe(0)
    return got
  }

  it('every change has an id; a reconnect with Last-Event-ID gets exactly what it missed under its prefix', async () => {
    const { peer, api } = await serve()
    const seen = await during(api, '?prefix=r%2F', {}, (b) => b.length >= 2, async () => {
      await peer.kv.put('r/1', 1)
      await peer.kv.put('other', 1)
      await peer.kv.put('r/2', 2)
    })
    expect(seen.map((b) => [b.event, (b.data as { key: string }).key])).toEqual([['change', 'r/1'], ['change', 'r/2']])
    expect(seen.every((b) => /^[0-9a-f]+-\d+$/.test(b.id ?? ''))).toBe(true)
    // Gone; meanwhile more changes; back with the id of the first one.
    await peer.kv.put('r/3', 3)
    await peer.kv.delete('r/1')
    const resumed = await during(api, '?prefix=r%2F', { 'last-event-id': seen[0]!.id! }, (b) => b.length >= 4, async () => {
      await peer.kv.put('r/4', 4)
    })
    expect(resumed.map((b) => [b.event, b.data])).toEqual([
      ['change', { key: 'r/2', value: 2, origin: 'local' }],
      ['change', { key: 'r/3', value: 3, origin: 'local' }],
      ['change', { key: 'r/1', origin: 'local', deleted: true }],
      ['change', { key: 'r/4', value: 4, origin: 'local' }]
    ])
    expect(resumed[0]!.id).toBe(seen[1]!.id)
    expect(api.app.hearsay.watchStats()).toMatchObject({ replayed: 3, resets: 0 })
  })

  it('?snapshot=true sends the current entries, then snapshot-end with an id to resume from, then live changes', async () => {
    const { peer, api } = await serve()
    await peer.kv.put('s/a', 'A')
    await peer.kv.increment('s/n', 2)
    await peer.kv.put('t/x', 'not under the prefix')
    const got = await during(api, '?prefix=s%2F&snapshot=true', {}, (b) => b.length >= 4, async () => {
      await peer.kv.put('s/b', 'B')
    })
    expect(got.map((b) => [b.event, b.data])).toEqual([
      ['entry', { key: 's/a', value: 'A' }],
      ['entry', { key: 's/n', value: 2 }],
      ['snapshot-end', { entries: 2 }],
      ['change', { key: 's/b', value: 'B', origin: 'local' }]
    ])
    // The snapshot's id is the point the live changes follow.
    const resumed = await during(api, '?prefix=s%2F', { 'last-event-id': got[2]!.id! }, (b) => b.length >= 1, async () => {})
    expect(resumed.map((b) => b.data)).toEqual([{ key: 's/b', value: 'B', origin: 'local' }])
  })

  it('an id no longer kept, from another API, or garbage: a reset event that says so, then a snapshot', async () => {
    const { peer, api } = await serve({ replayEvents: 2 })
    const seen = await during(api, '', {}, (b) => b.length >= 4, async () => {
      for (const k of ['a', 'b', 'c', 'd']) await peer.kv.put(k, k.toUpperCase())
    })
    for (const id of [seen[0]!.id!, '0badc0de-1', 'not an id']) {
      const got = await during(api, '', { 'last-event-id': id }, (b) => b.some((e) => e.event === 'snapshot-end'), async () => {})
      expect(got[0]).toMatchObject({ event: 'reset', data: { lastEventId: id, reason: expect.any(String) } })
      expect(got.slice(1).map((b) => b.event)).toEqual(['entry', 'entry', 'entry', 'entry', 'snapshot-end'])
      expect(got.at(-1)!.id).toBe(seen[3]!.id)
    }
    expect(api.app.hearsay.watchStats().resets).toBe(3)
    // The newest two are still kept: from the third id, a replay.
    const replay = await during(api, '', { 'last-event-id': seen[2]!.id! }, (b) => b.length >= 1, async () => {})
    expect(replay.map((b) => b.event)).toEqual(['change'])
  })

  it('changes made while nobody watched past the retention are not passed over silently', async () => {
    const { peer, api } = await serve({ retainMs: 50 })
    const seen = await during(api, '', {}, (b) => b.length >= 1, async () => { await peer.kv.put('g/1', 1) })
    await expect.poll(() => api.app.hearsay.watchStats().recording, { timeout: 5_000 }).toBe(false)
    await peer.kv.put('g/2', 2)
    const got = await during(api, '', { 'last-event-id': seen[0]!.id! }, (b) => b.some((e) => e.event === 'snapshot-end'), async () => {})
    expect(got[0]).toMatchObject({ event: 'reset' })
    expect(got.filter((b) => b.event === 'entry').map((b) => b.data)).toEqual([{ key: 'g/1', value: 1 }, { key: 'g/2', value: 2 }])
  })

  it('a snapshot far larger than the live queue is written at the socket\'s pace, not dropped', async () => {
    const { peer, api } = await serve({ maxQueuedEvents: 10 })
    const value = 'x'.repeat(20_000)
    for (let i = 0; i < 400; i++) await peer.kv.put(`big/${String(i).padStart(3, '0')}`, value)
    const got = await during(api, '?snapshot=true', {}, (b) => b.some((e) => e.event === 'change'), async () => {
      await peer.kv.put('after', 1)
    })
    expect(got.filter((b) => b.event === 'entry')).toHaveLength(400)
    expect(got.map((b) => b.event).slice(-2)).toEqual(['snapshot-end', 'change'])
    expect(api.app.hearsay.watchStats().dropped).toBe(0)
  })
})
