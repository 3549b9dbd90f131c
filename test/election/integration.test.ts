import { describe, it, expect, afterEach } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { agreed, agreement } from './agreement.js'

let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

describe('bully election over real TCP', () => {
  it('highest priority leads; kill → next with a higher term; return → leads again higher still; partition → one per side; heal → one; quiet → no change', async () => {
    cluster = await createCluster({ size: 5, peers: [0, 1, 2, 3, 4].map((p) => ({ priority: p * 10 })) })
    const c = cluster
    await c.converged({ timeout: 30_000 })
    const all = [0, 1, 2, 3, 4]
    const first = await agreement(c, all, 4)

    await c.kill(4)
    const second = await agreement(c, [0, 1, 2, 3], 3)
    expect(second.term).toBeGreaterThan(first.term)

    await c.restart(4)
    const third = await agreement(c, all, 4)
    expect(third.term).toBeGreaterThan(second.term)

    await c.partition([0, 1], [2, 3, 4])
    const left = await agreement(c, [0, 1], 1)
    const right = await agreement(c, [2, 3, 4], 4)
    expect(right.term).toBeGreaterThanOrEqual(third.term)
    expect(left.term).toBeGreaterThan(third.term)

    await c.heal()
    await c.converged({ timeout: 60_000 })
    const healed = await agreement(c, all, 4)
    expect(healed.term).toBeGreaterThanOrEqual(left.term)

    // 20 s of quiet: no leader event anywhere.
    const changes: string[] = []
    const started = Date.now()
    for (const i of all) {
      c.peers[i]!.addEventListener('leader', (e) => { changes.push(`+${Date.now() - started}ms peer ${i} → ${e.detail === undefined ? 'none' : `${c.peers.findIndex((p) => p.peerId === e.detail?.peerId)}@${e.detail.term}`}`) })
      for (const type of ['member:update', 'member:fail', 'member:join', 'member:leave'] as const) {
        c.peers[i]!.addEventListener(type, (e) => { changes.push(`+${Date.now() - started}ms peer ${i} sees ${c.peers.findIndex((p) => p.peerId === e.detail.peerId)} ${e.detail.state}@${e.detail.incarnation} (${type})`) })
      }
    }
    await new Promise<void>((resolve) => setTimeout(resolve, 20_000))
    expect(changes).toEqual([])
    expect(agreed(c, all)).toEqual(healed)
  }, 180_000)

  it('terms survive a restart: a restarted peer never goes back', async () => {
    cluster = await createCluster({ size: 2, peers: [{ priority: 1 }, { priority: 2 }] })
    const c = cluster
    const before = await agreement(c, [0, 1], 1)
    await c.kill(0)
    const restarted = await c.restart(0)
    expect(restarted.election.term()).toBeGreaterThanOrEqual(before.term)
  })
})
