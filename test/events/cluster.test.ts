import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import type { Peer } from '../../src/index.js'
import { encodeUserMessage, EVENTS_PART, type EventsStats, type UserEvent } from '../../src/events/index.js'
import { createNetNode, encodeEnvelope, protocolId, seal, signingInput, type NetNode } from '../../src/net/index.js'

/**
 * User events and queries among 5 peers in this process over real TCP (libp2p, gossipsub,
 * streams): an event reaches every peer exactly once, a query gathers the answers of the
 * members with a handler and names the others, garbage is dropped and counted, and under a
 * partition an event reaches its own side only. What no peer would send (unsigned, forged,
 * re-sent or flooded messages) comes from a bare node of the same network, as it would from
 * a hostile or broken one.
 */

let cluster: Cluster
let rogue: NetNode
let topic: string
/** Every `user` event each peer emitted, in order. */
const received: UserEvent[][] = []
const PEER_0_LIMIT = 256 * 1024

beforeAll(async () => {
  // Peer 0 may send more than the others accept: how an oversized event reaches them for real.
  cluster = await createCluster({ size: 5, peers: [{ events: { maxPayloadBytes: PEER_0_LIMIT } }] })
  cluster.peers.forEach((peer, i) => {
    received[i] = []
    peer.events.addEventListener('user', (e) => { received[i]?.push(e.detail) })
  })
  await cluster.converged({ timeout: 30_000 })
  topic = protocolId(cluster.network, EVENTS_PART)
  await meshed(4)
  rogue = await createNetNode({}, { network: cluster.network, profile: 'local' })
  await rogue.start()
  for (const peer of cluster.peers) await rogue.dial(peer.addresses()[0]!)
  rogue.subscribe(topic, () => {})
  await waitFor(() => rogue.topicPeers(topic).length === 5, 20_000, 'the rogue node to see the 5 peers on the events topic')
}, 60_000)

/** Every peer has the other four in its gossip mesh of the events topic. */
async function meshed (others: number): Promise<void> {
  await waitFor(() => cluster.peers.every((p) => (p.net.gossipMesh().find((t) => t.topic === topic)?.peers.length ?? 0) >= others),
    20_000, `every peer to mesh with ${others} others on the events topic`)
}

async function waitFor (predicate: () => boolean, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

afterAll(async () => {
  await rogue?.stop()
  await cluster?.stop()
})

const peers = (): Peer[] => cluster.peers
const timesSeen = (peer: number, id: string): number => received[peer]!.filter((e) => e.id === id).length
const stats = (peer: number): EventsStats => peers()[peer]!.diagnostics.stats().events
const sum = (field: keyof EventsStats, except: number[] = []): number =>
  peers().reduce((n, _p, i) => n + (except.includes(i) ? 0 : stats(i)[field]), 0)

function rawMessage (name: string, payload: string, id: Uint8Array = randomBytes(16)): Uint8Array {
  return encodeUserMessage({ kind: 'event', id, name, payload, at: Date.now(), timeout: 0 })
}

/** The rogue node publishes `message` sealed with its own key. */
async function rogueSealed (message: Uint8Array): Promise<void> {
  await rogue.publish(topic, seal(topic, message, rogue.peerId, (b) => rogue.sign(b)))
}

describe('user events among 5 peers', () => {
  it('an event reaches every peer exactly once, the sender included, with its sender and payload', async () => {
    const receipt = await peers()[2]!.events.publish('deploy', { version: 3 })
    // The other four peers, and the rogue node listening on the topic.
    expect(receipt).toMatchObject({ name: 'deploy', recipients: 5 })
    expect(receipt.id).toMatch(/^[0-9a-f]{32}$/)
    await expect.poll(() => received.map((_r, i) => timesSeen(i, receipt.id)), { timeout: 10_000 }).toEqual([1, 1, 1, 1, 1])
    for (const events of received) {
      expect(events.find((e) => e.id === receipt.id)).toEqual({ name: 'deploy', payload: { version: 3 }, from: peers()[2]!.peerId, id: receipt.id, at: receipt.at })
    }
    // A burst from every peer at once: still each event once on each peer.
    const burst = await Promise.all(peers().flatMap((p, i) => [0, 1, 2].map(async (n) => p.events.publish('burst', { from: i, n }))))
    await expect.poll(() => burst.every((r) => received.every((_e, i) => timesSeen(i, r.id) === 1)), { timeout: 10_000 }).toBe(true)
    expect(sum('eventsSent')).toBe(16)
    expect(sum('eventsReceived')).toBe(16 * 4)
  })

  it('a second message with the id of one delivered (the same sender, other bytes) is dropped as a duplicate', async () => {
    const id = randomBytes(16)
    await rogueSealed(rawMessage('once', '1', id))
    const hex = id.toString('hex')
    await expect.poll(() => received.map((_r, i) => timesSeen(i, hex)), { timeout: 10_000 }).toEqual([1, 1, 1, 1, 1])
    const duplicatesBefore = sum('duplicates')
    // Sealed by the same sender, so only the id tells it is the same event; gossipsub's own
    // dedup (a hash of the bytes) lets it through because the payload differs.
    await rogueSealed(rawMessage('once', '2', id))
    await expect.poll(() => sum('duplicates') - duplicatesBefore, { timeout: 10_000 }).toBeGreaterThanOrEqual(5)
    expect(received.map((_r, i) => timesSeen(i, hex))).toEqual([1, 1, 1, 1, 1])
    expect(received.every((r) => r.find((e) => e.id === hex)?.payload === 1)).toBe(true)
  })

  it('an oversized, an unsigned and a forged event are dropped and counted, never emitted', async () => {
    const before = received.map((r) => r.length)
    const start = { oversized: sum('oversized'), unsigned: sum('unsigned'), badSignature: sum('badSignature') }

    // Over 64 KiB: peer 0 allows it, the other four do not.
    const big = await peers()[0]!.events.publish('big', 'x'.repeat(100 * 1024))
    await expect.poll(() => sum('oversized') - start.oversized, { timeout: 10_000 }).toBe(4)

    // Not sealed at all.
    await rogue.publish(topic, rawMessage('unsigned', '"hello"'))
    await expect.poll(() => sum('unsigned') - start.unsigned, { timeout: 10_000 }).toBe(5)

    // Sealed by the rogue node in peer 3's name.
    const payload = rawMessage('forged', '"from peer 3, honest"')
    await rogue.publish(topic, encodeEnvelope({ author: peers()[3]!.peerId, payload, signature: rogue.sign(signingInput(topic, payload)) }))
    await expect.poll(() => sum('badSignature') - start.badSignature, { timeout: 10_000 }).toBe(5)

    // The sender emitted its own big event (its limit allows it); nothing else was emitted anywhere.
    expect(received.map((r, i) => r.length - (before[i] as number))).toEqual([1, 0, 0, 0, 0])
    expect(timesSeen(0, big.id)).toBe(1)
    for (const events of received) expect(events.some((e) => e.name === 'unsigned' || e.name === 'forged')).toBe(false)
  })

  it('a sender over its rate: its own publish is refused; past twice the burst, receivers drop and count', async () => {
    // Peer 4 sends with the default limits: a burst of 100, then 20 a second.
    const sender = peers()[4]!
    const sent: string[] = []
    let refused: unknown
    for (let i = 0; i < 200 && refused === undefined; i++) {
      try {
        sent.push((await sender.events.publish('flood', i)).id)
      } catch (err) {
        refused = err
      }
    }
    expect(refused).toMatchObject({ code: 'ERR_RATE_LIMITED' })
    expect(sent.length).toBeGreaterThanOrEqual(100)
    expect(sent.length).toBeLessThan(200)
    // Within its rate: every event reached everyone, however they bunched up on the way.
    await expect.poll(() => sent.every((id) => received.every((_r, i) => timesSeen(i, id) === 1)), { timeout: 20_000 }).toBe(true)

    // A sender that ignores the rate: 250 at once, sealed by itself. Each peer delivers twice
    // the burst (and what the rate refilled meanwhile) and drops the rest, counted.
    const limitedBefore = peers().map((_p, i) => stats(i).rateLimited)
    const floodStarted = Date.now()
    for (let n = 0; n < 250; n++) await rogueSealed(rawMessage('flood', JSON.stringify(`extra ${n}`)))
    const outcome = (i: number): { delivered: number, limited: number } => ({
      delivered: received[i]!.filter((e) => e.from === rogue.peerId && e.name === 'flood').length,
      limited: stats(i).rateLimited - (limitedBefore[i] as number)
    })
    await expect.poll(() => peers().every((_p, i) => outcome(i).delivered + outcome(i).limited === 250), { timeout: 20_000 }).toBe(true)
    const elapsed = Date.now() - floodStarted
    for (let i = 0; i < 5; i++) {
      const { delivered, limited } = outcome(i)
      expect(limited).toBeGreaterThan(0)
      // One of its tokens went to its first event, in an earlier test.
      expect(delivered).toBeGreaterThanOrEqual(199)
      expect(delivered).toBeLessThanOrEqual(200 + Math.ceil(elapsed * 20 / 1000))
    }
  }, 60_000)
})

describe('queries among 5 peers', () => {
  it('gathers the answers of the 4 members with a handler and names the one without', async () => {
    const offs = [0, 1, 2, 3].map((i) => peers()[i]!.events.onQuery('load', (payload, query) => ({ peer: i, asked: payload, from: query.from })))
    try {
      const started = Date.now()
      const result = await peers()[0]!.events.query('load', { detail: true }, { timeout: 3_000 })
      expect(result.name).toBe('load')
      expect(result.responses.map((r) => r.peerId).sort()).toEqual([0, 1, 2, 3].map((i) => peers()[i]!.peerId).sort())
      for (const r of result.responses) {
        const i = peers().findIndex((p) => p.peerId === r.peerId)
        expect(r).toEqual({ peerId: peers()[i]!.peerId, payload: { peer: i, asked: { detail: true }, from: peers()[0]!.peerId } })
      }
      expect(result.missing).toEqual([peers()[4]!.peerId])
      // Peer 4 never answers, so the query waited for its timeout.
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_900)

      // With a handler everywhere, the query ends as soon as the last member answered.
      const off4 = peers()[4]!.events.onQuery('load', () => 'four')
      const quick = Date.now()
      const all = await peers()[3]!.events.query('load', null, { timeout: 20_000 })
      off4()
      expect(all.responses).toHaveLength(5)
      expect(all.missing).toEqual([])
      expect(Date.now() - quick).toBeLessThan(10_000)
    } finally {
      for (const off of offs) off()
    }
  }, 40_000)

  it('a handler that throws or answers with something that is not JSON is answered as an error; the peer carries on', async () => {
    const offs = [
      peers()[1]!.events.onQuery('health', () => { throw new Error('disk full') }),
      peers()[2]!.events.onQuery('health', async () => { throw new Error('slow disk') }),
      peers()[3]!.events.onQuery('health', () => () => 'a function'),
      peers()[4]!.events.onQuery('health', () => ({ ok: true }))
    ]
    try {
      const result = await peers()[0]!.events.query('health', undefined, { timeout: 3_000 })
      const by = (i: number): unknown => result.responses.find((r) => r.peerId === peers()[i]!.peerId)
      expect(by(1)).toEqual({ peerId: peers()[1]!.peerId, error: 'disk full' })
      expect(by(2)).toEqual({ peerId: peers()[2]!.peerId, error: 'slow disk' })
      expect(by(3)).toMatchObject({ error: expect.stringMatching(/handler's answer was refused/) })
      expect(by(4)).toEqual({ peerId: peers()[4]!.peerId, payload: { ok: true } })
      expect(result.missing).toEqual([peers()[0]!.peerId])
      expect(peers().every((p) => p.isRunning())).toBe(true)
    } finally {
      for (const off of offs) off()
    }
  }, 20_000)

  it('an answer after the asker stopped waiting is not delivered; the handler is told through its signal', async () => {
    let aborted = false
    const off = peers()[1]!.events.onQuery('slow', async (_payload, query) => {
      await new Promise<void>((resolve) => { query.signal.addEventListener('abort', () => { aborted = true; resolve() }, { once: true }) })
      return 'too late'
    })
    try {
      const failedBefore = peers()[1]!.diagnostics.stats().events.answersFailed
      const result = await peers()[0]!.events.query('slow', 1, { timeout: 300 })
      expect(result.responses).toEqual([])
      expect(result.missing).toHaveLength(5)
      await expect.poll(() => aborted).toBe(true)
      await expect.poll(() => peers()[1]!.diagnostics.stats().events.answersFailed - failedBefore).toBe(1)
    } finally {
      off()
    }
  })
})

describe('under a 2|3 partition', () => {
  it('an event reaches its own side only; after the heal events reach everyone again, each once', async () => {
    // The rogue node is a gossipsub router connected to both sides: it would relay across.
    await rogue.stop()
    await cluster.partition([0, 1], [2, 3, 4])
    const left = await peers()[0]!.events.publish('side', 'left')
    const right = await peers()[3]!.events.publish('side', 'right')
    await expect.poll(() => [0, 1].every((i) => timesSeen(i, left.id) === 1) && [2, 3, 4].every((i) => timesSeen(i, right.id) === 1),
      { timeout: 10_000 }).toBe(true)
    // A second round on each side: gossip there has moved on since, and still nothing crossed.
    const left2 = await peers()[1]!.events.publish('side', 'left again')
    const right2 = await peers()[2]!.events.publish('side', 'right again')
    await expect.poll(() => [0, 1].every((i) => timesSeen(i, left2.id) === 1) && [2, 3, 4].every((i) => timesSeen(i, right2.id) === 1),
      { timeout: 10_000 }).toBe(true)
    expect([2, 3, 4].map((i) => timesSeen(i, left.id) + timesSeen(i, left2.id))).toEqual([0, 0, 0])
    expect([0, 1].map((i) => timesSeen(i, right.id) + timesSeen(i, right2.id))).toEqual([0, 0])

    await cluster.heal()
    await cluster.converged({ timeout: 60_000 })
    await meshed(4)
    const after = await peers()[4]!.events.publish('side', 'healed')
    await expect.poll(() => received.map((_r, i) => timesSeen(i, after.id)), { timeout: 10_000 }).toEqual([1, 1, 1, 1, 1])
    // Nothing is stored: whatever gossip still carried across, no peer emitted an event twice.
    for (const id of [left.id, right.id, left2.id, right2.id]) {
      for (let i = 0; i < 5; i++) expect(timesSeen(i, id)).toBeLessThanOrEqual(1)
    }
  }, 120_000)
})
