import { describe, it, expect, afterEach } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { GC_KEY, RETIRED_PREFIX, seqOf } from '../../src/replica/index.js'
import type { Peer } from '../../src/index.js'

let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

/** Peer 0 leads (highest priority); maintenance runs often. */
async function start (size: number, maintenance: { gcEvery?: number, pruneEvery?: number, pruneAfter?: number } = {}, gossip = true): Promise<Cluster> {
  cluster = await createCluster({
    size,
    peer: { maintenance: { gcEvery: 500, pruneEvery: 500, ...maintenance }, replication: { gossip } },
    peers: Array.from({ length: size }, (_, i) => ({ priority: size - i }))
  })
  await cluster.converged({ timeout: 30_000 })
  await expect.poll(() => cluster!.peers.map((p) => p.leader()?.peerId), { timeout: 30_000 }).toEqual(cluster.peers.map(() => cluster!.peers[0]!.peerId))
  return cluster
}

async function seesState (observer: Peer, target: Peer, state: string): Promise<void> {
  await expect.poll(() => observer.members().find((m) => m.peerId === target.peerId)?.state, { timeout: 30_000 }).toBe(state)
}

describe('GC of delete metadata', () => {
  it('collects superseded and deleted records everywhere, keeps the view and equal digests; a restart keeps the compacted log and never reuses a seq', async () => {
    const c = await start(3)
    const writer = c.peers[1]!
    const seqs: number[] = []
    for (let i = 0; i < 20; i++) seqs.push((await writer.kv.put(`k/${i}`, i)).dot.seq)
    for (let i = 0; i < 10; i++) seqs.push((await writer.kv.put(`k/${i}`, i * 10)).dot.seq)
    // The writer's last write is a delete: once collected, only the checkpoint remembers its seq.
    for (let i = 10; i < 20; i++) seqs.push((await writer.kv.delete(`k/${i}`))!.dot.seq)
    const lastSeq = Math.max(...seqs)
    const view = writer.kv.list('k/')
    expect(view).toHaveLength(10)
    await c.converged({ timeout: 30_000 })

    // The coordinator publishes a horizon covering the deletes; every peer collects.
    await expect.poll(() => c.peers.every((p) => seqOf(p.diagnostics.horizon(), writer.peerId) >= lastSeq), { timeout: 30_000 }).toBe(true)
    // 40 writes: 10 overwritten values, 10 deleted values and 10 deletes go; 10 values stay,
    // plus a few records of the jobs themselves.
    await expect.poll(() => c.peers.map((p) => p.kv.recordCount() <= 15 && p.diagnostics.stats().kv.recordsCollected >= 30), { timeout: 30_000 }).toEqual([true, true, true])
    expect(c.peers[0]!.kv.get(GC_KEY)).toMatchObject({ term: c.peers[0]!.leader()!.term })
    for (const p of c.peers) expect(p.kv.list('k/')).toEqual(view)
    await c.converged({ timeout: 30_000 })
    await expect.poll(() => writer.diagnostics.stats().kv.compactions, { timeout: 30_000 }).toBeGreaterThanOrEqual(1)
    const logRecords = writer.diagnostics.stats().kv.log!.records
    expect(logRecords).toBeLessThan(40)

    await c.kill(1)
    const restarted = await c.restart(1)
    expect(restarted.kv.list('k/')).toEqual(view)
    expect(seqOf(restarted.diagnostics.horizon(), writer.peerId)).toBeGreaterThanOrEqual(lastSeq)
    expect(restarted.kv.recordCount()).toBeLessThanOrEqual(15)
    for (let i = 10; i < 20; i++) expect(restarted.kv.get(`k/${i}`)).toBeUndefined()
    const next = await restarted.kv.put('after-restart', true)
    expect(next.dot.seq).toBeGreaterThan(lastSeq)
    await c.converged({ timeout: 30_000 })
    for (const p of c.peers) {
      expect(p.kv.get('after-restart')).toBe(true)
      expect(p.kv.list('k/')).toEqual(view)
    }
  }, 120_000)

  it('deleted data never comes back and no acknowledged write is lost when a partitioned peer returns', async () => {
    const c = await start(3)
    const [leader, other, isolated] = c.peers as [Peer, Peer, Peer]
    for (let i = 0; i < 10; i++) await leader.kv.put(`d/${i}`, `old-${i}`)
    await c.converged({ timeout: 30_000 })
    expect(isolated.kv.get('d/5')).toBe('old-5')

    await c.partition([0, 1], [2])
    // Not a current member any more: the horizon is decided without it.
    await seesState(leader, isolated, 'dead')
    await seesState(other, isolated, 'dead')
    const acknowledged = new Map<string, string>()
    let lastDelete = 0
    for (let i = 0; i < 10; i++) lastDelete = (await other.kv.delete(`d/${i}`))!.dot.seq
    for (let i = 0; i < 10; i++) {
      await leader.kv.put(`m/${i}`, `majority-${i}`)
      acknowledged.set(`m/${i}`, `majority-${i}`)
      await isolated.kv.put(`p/${i}`, `isolated-${i}`)
      acknowledged.set(`p/${i}`, `isolated-${i}`)
    }
    // A put concurrent with the delete (add-wins): it must survive the collected delete.
    await isolated.kv.put('d/0', 'rewritten while cut off')
    acknowledged.set('d/0', 'rewritten while cut off')

    // GC collects the deletes on the majority side while the isolated peer still holds the old values.
    await expect.poll(() => [leader, other].every((p) => seqOf(p.diagnostics.horizon(), other.peerId) >= lastDelete), { timeout: 30_000 }).toBe(true)
    expect(leader.diagnostics.stats().kv.recordsCollected).toBeGreaterThanOrEqual(20)
    expect(isolated.kv.get('d/5')).toBe('old-5')

    await c.heal()
    await c.converged({ timeout: 60_000 })
    for (const p of c.peers) {
      for (let i = 1; i < 10; i++) expect(p.kv.get(`d/${i}`)).toBeUndefined()
      for (const [key, value] of acknowledged) expect(p.kv.get(key)).toBe(value)
    }
    expect(isolated.kv.digest()).toBe(leader.kv.digest())
  }, 120_000)

  it('a peer killed before the deletes and restarted after GC does not bring them back', async () => {
    // Anti-entropy only: gossipsub's message cache could otherwise hand the returning peer
    // the (collected) deletes themselves, and this test is about the other way back.
    const c = await start(3, {}, false)
    const [leader, other] = c.peers as [Peer, Peer]
    for (let i = 0; i < 10; i++) await other.kv.put(`d/${i}`, i)
    await c.converged({ timeout: 30_000 })
    const dead = c.peers[2]!
    await c.kill(2)
    await seesState(leader, dead, 'dead')
    let lastDelete = 0
    for (let i = 0; i < 10; i++) lastDelete = (await leader.kv.delete(`d/${i}`))!.dot.seq
    await leader.kv.put('while-dead', 1)
    await expect.poll(() => seqOf(other.diagnostics.horizon(), leader.peerId) >= lastDelete, { timeout: 30_000 }).toBe(true)

    const back = await c.restart(2)
    // Its log still has the values, and nothing that removed them.
    expect(back.kv.get('d/3')).toBe(3)
    await c.converged({ timeout: 60_000 })
    for (const p of c.peers) {
      for (let i = 0; i < 10; i++) expect(p.kv.get(`d/${i}`)).toBeUndefined()
      expect(p.kv.get('while-dead')).toBe(1)
    }
    // It caught up by dropping what the others had collected, not by replaying the deletes.
    expect(back.diagnostics.stats().kv.recordsDropped).toBeGreaterThanOrEqual(10)
  }, 120_000)
})

describe('retiring departed members', () => {
  it('a member gone long enough is retired and left out of new clocks; when it returns and writes, nothing is lost', async () => {
    const c = await start(3, { pruneAfter: 2_000 })
    const departing = c.peers[2]!
    const id = departing.peerId
    for (let i = 0; i < 5; i++) await departing.kv.put(`r/${i}`, i)
    const seq = departing.kv.versionVector()[id]!
    await c.converged({ timeout: 30_000 })
    await c.kill(2)
    const [leader, other] = c.peers as [Peer, Peer]
    await expect.poll(() => [leader, other].map((p) => p.kv.get(`${RETIRED_PREFIX}${id}`)), { timeout: 30_000 })
      .toEqual([expect.objectContaining({ seq }), expect.objectContaining({ seq })])

    // HELLOs now leave it out, and the receiver fills it back in (same retirements on both sides).
    await expect.poll(async () => {
      await leader.diagnostics.syncWith(other.peerId, other.addresses())
      return leader.diagnostics.remoteVectors().get(other.peerId)?.vector[id]
    }, { timeout: 10_000 }).toBe(seq)
    await other.kv.put('after-retirement', 1)
    await expect.poll(() => leader.kv.versions('after-retirement').length, { timeout: 10_000 }).toBe(1)
    for (const p of [leader, other]) {
      const [version] = p.kv.versions('after-retirement')
      expect(Object.keys(version!.clock)).not.toContain(id)
      // Still counted as seen: vectors keep it, only what travels leaves it out.
      expect(p.kv.versionVector()[id]).toBe(seq)
    }

    const back = await c.restart(2)
    await back.kv.put('r/5', 5)
    await c.converged({ timeout: 60_000 })
    for (const p of c.peers) {
      for (let i = 0; i <= 5; i++) expect(p.kv.get(`r/${i}`)).toBe(i)
      expect(p.kv.get('after-retirement')).toBe(1)
    }
    // Its new writes make it a writer again: clocks name it once more.
    await leader.kv.put('after-return', 1)
    expect(Object.keys(leader.kv.versions('after-return')[0]!.clock)).toContain(id)
  }, 120_000)
})
