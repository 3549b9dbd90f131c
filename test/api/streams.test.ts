import { describe, it, expect, afterEach } from 'vitest'
import { connect, type Socket } from 'node:net'
import { get as httpGet, type IncomingMessage } from 'node:http'
import { createPeer, type Peer } from '../../src/index.js'
import { startApi, type ApiOptions, type PeerEventSource, type RunningApi } from '../../src/api/index.js'
import { createCliLogger } from '../../src/cli/logger.js'
import { auth, TOKEN, body, type ErrorBody } from './helpers.js'

type Block = { event?: string, data?: string }

function blocks (payload: string): Block[] {
  return payload.split('\n\n').slice(0, -1).filter((b) => b !== '' && !b.startsWith(':')).map((block) => {
    const out: Block = {}
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) out.event = line.slice(7)
      else if (line.startsWith('data: ')) out.data = line.slice(6)
    }
    return out
  })
}

/** A stream being read over node:http: what arrived so far, and `close()`. */
function open (api: RunningApi, path: string): Promise<{ response: IncomingMessage, text: () => string, close: () => void }> {
  return new Promise((resolve, reject) => {
    let text = ''
    const request = httpGet(`${api.url}${path}`, { headers: auth }, (response) => {
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { text += chunk })
      response.on('error', () => {})
      resolve({ response, text: () => text, close: () => { request.destroy() } })
    })
    request.on('error', reject)
  })
}

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => { for (const fn of cleanup.splice(0).reverse()) await fn() })

async function serve (options: Partial<ApiOptions> = {}, peerOptions: Parameters<typeof createPeer>[0] = {}): Promise<{ peer: Peer, api: RunningApi }> {
  const peer = await createPeer({ profile: 'local', ...peerOptions })
  await peer.start()
  const api = await startApi(peer, { token: TOKEN, logger: false, ...options })
  cleanup.push(async () => { await api.close(); await peer.stop() })
  return { peer, api }
}

describe('GET /v1/events', () => {
  it('streams member changes and leader changes as they happen', async () => {
    const { peer, api } = await serve()
    const stream = await open(api, '/v1/events')
    expect(stream.response.statusCode).toBe(200)
    expect(stream.response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    await expect.poll(() => api.app.hearsay.streamStats().clients).toBe(1)
    await peer.setTags({ zone: 'b' })
    // Alone, the peer elects itself soon.
    await expect.poll(() => blocks(stream.text()).some((b) => b.event === 'leader'), { timeout: 20_000 }).toBe(true)
    await expect.poll(() => blocks(stream.text()).some((b) => b.event === 'member'), { timeout: 5_000 }).toBe(true)
    const events = blocks(stream.text()).map((b) => ({ event: b.event, data: JSON.parse(b.data!) as Record<string, unknown> }))
    expect(events.find((e) => e.event === 'member')?.data).toMatchObject({ change: 'update', member: { peerId: peer.peerId, tags: { zone: 'b' }, self: true } })
    expect(events.find((e) => e.event === 'leader')?.data).toMatchObject({ leader: { peerId: peer.peerId, term: expect.any(Number) } })
    stream.close()
    await expect.poll(() => api.app.hearsay.streamStats().clients).toBe(0)
  })

  it('?type= keeps only those kinds; an unknown kind is 400 naming it; the token is needed', async () => {
    const { peer, api } = await serve()
    const stream = await open(api, '/v1/events?type=member')
    await expect.poll(() => api.app.hearsay.streamStats().clients).toBe(1)
    await peer.setTags({ round: '1' })
    await expect.poll(() => peer.leader(), { timeout: 20_000 }).toBeDefined()
    await peer.setTags({ round: '2' })
    await expect.poll(() => blocks(stream.text()).length, { timeout: 5_000 }).toBe(2)
    expect(blocks(stream.text()).map((b) => b.event)).toEqual(['member', 'member'])
    stream.close()
    const bad = await api.app.inject({ method: 'GET', url: '/v1/events?type=gossip', headers: auth })
    expect(bad.statusCode).toBe(400)
    expect(body<ErrorBody>(bad).error.message).toContain('querystring.type')
    expect((await api.app.inject({ method: 'GET', url: '/v1/events' })).statusCode).toBe(401)
  })

  it('takes more kinds of event through eventSources; a client that does not read is dropped, the others are not', async () => {
    let emit: ((data: unknown) => void) | undefined
    const source: PeerEventSource = { type: 'test', subscribe: (_peer, e) => { emit = e; return () => { emit = undefined } } }
    const { api } = await serve({ eventSources: [source], watch: { maxQueuedEvents: 5 } })
    const reader = await open(api, '/v1/events?type=test')
    await expect.poll(() => emit).toBeDefined()
    const fanOut: Array<(data: unknown) => void> = []
    // Each stream subscribes on its own: keep every emitter.
    const firstEmit = emit!
    fanOut.push(firstEmit)
    const slow: Socket = connect(Number(new URL(api.url).port), '127.0.0.1')
    await new Promise<void>((resolve) => slow.once('connect', () => { resolve() }))
    slow.pause()
    slow.on('error', () => {})
    slow.write(`GET /v1/events?type=test HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
    await expect.poll(() => api.app.hearsay.streamStats().clients).toBe(2)
    await expect.poll(() => emit !== firstEmit).toBe(true)
    fanOut.push(emit!)
    const big = 'x'.repeat(64 * 1024)
    let sent = 0
    while (api.app.hearsay.streamStats().dropped === 0 && sent < 2_000) {
      for (const e of fanOut) e({ n: sent, big })
      sent++
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    expect(api.app.hearsay.streamStats()).toMatchObject({ dropped: 1, clients: 1 })
    await expect.poll(() => blocks(reader.text()).length, { timeout: 10_000 }).toBe(sent)
    expect(blocks(reader.text()).every((b) => b.event === 'test')).toBe(true)
    reader.close()
    slow.destroy()
  })
})

describe('GET /v1/monitor', () => {
  it('streams the peer\'s log lines at the level asked for, even below the level the peer logs at', async () => {
    const printed: string[] = []
    const cli = await createCliLogger('warn', true, { out: (line) => { printed.push(line) }, err: () => {} })
    const { peer, api } = await serve({ logger: cli.log, logs: cli.source }, { logger: cli.log })
    const debug = await open(api, '/v1/monitor?level=debug')
    const warn = await open(api, '/v1/monitor?level=warn')
    await expect.poll(() => api.app.hearsay.streamStats().clients).toBe(2)
    await peer.setTags({ x: '1' })
    cli.log.child({ component: 'peer' }).warn({ detail: 42 }, 'something to warn about')
    await expect.poll(() => blocks(debug.text()).some((b) => JSON.parse(b.data!).msg === 'something to warn about'), { timeout: 5_000 }).toBe(true)
    const lines = blocks(debug.text()).map((b) => JSON.parse(b.data!) as { level: number, component?: string, msg: string })
    // A debug line of membership (the update), which the peer's own output (at warn) did not print.
    expect(lines.some((l) => l.level === 20 && l.component === 'membership')).toBe(true)
    expect(printed.map((l) => JSON.parse(l) as { level: number }).every((l) => l.level >= 40)).toBe(true)
    expect(printed.some((l) => l.includes('something to warn about'))).toBe(true)
    await expect.poll(() => blocks(warn.text()).length).toBeGreaterThan(0)
    expect(blocks(warn.text()).map((b) => JSON.parse(b.data!) as { level: number }).every((l) => l.level >= 40)).toBe(true)
    // Changing the peer's level changes what it prints, at once, for every part.
    cli.setLevel('debug')
    await peer.setTags({ x: '2' })
    expect(printed.some((l) => JSON.parse(l).level === 20)).toBe(true)
    debug.close()
    warn.close()
  })

  it('without a log source it is 404 ERR_NO_LOG_SOURCE; a bad level is 400', async () => {
    const { api } = await serve()
    const none = await api.app.inject({ method: 'GET', url: '/v1/monitor', headers: auth })
    expect(none.statusCode).toBe(404)
    expect(body<ErrorBody>(none).error.code).toBe('ERR_NO_LOG_SOURCE')
    const bad = await api.app.inject({ method: 'GET', url: '/v1/monitor?level=loud', headers: auth })
    expect(bad.statusCode).toBe(400)
    expect(body<ErrorBody>(bad).error.message).toContain('querystring.level')
  })
})
