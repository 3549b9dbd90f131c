import { describe, it, expect, afterEach } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import type { DetailEvent } from '../../src/events.js'

let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

/** Records, per viewer, the states each other peer went through. */
function recordTransitions (c: Cluster): Map<string, string[]> {
  const seen = new Map<string, string[]>()
  c.peers.forEach((peer, viewer) => {
    const note = (e: DetailEvent<{ peerId: string, state: string }>): void => {
      const subject = c.peers.findIndex((p) => p.peerId === e.detail.peerId)
      const key = `${viewer}->${subject}`
      const states = seen.get(key) ?? []
      if (states.at(-1) !== e.detail.state) states.push(e.detail.state)
      seen.set(key, states)
    }
    for (const type of ['member:update', 'member:fail', 'member:join'] as const) peer.addEventListener(type, note)
  })
  return seen
}

describe('a 60 s partition', () => {
  it('each side sees the other suspect, then dead; after heal all are alive again with no help from the harness', async () => {
    cluster = await createCluster({ size: 5 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    const transitions = recordTransitions(c)
    const left = [0, 1]
    const right = [2, 3, 4]
    const started = Date.now()
    await c.partition(left, right)
    const stateOf = (viewer: number, subject: number): string | undefined =>
      c.peers[viewer]!.members().find((m) => m.peerId === c.peers[subject]!.peerId)?.state
    const across = left.flatMap((i) => right.flatMap((j) => [[i, j], [j, i]] as const))
    const matrix = (): string => c.peers.map((_p, i) => `${i}: ` + c.peers.map((_q, j) => stateOf(i, j) ?? '-').join(' ')).join(' | ')
    await expect.poll(() => across.every(([i, j]) => stateOf(i, j) === 'dead') ? 'all dead' : matrix(), { timeout: 30_000, interval: 200 }).toBe('all dead')
    for (const [i, j] of across) {
      const states = transitions.get(`${i}->${j}`) ?? []
      expect(states.indexOf('suspect'), `${i}->${j}: ${states.join(' → ')}`).toBeGreaterThanOrEqual(0)
      expect(states.indexOf('suspect')).toBeLessThan(states.indexOf('dead'))
    }
    // Hold the partition for a full minute: longer than libp2p's own reconnect ever retries.
    await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, 60_000 - (Date.now() - started))))
    expect(across.every(([i, j]) => stateOf(i, j) === 'dead')).toBe(true)
    await c.heal()
    await c.converged({ timeout: 60_000 })
  }, 180_000)
})
