import { describe, it, expect, afterEach } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { createPeer, type Peer } from '../../src/index.js'
import { createNetNode, type NetNode } from '../../src/net/index.js'
import { encodeSealedBatch, encodeSealedBatches, KV_PROTOCOL_VERSION, leafHash, PartialTree, sealStatement, signingBytes, type WriteRecord } from '../../src/replica/index.js'

let cluster: Cluster | undefined
const extra: Array<{ stop: () => Promise<void> }> = []
afterEach(async () => {
  await Promise.all(extra.splice(0).map(async (p) => p.stop()))
  await cluster?.stop()
  cluster = undefined
})

describe('replication over real TCP', () => {
  it('partition 2|3 with concurrent writes to one key and 200 others; heal → one winner everywhere, both siblings, nothing lost', async () => {
    cluster = await createCluster({ size: 5 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    await c.partition([0, 1], [2, 3, 4])
    await expect.poll(() => c.peers[0]!.members().filter((m) => m.state === 'alive').length, { timeout: 30_000 }).toBe(2)
    await c.peers[0]!.kv.put('contested', { side: 'left' })
    await c.peers[3]!.kv.put('contested', { side: 'right' })
    const acknowledged: string[] = []
    for (let i = 0; i < 200; i++) {
      const writer = c.peers[i % 5]!
      await writer.kv.put(`key-${i}`, { i })
      acknowledged.push(`key-${i}`)
    }
    // The sides really are apart: the left does not have the right's writes yet.
    expect(c.peers[0]!.kv.get('key-2')).toBeUndefined()
    await c.heal()
    await c.converged({ timeout: 60_000 })
    const winner = c.peers[0]!.kv.get('contested')
    for (const peer of c.peers) {
      expect(peer.kv.get('contested')).toEqual(winner)
      const versions = peer.kv.versions('contested').map((v) => v.value).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
      expect(versions).toEqual([{ side: 'left' }, { side: 'right' }])
      for (const key of acknowledged) expect(peer.kv.get(key)).toEqual({ i: Number(key.slice(4)) })
    }
  })

  it('a delete on one side and a concurrent put on the other: the put survives', async () => {
    cluster = await createCluster({ size: 4 })
    const c = cluster
    await c.peers[0]!.kv.put('doc', 'v1')
    await c.converged({ timeout: 30_000 })
    await c.partition([0, 1], [2, 3])
    await expect.poll(() => c.peers[0]!.members().filter((m) => m.state === 'alive').length, { timeout: 30_000 }).toBe(2)
    await c.peers[0]!.kv.delete('doc')
    await c.peers[2]!.kv.put('doc', 'v2')
    // Before the heal the sides disagree: one deleted, the other rewrote.
    await expect.poll(() => [c.peers[1]!.kv.get('doc'), c.peers[3]!.kv.get('doc')], { timeout: 10_000 }).toEqual([undefined, 'v2'])
    await c.heal()
    await c.converged({ timeout: 60_000 })
    for (const peer of c.peers) expect(peer.kv.get('doc')).toBe('v2')
  })

  it('a peer killed abruptly and restarted on its data dir keeps every acknowledged write and never reuses a seq', async () => {
    cluster = await createCluster({ size: 3 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    const receipts = []
    for (let i = 0; i < 100; i++) receipts.push(await c.peers[1]!.kv.put(`k${i}`, i))
    await c.kill(1)
    const restarted = await c.restart(1)
    for (let i = 0; i < 100; i++) expect(restarted.kv.get(`k${i}`)).toBe(i)
    const next = await restarted.kv.put('after-restart', true)
    expect(next.dot.seq).toBeGreaterThan(Math.max(...receipts.map((r) => r.dot.seq)))
    await c.converged({ timeout: 30_000 })
    expect(c.peers[0]!.kv.get('after-restart')).toBe(true)
  })

  it('anti-entropy alone converges when gossip is off', async () => {
    cluster = await createCluster({ size: 3, peer: { replication: { gossip: false, antiEntropyInterval: 300 } } })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    for (let i = 0; i < 50; i++) await c.peers[i % 3]!.kv.put(`ae-${i}`, i)
    await c.converged({ timeout: 30_000 })
    for (const peer of c.peers) {
      expect(peer.kv.list('ae-')).toHaveLength(50)
      expect(peer.diagnostics.stats().kv.gossipMessagesSent).toBe(0)
      expect(peer.diagnostics.stats().kv.antiEntropyRecordsReceived).toBeGreaterThan(0)
    }
  })

  it('a late joiner catches up on 10,000 keys', async () => {
    cluster = await createCluster({ size: 2, peer: { sync: 'none' } })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    const writes = []
    for (let i = 0; i < 10_000; i++) writes.push(c.peers[i % 2]!.kv.put(`bulk/${i}`, { i, pad: 'x'.repeat(64) }))
    await Promise.all(writes)
    await c.converged({ timeout: 60_000 })
    const late = await c.add()
    await c.converged({ timeout: 120_000 })
    expect(late.kv.size()).toBe(10_000)
    expect(late.kv.get('bulk/9999')).toEqual({ i: 9999, pad: 'x'.repeat(64) })
  }, 240_000)

  it('counters and sets converge across peers', async () => {
    cluster = await createCluster({ size: 3 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    await Promise.all(c.peers.map(async (p, i) => {
      for (let n = 0; n < 10; n++) await p.kv.increment('hits')
      await p.kv.setAdd('tags', `t${i}`)
    }))
    await c.peers[0]!.kv.decrement('hits', 5)
    await c.converged({ timeout: 30_000 })
    for (const p of c.peers) {
      expect(p.kv.get('hits')).toBe(25)
      expect(p.kv.get('tags')).toEqual(['t0', 't1', 't2'])
    }
  })
})

describe('forged and malformed writes', () => {
  it('a batch sealed by someone other than its author is never applied, and garbage is counted', async () => {
    cluster = await createCluster({ size: 2 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    const victim = c.peers[1]!
    const attacker: NetNode = await createNetNode({}, { network: c.network, profile: 'local' })
    extra.push(attacker)
    await attacker.start()
    const topic = attacker.protocol('kv', KV_PROTOCOL_VERSION)
    attacker.subscribe(topic, () => {})
    await attacker.connect(c.peers[0]!.peerId, c.peers[0]!.addresses())
    await expect.poll(() => attacker.topicPeers(topic).length, { timeout: 10_000 }).toBeGreaterThan(0)
    const unsigned: WriteRecord = {
      dot: { replica: victim.peerId, seq: 1_000 },
      key: 'forged',
      op: { type: 'put', value: 'evil' },
      hlc: { wall: Date.now(), logical: 0 },
      clock: { [victim.peerId]: 1_000 },
      removes: []
    }
    // The victim named as author, the seal made with the attacker's key.
    const encoded = signingBytes(unsigned)
    const tree = PartialTree.full([leafHash(encoded)])
    const forged = encodeSealedBatch({ author: victim.peerId, signature: attacker.sign(sealStatement(1, tree.root())), leaves: 1, indices: [], proof: [], records: [encoded] })
    await attacker.publish(topic, encodeSealedBatches([forged]))
    await attacker.publish(topic, new Uint8Array([1, 2, 3, 4, 5, 6, 7]))
    const target = c.peers[0]!
    await expect.poll(() => target.diagnostics.stats().kv.rejected, { timeout: 10_000 }).toBe(1)
    await expect.poll(() => target.diagnostics.stats().kv.malformed, { timeout: 10_000 }).toBe(1)
    expect(target.kv.get('forged')).toBeUndefined()
    // Still working.
    await c.peers[1]!.kv.put('honest', 1)
    await c.converged({ timeout: 30_000 })
    expect(target.kv.get('honest')).toBe(1)
  })

  it('writes over the key and value limits are refused with typed errors and change nothing', async () => {
    const peer: Peer = await createPeer({ profile: 'local' })
    extra.push(peer)
    await peer.start()
    const before = peer.kv.digest()
    await expect(peer.kv.put('k'.repeat(1025), 1)).rejects.toMatchObject({ code: 'ERR_KEY_TOO_LONG' })
    await expect(peer.kv.put('', 1)).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' })
    await expect(peer.kv.put('big', 'x'.repeat(1_048_577))).rejects.toMatchObject({ code: 'ERR_VALUE_TOO_LARGE' })
    expect(peer.kv.digest()).toBe(before)
    expect(peer.kv.size()).toBe(0)
  })
})
