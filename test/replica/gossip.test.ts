import { afterEach, describe, expect, it } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'

let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

describe('gossip of new writes', () => {
  it('writes made durable together leave together: 200 puts at once take a few sealed messages, and every peer applies all of them', async () => {
    cluster = await createCluster({ size: 3 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    const writer = c.peers[0]!
    const before = writer.diagnostics.stats().kv
    await Promise.all(Array.from({ length: 200 }, async (_, i) => writer.kv.put(`burst/${i}`, i)))
    const sent = writer.diagnostics.stats().kv.gossipMessagesSent - before.gossipMessagesSent
    expect(sent).toBeGreaterThan(0)
    expect(sent).toBeLessThanOrEqual(20)
    await c.converged({ timeout: 30_000 })
    for (const peer of c.peers) expect(peer.kv.list('burst/')).toHaveLength(200)
    // One verify per message at most: nothing was refused, every record came in a batch.
    for (const peer of c.peers.slice(1)) {
      expect(peer.diagnostics.stats().kv.rejected).toBe(0)
      expect(peer.diagnostics.stats().kv.gossipMessagesReceived).toBeLessThan(200)
    }
  })

  it('a lone peer seals nothing and publishes nothing; a peer that joins later gets its writes, proven, by anti-entropy', async () => {
    cluster = await createCluster({ size: 1 })
    const c = cluster
    const lone = c.peers[0]!
    for (let i = 0; i < 20; i++) await lone.kv.put(`alone/${i}`, i)
    expect(lone.diagnostics.stats().kv.gossipMessagesSent).toBe(0)
    const joined = await c.add()
    await c.converged({ timeout: 30_000 })
    expect(joined.kv.list('alone/')).toHaveLength(20)
    expect(joined.diagnostics.stats().kv.rejected).toBe(0)
  })
})
