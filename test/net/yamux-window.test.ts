import { describe, it, expect, afterEach } from 'vitest'
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'
import { defaultConfig } from '@chainsafe/libp2p-yamux/config'
import { Uint8ArrayList } from 'uint8arraylist'
import { createNetNode, type NetNode } from '../../src/net/index.js'
import { useHalfWindowUpdates } from '../../src/net/yamux-window.js'

// yamux frame types (the package does not export its frame module): 0 data, 1 window update.
const WINDOW_UPDATE = 1
const WINDOW = defaultConfig.initialStreamWindowSize

interface Sent { type: number, length: number }

/** An established yamux stream whose outgoing frames are recorded instead of written. */
function establishedStream (): { stream: YamuxStream, sent: Sent[] } {
  const sent: Sent[] = []
  const log = Object.assign(() => {}, { enabled: false, trace: () => {}, error: () => {}, newScope: () => log })
  const stream = new YamuxStream({
    id: '1',
    name: '1',
    direction: 'inbound',
    state: StreamState.Established,
    config: defaultConfig,
    log,
    getRTT: () => -1,
    sendFrame: (header) => { sent.push({ type: header.type, length: header.length }) }
  })
  return { stream, sent }
}

/** The remote sends `sizes` bytes in data frames; the reader consumes each as it comes. */
async function deliver (stream: YamuxStream, sizes: number[]): Promise<void> {
  const reader = stream.source[Symbol.asyncIterator]()
  for (const size of sizes) {
    await stream.handleData({ type: 0, flag: 0, streamID: 1, length: size }, async () => new Uint8ArrayList(new Uint8Array(size)))
    await reader.next()
  }
}

describe('yamux window updates: credit once half the window is used', () => {
  useHalfWindowUpdates()

  it('a hundred small messages cost no window update; past half the window one update returns all the credit used', async () => {
    const { stream, sent } = establishedStream()
    await deliver(stream, Array.from({ length: 100 }, () => 100))
    // The package's own policy sent one update per consumed frame: 100 here.
    expect(sent.filter((f) => f.type === WINDOW_UPDATE)).toHaveLength(0)

    const used = 100 * 100
    const toHalf = Math.ceil((WINDOW / 2 - used) / 4096) * 4096
    await deliver(stream, Array.from({ length: toHalf / 4096 }, () => 4096))
    const updates = sent.filter((f) => f.type === WINDOW_UPDATE)
    expect(updates).toHaveLength(1)
    expect(updates[0]!.length).toBe(used + toHalf)
  })

  it('a sender that used the whole window gets its credit back as soon as the reader consumes', async () => {
    const { stream, sent } = establishedStream()
    const frame = 64 * 1024
    const frames = WINDOW / frame
    // Every frame arrives before the reader takes any: the sender is out of credit.
    for (let i = 0; i < frames; i++) {
      await stream.handleData({ type: 0, flag: 0, streamID: 1, length: frame }, async () => new Uint8ArrayList(new Uint8Array(frame)))
    }
    expect(sent).toHaveLength(0)
    const reader = stream.source[Symbol.asyncIterator]()
    await reader.next()
    const updates = sent.filter((f) => f.type === WINDOW_UPDATE)
    expect(updates).toHaveLength(1)
    expect(updates[0]!.length).toBe(WINDOW)
  })
})

describe('yamux window updates over real connections', () => {
  const nodes: NetNode[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  it('messages of several windows each, both ways on one stream, all arrive intact', async () => {
    const [a, b] = await Promise.all([0, 1].map(async () => {
      const n = await createNetNode({}, { profile: 'local', network: 'yamux-window' })
      nodes.push(n)
      await n.start()
      return n
    })) as [NetNode, NetNode]
    const protocol = a.protocol('echo')
    const size = 700 * 1024
    await b.handle(protocol, async (stream) => {
      for await (const message of stream) stream.send(message)
      await stream.close()
    }, { maxMessageBytes: size + 16 })
    const stream = await a.openStream(b.peerId, protocol, { addresses: b.addresses(), maxMessageBytes: size + 16 })
    const messages = Array.from({ length: 8 }, (_, i) => new Uint8Array(size).fill(i + 1))
    for (const m of messages) stream.send(m)
    for (const m of messages) {
      const echoed = await stream.next({ timeout: 20_000 })
      expect(echoed?.byteLength).toBe(size)
      expect(echoed?.[0]).toBe(m[0])
      expect(echoed?.[size - 1]).toBe(m[0])
    }
    await stream.close()
  })
})
