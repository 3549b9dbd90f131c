import { afterAll, describe, expect, it } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { KV_PROTOCOL_VERSION } from '../../src/replica/index.js'

/**
 * gossipsub scores down peers that share an IP address once more than 10 do, and ignores the
 * gossip of those below its graylist threshold: on loopback every peer shares 127.0.0.1, so
 * without the loopback whitelist a local cluster of 15 or more ignored one another's gossip
 * and replicated by anti-entropy alone.
 */
const SIZE = 16

let cluster: Cluster | undefined
afterAll(async () => { await cluster?.stop() })

describe('gossip among many peers on one loopback address', () => {
  it(`${SIZE} peers on 127.0.0.1 take a write by gossip, every one of them`, async () => {
    // Anti-entropy off: only gossip can carry the write.
    cluster = await createCluster({ size: SIZE, peer: { replication: { antiEntropyInterval: 3_600_000 } } })
    const c = cluster
    await expect.poll(() => c.peers.every((p) => p.members().filter((m) => m.state === 'alive').length === SIZE), { timeout: 60_000 }).toBe(true)
    const before = c.peers.map((p) => p.diagnostics.stats().kv.gossipMessagesReceived)
    // Every peer in a mesh of the store's topic (gossipsub grafts only peers it does not ignore).
    const kvMesh = (p: (typeof c.peers)[number]): number => p.net.gossipMesh().find((t) => t.topic.endsWith(`/kv/${KV_PROTOCOL_VERSION}`))?.peers.length ?? 0
    await expect.poll(() => c.peers.every((p) => kvMesh(p) >= 4), { timeout: 60_000 }).toBe(true)
    await c.peers[0]!.kv.put('everyone', 1)
    await expect.poll(() => c.peers.map((p) => p.kv.get('everyone')), { timeout: 30_000 }).toEqual(Array(SIZE).fill(1))
    c.peers.slice(1).forEach((p, i) => {
      expect(p.diagnostics.stats().kv.gossipMessagesReceived, `peer ${i + 1}`).toBeGreaterThan(before[i + 1]!)
    })
  }, 180_000)
})
