import { afterEach, describe, expect, it } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { createNetNode, type NetNode } from '../../src/net/index.js'
import {
  decodeSealedBatches, decodeSyncFrame, encodeSealedBatch, encodeSealedBatches, encodeSyncFrame, KV_PROTOCOL_VERSION,
  signingBytes, SYNC_LIMITS, SYNC_PROTOCOL_VERSION, type SealedBatch
} from '../../src/replica/index.js'

let cluster: Cluster | undefined
const extra: Array<{ stop: () => Promise<void> }> = []
afterEach(async () => {
  await Promise.all(extra.splice(0).map(async (p) => p.stop()))
  await cluster?.stop()
  cluster = undefined
})

/** A real libp2p node with no store, speaking the store's protocols by hand: what a hostile member can do. */
async function intruder (c: Cluster): Promise<{ node: NetNode, topic: string, heard: Uint8Array[] }> {
  const node = await createNetNode({}, { network: c.network, profile: 'local' })
  extra.push(node)
  await node.start()
  const topic = node.protocol('kv', KV_PROTOCOL_VERSION)
  const heard: Uint8Array[] = []
  node.subscribe(topic, (message) => { heard.push(message.data) })
  for (const peer of c.peers) await node.connect(peer.peerId, peer.addresses())
  await expect.poll(() => node.topicPeers(topic).length, { timeout: 15_000 }).toBe(c.peers.length)
  return { node, topic, heard }
}

const reencode = (batch: SealedBatch): Uint8Array =>
  encodeSealedBatches([encodeSealedBatch({ ...batch, records: batch.records.map(signingBytes) })])

/** One anti-entropy session by hand: HELLO claiming nothing, the given RECORDS frames, DONE. */
async function syncBy (node: NetNode, target: string, addresses: string[], frames: Uint8Array[]): Promise<void> {
  const stream = await node.openStream(target, node.protocol('sync', SYNC_PROTOCOL_VERSION), { addresses, maxMessageBytes: SYNC_LIMITS.maxMessageBytes, timeout: 5_000 })
  stream.send(encodeSyncFrame({ type: 'hello', vector: {}, digest: 'nothing', horizon: {}, retired: '' }))
  for (const batch of frames) stream.send(encodeSyncFrame({ type: 'records', batch }))
  stream.send(encodeSyncFrame({ type: 'done' }))
  // Read until the peer's DONE: by then it has applied (or refused) what we sent.
  for (let frame = await stream.next({ timeout: 10_000 }); frame !== undefined; frame = await stream.next({ timeout: 10_000 })) {
    if (decodeSyncFrame(frame).type === 'done') break
  }
  await stream.close()
}

describe('sealed batches between real peers', () => {
  it('tampered, spliced and reordered batches are refused and counted, by gossip and by anti-entropy; a replay changes nothing', async () => {
    cluster = await createCluster({ size: 3 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    const { node, topic, heard } = await intruder(c)
    const author = c.peers[1]!
    const target = c.peers[0]!
    // Two genuine messages of the author's, as gossip carried them (writes made together leave together).
    await Promise.all([0, 1, 2, 3].map(async (i) => author.kv.put(`first-${i}`, i)))
    await expect.poll(() => heard.length, { timeout: 10_000 }).toBeGreaterThan(0)
    const firstCount = heard.length
    await author.kv.put('second-0', 0)
    await author.kv.put('second-1', 1)
    await expect.poll(() => heard.length, { timeout: 10_000 }).toBeGreaterThan(firstCount)
    const genuine = heard.map((m) => decodeSealedBatches(m)[0]!.batch)
    const first = genuine.find((b) => b.records.length >= 2)!
    const second = genuine[genuine.length - 1]!
    await c.converged({ timeout: 30_000 })
    const digest = target.kv.digest()
    const before = target.diagnostics.stats().kv

    // The same records under new dots the target has not seen, so each forgery is judged on its seal.
    const fresh = (batch: SealedBatch, shift: number): SealedBatch => ({
      ...batch,
      records: batch.records.map((r) => ({ ...r, dot: { ...r.dot, seq: r.dot.seq + shift }, clock: { ...r.clock, [r.dot.replica]: r.dot.seq + shift } }))
    })
    const tampered = reencode(fresh({ ...first, records: first.records.map((r, i) => i === 0 ? { ...r, op: { type: 'put', value: 'evil' } } : r) }, 200))
    const spliced = reencode({ ...first, records: first.records.map((r, i) => i === 0 ? { ...second.records[0]!, dot: { ...second.records[0]!.dot, seq: 1_000 }, clock: { ...second.records[0]!.clock, [author.peerId]: 1_000 } } : r) })
    const reordered = reencode(fresh({ ...first, records: [...first.records].reverse() }, 500))
    await node.publish(topic, tampered)
    await node.publish(topic, spliced)
    await node.publish(topic, reordered)
    await expect.poll(() => target.diagnostics.stats().kv.rejectedBatches - before.rejectedBatches, { timeout: 10_000 }).toBe(3)

    // The same by anti-entropy, plus a replay of a genuine batch the target holds.
    await syncBy(node, target.peerId, target.addresses(), [tampered, spliced, reordered, reencode(first)])
    const after = target.diagnostics.stats().kv
    expect(after.rejectedBatches - before.rejectedBatches).toBe(6)
    expect(after.duplicateBatches).toBeGreaterThan(before.duplicateBatches)
    expect(after.writesRemote).toBe(before.writesRemote)
    expect(target.kv.digest()).toBe(digest)
    expect(target.kv.get('first-0')).toBe(0)
    // Honest traffic still flows.
    await author.kv.put('honest', true)
    await c.converged({ timeout: 30_000 })
    expect(target.kv.get('honest')).toBe(true)
  })

  it('a write relayed by anti-entropy after its author is gone is still proven: a new peer catches up from the others', async () => {
    cluster = await createCluster({ size: 3 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    for (let i = 0; i < 30; i++) await c.peers[2]!.kv.put(`by-2-${i}`, i)
    await c.converged({ timeout: 30_000 })
    await c.kill(2)
    const newcomer = await c.add()
    await expect.poll(() => newcomer.kv.get('by-2-29'), { timeout: 30_000 }).toBe(29)
    expect(newcomer.diagnostics.stats().kv.rejected).toBe(0)
    for (let i = 0; i < 30; i++) expect(newcomer.kv.get(`by-2-${i}`)).toBe(i)
  })
})
