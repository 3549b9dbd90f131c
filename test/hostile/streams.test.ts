/**
 * A member with the key opens streams of our protocols and then holds them: it sends nothing
 * (slow loris), sends a frame just often enough not to time out, or sends one frame larger than
 * the protocol allows. Each stream must be closed by the honest peer in bounded time, refused
 * inputs counted, and the peer must go on serving the others.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import type { Peer } from '../../src/index.js'
import type { MessageStream } from '../../src/net/index.js'
import { MEMBERSHIP_LIMITS } from '../../src/membership/index.js'
import { MAX_ELECTION_MESSAGE_BYTES } from '../../src/election/index.js'
import { OBSERVE_LIMITS } from '../../src/observe/index.js'
import { encodeSyncFrame, Session, SYNC_LIMITS, SYNC_PROTOCOL_VERSION } from '../../src/replica/index.js'
import { Hostile, stillReplicates } from './hostile.js'

let cluster: Cluster | undefined
let hostile: Hostile | undefined
afterEach(async () => {
  await hostile?.stop()
  hostile = undefined
  await cluster?.stop()
  cluster = undefined
})

/** A session may last 2 s here, so a stalled one is cut within the test. */
const SESSION_TIMEOUT = 2_000

async function start (): Promise<{ c: Cluster, h: Hostile }> {
  cluster = await createCluster({ size: 3, peer: { replication: { antiEntropySessionTimeout: SESSION_TIMEOUT } } })
  await cluster.converged({ timeout: 30_000 })
  const c = cluster
  await expect.poll(() => c.peers.every((p) => p.leader() !== undefined), { timeout: 30_000 }).toBe(true)
  hostile = await Hostile.join(cluster)
  return { c: cluster, h: hostile }
}

/** Reads until the remote ends or resets the stream; resolves with how long that took, or Infinity after `within` ms. */
async function endsWithin (stream: MessageStream, within: number): Promise<number> {
  const started = Date.now()
  try {
    while (await stream.next({ timeout: Math.max(1, within - (Date.now() - started)) }) !== undefined) { /* what it says before it hangs up */ }
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_STREAM_TIMEOUT') return Number.POSITIVE_INFINITY
  }
  return Date.now() - started
}

/** Sends `frame` every `every` ms until the stream ends; resolves with how long it lasted. */
async function drip (stream: MessageStream, frame: Uint8Array, every: number, within: number): Promise<number> {
  const timer = setInterval(() => { stream.send(frame) }, every)
  try {
    return await endsWithin(stream, within)
  } finally {
    clearInterval(timer)
    stream.abort()
  }
}

/** The inbound streams of one channel protocol a peer takes on one connection (src/net/channel.ts). */
const CHANNEL_STREAMS_PER_CONNECTION = 8
/** The most header bytes a channel frame has (kind and request id). */
const CHANNEL_HEADER_BYTES = 6

const protocols = (target: Peer, h: Hostile): Array<{ name: string, protocol: string, limit: number, channel: boolean, malformed: () => number }> => [
  { name: 'sync', protocol: h.node.protocol('sync', SYNC_PROTOCOL_VERSION), limit: SYNC_LIMITS.maxMessageBytes, channel: false, malformed: () => target.diagnostics.stats().kv.malformed },
  // A channel frame carries a few header bytes besides the message: the stream's limit is that much higher.
  { name: 'membership', protocol: h.membershipProtocol, limit: MEMBERSHIP_LIMITS.maxMessageBytes + CHANNEL_HEADER_BYTES, channel: true, malformed: () => target.diagnostics.stats().membership.malformed },
  { name: 'election', protocol: h.electionProtocol, limit: MAX_ELECTION_MESSAGE_BYTES + CHANNEL_HEADER_BYTES, channel: true, malformed: () => target.diagnostics.stats().election.malformed },
  { name: 'trace', protocol: h.node.protocol('trace'), limit: OBSERVE_LIMITS.maxTraceMessageBytes, channel: false, malformed: () => target.diagnostics.stats().observe.malformed }
]

describe('streams held open by a member with the key', () => {
  it('an anti-entropy session that drips frames, in either direction, is cut at the session deadline and counted; the rounds go on', async () => {
    const { c, h } = await start()
    const [target, ...others] = c.peers as [Peer, Peer, Peer]
    const idle = encodeSyncFrame({ type: 'horizon', horizon: {}, kept: [], complete: false })
    const failures = (): number => target.diagnostics.stats().kv.antiEntropyFailures

    // Inbound: a HELLO, then a frame every 300 ms (well inside the 10 s frame timeout), never DONE.
    const before = failures()
    const inbound = await h.open(target, h.node.protocol('sync', SYNC_PROTOCOL_VERSION), SYNC_LIMITS.maxMessageBytes)
    inbound.send(encodeSyncFrame({ type: 'hello', vector: {}, digest: '', horizon: {}, retired: '' }))
    const lasted = await drip(inbound, idle, 300, 15_000)
    expect(lasted).toBeGreaterThanOrEqual(SESSION_TIMEOUT - 100)
    expect(lasted).toBeLessThan(SESSION_TIMEOUT + 3_000)
    await expect.poll(failures, { timeout: 5_000 }).toBeGreaterThanOrEqual(before + 1)

    // Outbound: the peer's own round with the hostile, which answers the same way.
    await h.serve(h.node.protocol('sync', SYNC_PROTOCOL_VERSION), async (stream) => {
      stream.send(encodeSyncFrame({ type: 'hello', vector: {}, digest: '', horizon: {}, retired: '' }))
      await drip(stream, idle, 300, 15_000)
    }, SYNC_LIMITS.maxMessageBytes)
    const started = Date.now()
    await expect(target.diagnostics.syncWith(h.peerId, h.node.addresses())).rejects.toThrow(/longer than/)
    expect(Date.now() - started).toBeLessThan(SESSION_TIMEOUT + 3_000)
    expect(failures()).toBeGreaterThanOrEqual(before + 2)

    await stillReplicates(others[0], [target, others[1]])
    await c.converged({ timeout: 30_000 })
  })

  it('streams that open and send nothing are closed at the protocol\'s read timeout; a channel protocol keeps its long-lived streams but takes no more than its limit; honest traffic goes on meanwhile', async () => {
    const { c, h } = await start()
    const [target, ...others] = c.peers as [Peer, Peer, Peer]
    const leader = target.leader()
    const failures = target.diagnostics.stats().kv.antiEntropyFailures
    const all = protocols(target, h)
    // Membership and election keep one stream per member open for good (src/net/channel.ts):
    // an idle one is what they are made of, so what bounds them is the count per connection.
    const perMessage = all.filter((p) => !p.channel)
    const channels = all.filter((p) => p.channel)
    const held = await Promise.all(perMessage.flatMap(({ name, protocol, limit }) =>
      Array.from({ length: 8 }, async () => ({ name, stream: await h.open(target, protocol, limit) }))))
    const kept = await Promise.all(channels.flatMap(({ name, protocol, limit }) =>
      Array.from({ length: CHANNEL_STREAMS_PER_CONNECTION }, async () => ({ name, stream: await h.open(target, protocol, limit) }))))
    // While they hang, honest peers still write, replicate and probe each other.
    await stillReplicates(others[0], [target, others[1]])
    const lasted = await Promise.all(held.map(async ({ name, stream }) => [name, await endsWithin(stream, 15_000)] as const))
    // A trace request is read for 2 s, anti-entropy until its session deadline.
    for (const [name, ms] of lasted) expect({ name, closed: ms < 6_000 }).toEqual({ name, closed: true })
    expect(target.diagnostics.stats().kv.antiEntropyFailures - failures).toBeGreaterThanOrEqual(8)
    // One more stream of a channel protocol on the same connection is refused at once.
    for (const { name, protocol, limit } of channels) {
      const extra = await h.open(target, protocol, limit).catch(() => undefined)
      const ms = extra === undefined ? 0 : await endsWithin(extra, 10_000)
      expect({ name, refused: ms < 10_000 }).toEqual({ name, refused: true })
    }
    for (const { stream } of kept) stream.abort()
    // The slots are free again: a real exchange on the same connection goes through.
    const reply = await h.sync(target)
    expect(reply.frames.at(-1)?.type).toBe('done')
    expect(target.leader()?.peerId).toBe(leader?.peerId)
    await c.converged({ timeout: 30_000 })
  })

  it('a frame over a protocol\'s size limit is refused before it is read and counted as malformed, on every protocol', async () => {
    const { c, h } = await start()
    const [target, ...others] = c.peers as [Peer, Peer, Peer]
    const all = protocols(target, h)
    const before = all.map(({ malformed }) => malformed())
    for (const { name, protocol, limit } of all) {
      // Its own side allows more, so the frame leaves.
      const stream = await h.open(target, protocol, 2 * limit)
      stream.send(new Uint8Array(limit + 1))
      expect({ name, closed: await endsWithin(stream, 10_000) < 10_000 }).toEqual({ name, closed: true })
    }
    await expect.poll(() => Object.fromEntries(all.map(({ name, malformed }, i) => [name, malformed() - before[i]!])), { timeout: 5_000 })
      .toEqual({ sync: 1, membership: 1, election: 1, trace: 1 })
    await stillReplicates(target, others)
    await c.converged({ timeout: 30_000 })
  })

  it('dots a peer lists in HORIZON frames are remembered only when this replica holds them, so a stream of lists cannot grow a session', () => {
    const held = new Set(['a/1', 'a/2'])
    const session = new Session((dot) => held.has(`${dot.replica}/${dot.seq}`))
    session.offered({ type: 'horizon', horizon: { a: 3 }, kept: [['a', [1, 3]], ['b', Array.from({ length: 100_000 }, (_, i) => i + 1)]], complete: false })
    session.vouch('a', [2, 4])
    expect([1, 2, 3, 4].map((seq) => session.vouched({ replica: 'a', seq }))).toEqual([true, true, false, false])
    expect(session.vouched({ replica: 'b', seq: 1 })).toBe(false)
  })
})
