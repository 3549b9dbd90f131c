import { describe, it, expect, afterEach } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'

let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

function stateOf (c: Cluster, viewer: number, subject: number): string | undefined {
  return c.peers[viewer]!.members().find((m) => m.peerId === c.peers[subject]!.peerId)?.state
}

describe('membership over real TCP', () => {
  it('5 peers from one bootstrap all see each other alive, each itself as self', async () => {
    cluster = await createCluster({ size: 5 })
    await cluster.converged({ timeout: 20_000 })
    for (const peer of cluster.peers) {
      const view = peer.members()
      expect(view).toHaveLength(5)
      expect(view.filter((m) => m.self).map((m) => m.peerId)).toEqual([peer.peerId])
      expect(view.every((m) => m.state === 'alive')).toBe(true)
    }
  })

  it('graceful stop → left everywhere at once; crash → suspect then dead', async () => {
    cluster = await createCluster({ size: 4 })
    await cluster.converged({ timeout: 20_000 })
    const c = cluster
    const left = c.peers[3]!.peerId
    const leaves = [0, 1, 2].map(async (i) => c.peers[i]!.once('member:leave', (m) => m.peerId === left))
    await c.peers[3]!.stop()
    await Promise.all(leaves)
    for (const i of [0, 1, 2]) expect(stateOf(c, i, 3)).toBe('left')

    const crashed = c.peers[2]!.peerId
    const suspected = [0, 1].map(async (i) => c.peers[i]!.once('member:update', (m) => m.peerId === crashed && m.state === 'suspect'))
    const failed = [0, 1].map(async (i) => c.peers[i]!.once('member:fail', (m) => m.peerId === crashed))
    await c.kill(2)
    await Promise.race([Promise.any(suspected), Promise.all(failed)])
    await Promise.all(failed)
    for (const i of [0, 1]) expect(stateOf(c, i, 2)).toBe('dead')
  })

  it('restart → same PeerId, alive again with a higher incarnation', async () => {
    cluster = await createCluster({ size: 3 })
    await cluster.converged({ timeout: 20_000 })
    const before = cluster.peers[1]!.peerId
    const incarnation = cluster.peers[0]!.members().find((m) => m.peerId === before)!.incarnation
    await cluster.kill(1)
    await cluster.restart(1)
    expect(cluster.peers[1]!.peerId).toBe(before)
    await cluster.converged({ timeout: 20_000 })
    const seen = cluster.peers[0]!.members().find((m) => m.peerId === before)!
    expect(seen.state).toBe('alive')
    expect(seen.incarnation).toBeGreaterThan(incarnation)
  })

  it('a partition makes each side see the other suspect then dead, and heal brings them back alive', async () => {
    cluster = await createCluster({ size: 4 })
    await cluster.converged({ timeout: 20_000 })
    const c = cluster
    const a = [0, 1]
    const b = [2, 3]
    await c.partition(a, b)
    await expect.poll(() => a.every((i) => b.every((j) => stateOf(c, i, j) === 'dead' && stateOf(c, j, i) === 'dead')), { timeout: 30_000, interval: 100 }).toBe(true)
    // Within each side, members still see each other alive.
    expect(stateOf(c, 0, 1)).toBe('alive')
    expect(stateOf(c, 2, 3)).toBe('alive')
    await c.heal()
    await c.converged({ timeout: 30_000 })
  })
})
