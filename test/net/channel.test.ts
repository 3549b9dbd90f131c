import { describe, it, expect, afterEach } from 'vitest'
import fc from 'fast-check'
import {
  createNetNode, decodeFrame, encodeFrame, FRAME_KIND, StreamChannel, type ChannelHandler, type NetNode
} from '../../src/net/index.js'
import { HearsayError } from '../../src/errors.js'

const nodes: NetNode[] = []
const channels: StreamChannel[] = []
afterEach(async () => {
  await Promise.all(channels.splice(0).map(async (c) => c.stop()))
  await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
})

async function node (network = 'chan'): Promise<NetNode> {
  const n = await createNetNode({}, { profile: 'local', network })
  nodes.push(n)
  await n.start()
  return n
}

async function channel (net: NetNode, handler: ChannelHandler, extra: Partial<ConstructorParameters<typeof StreamChannel>[2]> = {}): Promise<StreamChannel> {
  const c = new StreamChannel(net, handler, { protocol: net.protocol('echo', '2.0.0'), maxMessageBytes: 1024, ...extra })
  channels.push(c)
  await c.start()
  return c
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array | undefined): string | undefined => b === undefined ? undefined : new TextDecoder().decode(b)
const target = (n: NetNode): { peerId: string, addresses: string[] } => ({ peerId: n.peerId, addresses: n.addresses() })

describe('frames', () => {
  it('decode what they encode, for every kind and id', () => {
    fc.assert(fc.property(
      fc.constantFrom(FRAME_KIND.oneWay, FRAME_KIND.request, FRAME_KIND.reply, FRAME_KIND.done),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.uint8Array({ maxLength: 64 }),
      (kind, id, body) => {
        const decoded = decodeFrame(encodeFrame(kind, id, body), 64)
        expect(decoded.kind).toBe(kind)
        expect(decoded.id).toBe(kind === FRAME_KIND.oneWay ? undefined : id)
        expect([...decoded.body]).toEqual([...body])
      }))
  })

  it('refuse an empty frame, an unknown kind, a cut-off or oversized id, and a message over the limit', () => {
    const bad = [
      new Uint8Array([]),
      new Uint8Array([4]),
      new Uint8Array([0xff, 1, 2]),
      new Uint8Array([FRAME_KIND.request]),
      new Uint8Array([FRAME_KIND.reply, 0x80, 0x80]),
      new Uint8Array([FRAME_KIND.request, 0xff, 0xff, 0xff, 0xff, 0x1f]),
      encodeFrame(FRAME_KIND.oneWay, undefined, new Uint8Array(65))
    ]
    for (const bytes of bad) {
      expect(() => decodeFrame(bytes, 64)).toThrow(expect.objectContaining({ code: 'ERR_CHANNEL_FRAME' }) as Error)
    }
  })
})

describe('a stream channel', () => {
  it('carries requests, replies and one-way messages both ways on one stream per peer', async () => {
    const a = await node()
    const b = await node()
    const seenByB: string[] = []
    const seenByA: string[] = []
    const ca = await channel(a, (from, bytes, isRequest) => {
      seenByA.push(`${from === b.peerId ? 'b' : '?'}:${str(bytes) ?? ''}:${isRequest}`)
      return isRequest ? text(`a got ${str(bytes) ?? ''}`) : undefined
    })
    const cb = await channel(b, (from, bytes, isRequest) => {
      seenByB.push(`${from === a.peerId ? 'a' : '?'}:${str(bytes) ?? ''}:${isRequest}`)
      if (!isRequest) return undefined
      return str(bytes) === 'nothing to say' ? undefined : text(`b got ${str(bytes) ?? ''}`)
    })
    for (let i = 0; i < 20; i++) expect(str(await ca.request(target(b), text(`m${i}`), 5_000))).toBe(`b got m${i}`)
    expect(await ca.request(target(b), text('nothing to say'), 5_000)).toBeUndefined()
    await ca.send(target(b), text('fire and forget'), 5_000)
    await expect.poll(() => seenByB.includes('a:fire and forget:false')).toBe(true)
    // B answers over the stream A opened: no second stream.
    expect(str(await cb.request(target(a), text('back'), 5_000))).toBe('a got back')
    expect(seenByA).toEqual(['b:back:true'])
    expect(ca.stats()).toMatchObject({ opened: 1, accepted: 0 })
    expect(cb.stats()).toMatchObject({ opened: 0, accepted: 1 })
    // Requests in flight at once are told apart by their ids.
    const replies = await Promise.all(Array.from({ length: 50 }, async (_, i) => str(await ca.request(target(b), text(`p${i}`), 5_000))))
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `b got p${i}`))
  })

  it('answers requests out of order: a slow answer does not hold up the next', async () => {
    const a = await node()
    const b = await node()
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => { release = resolve })
    const ca = await channel(a, () => undefined)
    await channel(b, async (_from, bytes) => {
      if (str(bytes) === 'slow') await gate
      return bytes
    })
    const slow = ca.request(target(b), text('slow'), 5_000)
    expect(str(await ca.request(target(b), text('fast'), 5_000))).toBe('fast')
    release()
    expect(str(await slow)).toBe('slow')
  })

  it('times out a request nobody answers, and opens a new stream after the connection is lost', async () => {
    const a = await node()
    const b = await node()
    const ca = await channel(a, () => undefined)
    let silent = true
    await channel(b, async (_from, bytes) => {
      if (silent) await new Promise(() => {})
      return bytes
    })
    const t0 = Date.now()
    await expect(ca.request(target(b), text('hello?'), 300)).rejects.toMatchObject({ code: 'ERR_STREAM_TIMEOUT' })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
    silent = false
    await a.block([b.peerId])
    await expect.poll(() => a.isConnected(b.peerId)).toBe(false)
    await expect(ca.request(target(b), text('blocked'), 1_000)).rejects.toBeInstanceOf(Error)
    a.unblock()
    expect(str(await ca.request(target(b), text('again'), 5_000))).toBe('again')
    expect(ca.stats().opened).toBe(2)
  })

  it('ends a stream that carries a frame it cannot parse, and keeps serving new ones', async () => {
    const a = await node()
    const b = await node()
    const malformed: string[] = []
    await channel(b, (_from, bytes) => bytes, { onMalformed: (from, reason) => { malformed.push(`${from === a.peerId ? 'a' : '?'}: ${reason}`) } })
    const protocol = a.protocol('echo', '2.0.0')
    const raw = await a.openStream(b.peerId, protocol, { addresses: b.addresses() })
    raw.send(new Uint8Array([9, 9, 9]))
    expect(await raw.next({ timeout: 5_000 }).catch(() => undefined)).toBeUndefined()
    expect(malformed).toEqual(['a: malformed channel frame: unknown frame kind 9'])
    const fresh = await a.openStream(b.peerId, protocol, { addresses: b.addresses() })
    fresh.send(encodeFrame(FRAME_KIND.request, 5, text('ok')))
    const reply = decodeFrame((await fresh.next({ timeout: 5_000 }))!, 1024)
    expect(reply.kind).toBe(FRAME_KIND.reply)
    expect(reply.id).toBe(5)
    expect(str(reply.body)).toBe('ok')
    fresh.abort()
  })

  it('reports a peer that speaks only an older version, and cannot reach it on this one', async () => {
    const a = await node()
    const old = await node()
    await old.handle(old.protocol('echo', '1.0.0'), async (stream) => { await stream.close() })
    const incompatible: Array<{ peerId: string, theirs: string[] }> = []
    const ca = await channel(a, () => undefined, { onIncompatible: (peerId, theirs) => { incompatible.push({ peerId, theirs }) } })
    await a.connect(old.peerId, old.addresses())
    await expect.poll(() => incompatible, { timeout: 10_000 }).toEqual([{ peerId: old.peerId, theirs: [old.protocol('echo', '1.0.0')] }])
    await expect(ca.request(target(old), text('hi'), 2_000)).rejects.toBeInstanceOf(Error)
  })

  it('refuses to work once stopped, and fails what was waiting', async () => {
    const a = await node()
    const b = await node()
    const ca = await channel(a, () => undefined)
    await channel(b, async () => await new Promise<Uint8Array>(() => {}))
    const waiting = ca.request(target(b), text('never answered'), 10_000)
    await expect.poll(() => ca.size()).toBe(1)
    await ca.stop()
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_CHANNEL_CLOSED' })
    const err = await ca.request(target(b), text('after stop'), 1_000).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HearsayError)
    expect(err).toMatchObject({ code: 'ERR_CHANNEL_CLOSED' })
  })
})
