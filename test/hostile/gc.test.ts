/**
 * A member with the key lies about garbage collection, with what any writer may write
 * (`hearsay/gc`, `hearsay/retired/*`) and with what an anti-entropy session lets a peer say
 * (a HORIZON offer and its list of kept dots). What can it make honest peers drop or keep?
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import type { Peer } from '../../src/index.js'
import { GC_KEY, joinVectors, RETIRED_PREFIX, seqOf, type Json, type VectorClock } from '../../src/replica/index.js'
import { agree, Hostile, stillReplicates, userView } from './hostile.js'

let cluster: Cluster | undefined
let hostile: Hostile | undefined
afterEach(async () => {
  await hostile?.stop()
  hostile = undefined
  await cluster?.stop()
  cluster = undefined
})

async function start (gcEvery: number, member = false): Promise<{ c: Cluster, h: Hostile, leader: Peer }> {
  cluster = await createCluster({ size: 3, peer: { maintenance: { gcEvery } } })
  await cluster.converged({ timeout: 30_000 })
  const c = cluster
  await expect.poll(() => c.peers.every((p) => p.leader() !== undefined && p.leader()?.peerId === c.peers[0]!.leader()?.peerId), { timeout: 30_000 }).toBe(true)
  hostile = await Hostile.join(cluster, { member })
  return { c, h: hostile, leader: c.peers.find((p) => p.peerId === p.leader()?.peerId)! }
}

/** The hostile writes `key` (superseding what it heard of it) and gossips it; resolves once every peer shows it. */
async function write (h: Hostile, peers: Peer[], key: string, value: Json): Promise<void> {
  h.learn()
  await h.publish(h.seal([h.state.put(key, value)]))
  await expect.poll(() => peers.map((p) => p.kv.get(key)), { timeout: 10_000 }).toEqual(peers.map(() => value))
}

const frozen = (p: Peer): unknown => ({ view: userView(p), records: p.kv.recordCount(), digest: p.kv.digest(), horizon: p.diagnostics.horizon() })

describe('a member with the key lies about garbage collection', () => {
  it('a horizon offer above what was published is refused and counted; nothing is dropped', async () => {
    const { c, h } = await start(3_600_000)
    const [target] = c.peers as [Peer]
    for (let i = 0; i < 5; i++) await c.peers[i % 3]!.kv.put(`k/${i}`, i)
    await c.converged({ timeout: 30_000 })
    const before = frozen(target)
    const refused = target.diagnostics.stats().kv.horizonOffersRefused
    const horizon = joinVectors(target.kv.versionVector(), { [h.peerId]: 1_000 })
    await h.sync(target, { frames: [{ type: 'horizon', horizon, kept: [], complete: false }] })
    expect(target.diagnostics.stats().kv.horizonOffersRefused).toBe(refused + 1)
    expect(frozen(target)).toEqual(before)
    await stillReplicates(target, c.peers.slice(1))
  })

  it('a bogus hearsay/gc over dots no one holds, offered with an empty kept list: no peer drops anything (deferred, counted), GC stalls without a write until an honest peer deletes the value', async () => {
    const { c, h, leader } = await start(300)
    for (let i = 0; i < 5; i++) await c.peers[i % 3]!.kv.put(`k/${i}`, i)
    await c.converged({ timeout: 30_000 })
    h.learn()
    // Everything every peer holds, and its own seq ten writes ahead: dots it never sends, so no replica covers it.
    const bogus = joinVectors(c.peers[0]!.kv.versionVector(), { [h.peerId]: h.state.lastSeq + 10 })
    await write(h, c.peers, GC_KEY, { vector: bogus, term: 1 })
    const writer = c.peers[1]!
    await writer.kv.put('x', 1)
    await writer.kv.put('x', 2)
    await c.converged({ timeout: 30_000 })

    // Offered with a list that keeps nothing, to every peer: before the fix each peer dropped
    // every record at or below it (live ones too), then offered the same to the next.
    const before = c.peers.map(frozen)
    for (const target of c.peers) {
      const deferred = target.diagnostics.stats().kv.horizonOffersDeferred
      await h.sync(target, { hello: { vector: bogus, horizon: bogus }, frames: [{ type: 'horizon', horizon: bogus, kept: [], complete: false }] })
      expect(target.diagnostics.stats().kv.horizonOffersDeferred).toBe(deferred + 1)
      expect(target.diagnostics.stats().kv.recordsDropped).toBe(0)
    }
    expect(c.peers.map(frozen)).toEqual(before)
    // GC is stuck (nobody covers the value) but quiet: the coordinator does not publish on top of it.
    for (const p of c.peers) {
      expect(p.diagnostics.horizon()).toEqual({})
      expect(p.diagnostics.stats().kv.recordsCollected).toBe(0)
      expect(p.kv.versions(GC_KEY).map((v) => v.author)).toEqual([h.peerId])
    }

    // An operator (any honest writer) deletes the value: the next horizon is the members' own, and GC goes on.
    await c.peers[2]!.kv.delete(GC_KEY)
    await expect.poll(() => c.peers.every((p) => seqOf(p.diagnostics.horizon(), writer.peerId) > 0 && p.diagnostics.stats().kv.recordsCollected > 0), { timeout: 30_000 }).toBe(true)
    expect(leader.kv.versions(GC_KEY).map((v) => v.author)).toEqual([leader.peerId])
    for (let i = 0; i < 5; i++) for (const p of c.peers) expect(p.kv.get(`k/${i}`)).toBe(i)
    for (const p of c.peers) expect(p.kv.get('x')).toBe(2)
    await agree(c.peers)
    await stillReplicates(writer, [c.peers[0]!, c.peers[2]!])
  })

  it('what is left: a member alone with a peer (the others unreachable) can offer a horizon with a false kept list, and that peer drops what the list leaves out, its own new writes too', async () => {
    const { c, h } = await start(3_600_000, true)
    const [isolated, a, b] = c.peers as [Peer, Peer, Peer]
    for (let i = 0; i < 3; i++) await a.kv.put(`shared/${i}`, i)
    // The hostile is a member the harness does not know of: wait on the data, not on converged().
    await agree(c.peers)
    await c.partition([0], [1, 2])
    // The others dead in its view (not only suspect): the hostile is the only current member it sees.
    await expect.poll(() => isolated.members().filter((m) => !m.self && (m.state === 'alive' || m.state === 'suspect')).map((m) => m.peerId), { timeout: 30_000 }).toEqual([h.peerId])
    for (let i = 0; i < 3; i++) await isolated.kv.put(`mine/${i}`, i)
    await expect.poll(() => h.heard.length, { timeout: 10_000 }).toBeGreaterThan(0)
    h.learn()
    const horizon = joinVectors(isolated.kv.versionVector(), { [h.peerId]: h.state.lastSeq + 10 })
    await write(h, [isolated], GC_KEY, { vector: horizon, term: 1 })
    await h.sync(isolated, { hello: { vector: horizon, horizon }, frames: [{ type: 'horizon', horizon, kept: [], complete: false }] })
    // Everything at or below the horizon went: the others' writes, and its own acknowledged ones.
    expect(isolated.diagnostics.stats().kv.recordsDropped).toBeGreaterThanOrEqual(6)
    for (let i = 0; i < 3; i++) {
      expect(isolated.kv.get(`shared/${i}`)).toBeUndefined()
      expect(isolated.kv.get(`mine/${i}`)).toBeUndefined()
    }

    // After the heal the others keep all they had: the same offer from the isolated peer is
    // deferred (b's vector does not cover it). The isolated peer stays behind for good.
    const deferred = a.diagnostics.stats().kv.horizonOffersDeferred + b.diagnostics.stats().kv.horizonOffersDeferred
    const rounds = isolated.diagnostics.stats().kv.antiEntropyRounds
    await c.heal()
    await expect.poll(() => a.diagnostics.stats().kv.horizonOffersDeferred + b.diagnostics.stats().kv.horizonOffersDeferred, { timeout: 30_000 }).toBeGreaterThan(deferred)
    await expect.poll(() => isolated.diagnostics.stats().kv.antiEntropyRounds, { timeout: 30_000 }).toBeGreaterThan(rounds + 3)
    for (const p of [a, b]) {
      expect(p.diagnostics.stats().kv.recordsDropped).toBe(0)
      for (let i = 0; i < 3; i++) expect(p.kv.get(`shared/${i}`)).toBe(i)
      for (let i = 0; i < 3; i++) expect(p.kv.get(`mine/${i}`)).toBeUndefined()
    }
    expect(isolated.kv.get('shared/1')).toBeUndefined()
    expect(isolated.kv.digest()).not.toBe(a.kv.digest())
    await agree([a, b])
  })

  it('bogus retirements and values that do not parse change nothing that is held: HELLOs still fill in the same seqs, the retired member writes again, GC goes on', async () => {
    const { c, h, leader } = await start(300)
    const [a, b, third] = c.peers as [Peer, Peer, Peer]
    await a.kv.put('before', 1)
    await c.converged({ timeout: 30_000 })
    const seq = a.kv.versionVector()[a.peerId]!
    // An active member retired at its current seq, one retired below it, a replica that never wrote, and garbage.
    await write(h, c.peers, `${RETIRED_PREFIX}${a.peerId}`, { seq, term: 1 })
    await write(h, c.peers, `${RETIRED_PREFIX}${b.peerId}`, { seq: 1, term: 1 })
    await write(h, c.peers, `${RETIRED_PREFIX}nobody`, { seq: 5, term: 1 })
    await write(h, c.peers, `${RETIRED_PREFIX}${third.peerId}`, 'not a retirement')
    await write(h, c.peers, GC_KEY, 'not a horizon')
    // What b knows of a is still a's seq, retired or not.
    await expect.poll(async () => {
      await b.diagnostics.syncWith(a.peerId, a.addresses())
      return b.diagnostics.remoteVectors().get(a.peerId)?.vector[a.peerId]
    }, { timeout: 10_000 }).toBe(seq)
    // The retired member writes: named again, and its writes reach everyone.
    await stillReplicates(a, [b, third])
    await b.kv.put('x', 1)
    await b.kv.put('x', 2)
    await expect.poll(() => c.peers.every((p) => p.diagnostics.stats().kv.recordsCollected > 0), { timeout: 30_000 }).toBe(true)
    expect((leader.kv.get(GC_KEY) as { term?: number } | undefined)?.term).toBe(leader.leader()?.term)
    for (const p of c.peers) expect(p.kv.get('before')).toBe(1)
    await agree(c.peers)
  })
})
