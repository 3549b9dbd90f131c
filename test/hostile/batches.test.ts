/**
 * A member with the key sends batches of writes no honest peer would: another member's dots
 * under its own signature, two versions of one dot of its own, old genuine batches again.
 * test/replica/seals.test.ts covers tampered, spliced and reordered batches of an honest author.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import type { Peer } from '../../src/index.js'
import { decodeSealedBatches, encodeSealedBatches, seqOf, vectorLeq, type ReplicationStats, type WriteRecord } from '../../src/replica/index.js'
import { agree, Hostile, stillReplicates } from './hostile.js'

let cluster: Cluster | undefined
let hostile: Hostile | undefined
afterEach(async () => {
  await hostile?.stop()
  hostile = undefined
  await cluster?.stop()
  cluster = undefined
})

/** GC that never runs: these tests compare digests, which a horizon adopted meanwhile would change. */
const NO_GC = { size: 3, peer: { maintenance: { gcEvery: 3_600_000 } } }

async function start (options: Parameters<typeof createCluster>[0] = NO_GC): Promise<{ c: Cluster, h: Hostile }> {
  cluster = await createCluster(options)
  await cluster.converged({ timeout: 30_000 })
  const c = cluster
  await expect.poll(() => c.peers.every((p) => p.leader() !== undefined), { timeout: 30_000 }).toBe(true)
  hostile = await Hostile.join(cluster)
  return { c: cluster, h: hostile }
}

/** The gossip messages the hostile heard that carry a write of `key`, oldest first. */
function heardOf (h: Hostile, key: string): Array<{ message: Uint8Array, record: WriteRecord }> {
  return h.heard.flatMap((message) => decodeSealedBatches(message).flatMap(({ batch }) => batch.records.filter((r) => r.key === key).map((record) => ({ message, record }))))
}

function delta (peer: Peer, before: ReplicationStats, counters: Array<keyof ReplicationStats>): Record<string, number> {
  const now = peer.diagnostics.stats().kv
  return Object.fromEntries(counters.map((k) => [k, (now[k] as number) - (before[k] as number)]))
}

describe('a member with the key sends writes that are not its own to send', () => {
  it('another member\'s dots, held or not yet written, are refused and counted: its key does not prove them, and under its own name they are malformed', async () => {
    const { c, h } = await start()
    const leader = c.peers[0]!.leader()?.peerId
    // A peer that runs no jobs, so its next seq is the one the forgery takes.
    const author = c.peers.find((p) => p.peerId !== leader)!
    const target = c.peers.find((p) => p !== author)!
    await author.kv.put('owned', 'genuine')
    await expect.poll(() => heardOf(h, 'owned').length, { timeout: 10_000 }).toBe(1)
    const genuine = heardOf(h, 'owned')[0]!.record
    await c.converged({ timeout: 30_000 })
    const before = target.diagnostics.stats().kv

    const seq = genuine.dot.seq + 1
    const forged = { ...genuine, op: { type: 'put' as const, value: 'forged' } }
    const ahead = { ...forged, dot: { replica: author.peerId, seq }, clock: { ...genuine.clock, [author.peerId]: seq }, removes: [genuine.dot] }
    const messages = [
      h.sealAs(author.peerId, [forged]), // its dot, held everywhere: a copy, dropped before any check
      h.sealAs(author.peerId, [ahead]), // its next dot, not written yet: the seal does not verify
      h.seal([ahead]) // its dot in a batch of the hostile's own: malformed
    ]
    for (const message of messages) await h.publish(message)
    await h.sync(target, { frames: messages.map((batch) => ({ type: 'records' as const, batch })) })
    await expect.poll(() => delta(target, before, ['rejectedBatches', 'malformed']), { timeout: 10_000 }).toEqual({ rejectedBatches: 2, malformed: 2 })
    const after = delta(target, before, ['duplicateBatches', 'writesRemote', 'rejected'])
    expect(after.duplicateBatches).toBeGreaterThanOrEqual(2)
    expect(after.rejected).toBe(2)
    expect(after.writesRemote).toBe(0)
    for (const p of c.peers) expect(p.kv.get('owned')).toBe('genuine')

    // The dot the forgery tried to take is still the author's to write.
    const receipt = await author.kv.put('owned', 'second')
    expect(receipt.dot.seq).toBe(seq)
    await expect.poll(() => c.peers.map((p) => p.kv.get('owned')), { timeout: 10_000 }).toEqual(['second', 'second', 'second'])
    await stillReplicates(target, c.peers.filter((p) => p !== target))
    await c.converged({ timeout: 30_000 })
  })

  it('equivocation on its own dot: two validly sealed versions sent to two peers split them on that key, and digests (over dots) cannot tell; an honest overwrite ends it', async () => {
    const { c, h } = await start()
    const [a, b, third] = c.peers as [Peer, Peer, Peer]
    // Honest peers cannot exchange anything while the two versions go out; the hostile reaches all.
    await c.partition([0], [1], [2])
    const first = h.state.put('split', 'for-a')
    const second: WriteRecord = { ...first, op: { type: 'put', value: 'for-b' } }
    await h.sync(a, { frames: [{ type: 'records', batch: h.seal([first]) }] })
    await h.sync(b, { frames: [{ type: 'records', batch: h.seal([second]) }] })
    expect(a.kv.get('split')).toBe('for-a')
    expect(b.kv.get('split')).toBe('for-b')
    await c.heal()
    await c.converged({ timeout: 30_000 })

    // Converged as far as the store can tell: the same dots everywhere, the same digest...
    expect(new Set(c.peers.map((p) => p.kv.digest())).size).toBe(1)
    expect(a.kv.versions('split').map((v) => v.dot)).toEqual(b.kv.versions('split').map((v) => v.dot))
    // ...but not the same value, and no round of anti-entropy repairs it.
    expect(a.kv.get('split')).toBe('for-a')
    expect(b.kv.get('split')).toBe('for-b')
    expect(['for-a', 'for-b']).toContain(third.kv.get('split'))
    // The other version, shown to a peer that holds the dot, is a copy to it: dropped before its seal is checked.
    const before = a.diagnostics.stats().kv
    await h.sync(a, { frames: [{ type: 'records', batch: h.seal([second]) }] })
    expect(delta(a, before, ['rejectedBatches', 'writesRemote'])).toEqual({ rejectedBatches: 0, writesRemote: 0 })
    expect(delta(a, before, ['duplicateBatches']).duplicateBatches).toBeGreaterThanOrEqual(1)
    expect(a.kv.get('split')).toBe('for-a')

    // Every other key is unaffected, and an honest write of the key supersedes the dot, whichever version each peer holds.
    await stillReplicates(third, [a, b])
    await a.kv.put('split', 'settled')
    await expect.poll(() => c.peers.map((p) => p.kv.get('split')), { timeout: 10_000 }).toEqual(['settled', 'settled', 'settled'])
    await agree(c.peers)
  })

  it('a write that removes dots its author has not written yet hides them when they come: an acknowledged put reads as absent', async () => {
    const { c, h } = await start()
    const leader = c.peers[0]!.leader()?.peerId
    const victim = c.peers.find((p) => p.peerId !== leader)!
    const others = c.peers.filter((p) => p !== victim)
    await victim.kv.put('config', 'v1')
    await c.converged({ timeout: 30_000 })
    h.learn()
    const next = seqOf(victim.kv.versionVector(), victim.peerId) + 1
    // A put of its own, validly sealed, that claims to supersede the victim's next ten writes.
    const record = h.state.put('config', 'hostile')
    const futures = Array.from({ length: 10 }, (_, i) => ({ replica: victim.peerId, seq: next + i }))
    const poisoned: WriteRecord = { ...record, removes: [...record.removes, ...futures] }
    await h.publish(h.seal([poisoned]))
    await expect.poll(() => c.peers.map((p) => p.kv.get('config')), { timeout: 10_000 }).toEqual(['hostile', 'hostile', 'hostile'])

    const receipt = await victim.kv.put('config', 'v2')
    expect(receipt.dot.seq).toBe(next)
    // Acknowledged, durable, and on every peer: yet no peer shows it (the key has no live version).
    await expect.poll(() => others.map((p) => p.kv.versionVector()[victim.peerId]), { timeout: 10_000 }).toEqual(others.map(() => next))
    for (const p of c.peers) expect(p.kv.get('config')).toBeUndefined()
    await agree(c.peers)
    // Past the ten claimed dots the victim's writes show again; other keys never noticed.
    for (let i = 1; i < 10; i++) await victim.kv.put(`other/${i}`, i)
    await victim.kv.put('config', 'v3')
    await expect.poll(() => c.peers.map((p) => p.kv.get('config')), { timeout: 10_000 }).toEqual(['v3', 'v3', 'v3'])
    await agree(c.peers)
  })
})

describe('replays', () => {
  it('an old genuine batch, replayed after GC collected its writes, brings nothing back; by gossip or by anti-entropy', async () => {
    const { c, h } = await start({ size: 3, peer: { maintenance: { gcEvery: 300 } } })
    const writer = c.peers[1]!
    await writer.kv.put('gone', 'old')
    const deleted = (await writer.kv.delete('gone'))!
    await expect.poll(() => heardOf(h, 'gone').length, { timeout: 10_000 }).toBe(2)
    const [put, del] = heardOf(h, 'gone').map((heard) => heard.message) as [Uint8Array, Uint8Array]
    // Collected everywhere: the put and the delete are no longer held, their dots still count as seen.
    await expect.poll(() => c.peers.every((p) => seqOf(p.diagnostics.horizon(), writer.peerId) >= deleted.dot.seq), { timeout: 30_000 }).toBe(true)
    await expect.poll(() => c.peers.every((p) => p.diagnostics.stats().kv.recordsCollected >= 2), { timeout: 30_000 }).toBe(true)
    await c.converged({ timeout: 30_000 })
    const before = c.peers.map((p) => ({ stats: p.diagnostics.stats().kv, records: p.kv.recordCount(), digest: p.kv.digest() }))

    // Gossip drops a message it has seen by its id: two old messages in one are a new one to it.
    const both = encodeSealedBatches([put, del].flatMap((m) => decodeSealedBatches(m).map((d) => d.bytes)))
    await h.publish(both)
    await h.sync(c.peers[0]!, { frames: [{ type: 'records', batch: put }] })
    await expect.poll(() => c.peers.map((p, i) => p.diagnostics.stats().kv.duplicateBatches - before[i]!.stats.duplicateBatches >= (i === 0 ? 3 : 2)), { timeout: 10_000 }).toEqual([true, true, true])
    c.peers.forEach((p, i) => {
      expect(p.kv.get('gone')).toBeUndefined()
      expect(p.kv.recordCount()).toBe(before[i]!.records)
      expect(p.kv.digest()).toBe(before[i]!.digest)
      expect(delta(p, before[i]!.stats, ['writesRemote', 'rejectedBatches'])).toEqual({ writesRemote: 0, rejectedBatches: 0 })
    })
    await stillReplicates(writer, [c.peers[0]!, c.peers[2]!])
  })

  it('a replayed HELLO speaks only for the stream it came on: another peer\'s old vector changes nothing of that peer or of the store', async () => {
    const { c, h } = await start()
    const [a, b] = c.peers as [Peer, Peer, Peer]
    await a.kv.put('k', 1)
    await c.converged({ timeout: 30_000 })
    const told = (await h.sync(a)).frames[0]
    expect(told?.type).toBe('hello')
    const hello = told as Extract<typeof told, { type: 'hello' }>
    await a.kv.put('k', 2)
    await c.converged({ timeout: 30_000 })
    const ofA = b.diagnostics.remoteVectors().get(a.peerId)
    const digest = b.kv.digest()

    // a's HELLO from before its last write, replayed to b by the hostile.
    const reply = await h.sync(b, { hello: { vector: hello.vector, digest: hello.digest, horizon: hello.horizon, retired: hello.retired } })
    // b takes it as the hostile's own claim: what b knows of a is untouched, and b sends the
    // hostile the one write that vector lacks, nothing more.
    expect(b.diagnostics.remoteVectors().get(h.peerId)?.vector).toEqual(hello.vector)
    // (A genuine round between a and b may have refreshed what b knows of a meanwhile; the
    // replayed, older vector never takes its place.)
    const ofANow = b.diagnostics.remoteVectors().get(a.peerId)
    if (ofA !== undefined) expect(ofANow).toBeDefined()
    if (ofANow !== undefined) {
      expect(ofANow.at).toBeGreaterThanOrEqual(ofA?.at ?? 0)
      expect(vectorLeq(ofA?.vector ?? {}, ofANow.vector)).toBe(true)
    }
    const sent = reply.batches.flatMap((batch) => batch.records)
    expect(sent.map((r) => [r.key, r.op])).toContainEqual(['k', { type: 'put', value: 2 }])
    expect(sent.every((r) => r.dot.seq > seqOf(hello.vector, r.dot.replica))).toBe(true)
    expect(b.kv.digest()).toBe(digest)
    await stillReplicates(b, [a, c.peers[2]!])
  })
})
