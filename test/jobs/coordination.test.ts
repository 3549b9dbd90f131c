import { describe, it, expect, afterEach } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { agreement } from '../election/agreement.js'

let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

describe('coordination jobs', () => {
  it('run only on the coordinator, move after a kill, never overlap in one component; a quorum job stops in the minority', async () => {
    cluster = await createCluster({ size: 5, peers: [0, 1, 2, 3, 4].map((p) => ({ priority: p })) })
    const c = cluster
    const runs: Array<{ peer: number, term: number, start: number, end: number, leading: boolean }> = []
    const quorumRuns: Array<{ peer: number, start: number }> = []
    const define = (i: number): void => {
      c.peers[i]!.jobs.define('tick', { every: 200 }, async ({ term, signal }) => {
        const start = performance.now()
        const leader = c.peers[i]!.leader()
        const leading = leader?.peerId === c.peers[i]!.peerId && leader.term === term
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 50)
          signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
        })
        runs.push({ peer: i, term, start, end: performance.now(), leading })
      })
      c.peers[i]!.jobs.define('quorum-tick', { every: 200, quorum: true }, async () => {
        quorumRuns.push({ peer: i, start: performance.now() })
      })
    }
    for (let i = 0; i < 5; i++) define(i)
    await c.converged({ timeout: 30_000 })
    await agreement(c, [0, 1, 2, 3, 4], 4)
    const agreedAt = performance.now()
    await expect.poll(() => runs.filter((r) => r.peer === 4 && r.start > agreedAt).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    // Once everyone follows peer 4, only peer 4 runs the job; before that, a run happened only
    // on a peer that was coordinator (of what it saw) at the time, with its own term.
    expect(new Set(runs.filter((r) => r.start > agreedAt).map((r) => r.peer))).toEqual(new Set([4]))
    expect(runs.every((r) => r.leading)).toBe(true)

    await c.kill(4)
    await agreement(c, [0, 1, 2, 3], 3)
    await expect.poll(() => runs.filter((r) => r.peer === 3).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3)

    // Runs never overlapped across peers within one connected component: from the moment
    // all five agreed (before that, a peer alone at start-up is its own component and may
    // lead it) through the kill and handover.
    const sorted = runs.filter((r) => r.start > agreedAt).sort((a, b) => a.start - b.start)
    for (let k = 1; k < sorted.length; k++) {
      if (sorted[k]!.peer !== sorted[k - 1]!.peer) expect(sorted[k]!.start).toBeGreaterThanOrEqual(sorted[k - 1]!.end)
    }

    // Minority side: peers 0 and 1 of the 4 known alive + 1 dead member (peer 4).
    await c.partition([0, 1], [2, 3])
    await agreement(c, [0, 1], 1)
    await expect.poll(() => c.peers[1]!.members().filter((m) => m.state === 'alive').length, { timeout: 30_000 }).toBe(2)
    const mark = performance.now()
    // The plain job keeps running on the minority coordinator (an AP system keeps going);
    // over those same periods the quorum job must not run there.
    await expect.poll(() => runs.filter((r) => r.peer === 1 && r.start > mark).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    expect(quorumRuns.filter((r) => r.peer === 1 && r.start > mark)).toEqual([])
    expect(c.peers[1]!.jobs.hasQuorum()).toBe(false)

    // Every peer can list the recorded runs.
    await c.heal()
    await c.converged({ timeout: 60_000 })
    const listed = c.peers[0]!.jobs.list().find((j) => j.name === 'tick')!
    expect(listed.runs.length).toBeGreaterThan(0)
    expect(listed.runs.every((r) => r.outcome === 'ok' || r.outcome === 'aborted')).toBe(true)
  }, 180_000)
})
