import { describe, it, expect, afterEach } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'

let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

/** The leader every listed peer follows, when they all agree; a string explaining why not otherwise. */
function agreed (c: Cluster, indices: number[]): { peerId: string, term: number } | string {
  const views = indices.map((i) => c.peers[i]!.leader())
  const first = views[0]
  if (first === undefined) return `peer ${indices[0]} has no leader`
  for (const [n, v] of views.entries()) {
    if (v?.peerId !== first.peerId || v.term !== first.term) return `peer ${indices[n]} follows ${v?.peerId ?? 'nobody'}@${v?.term ?? '-'}, peer ${indices[0]} ${first.peerId}@${first.term}`
    // Settled: nobody has seen a term above the leader's (that would still trigger a claim).
    const seen = c.peers[indices[n]!]!.election.term()
    if (seen !== first.term) return `peer ${indices[n]} has seen term ${seen}, above the leader's ${first.term}`
  }
  return first
}

async function agreement (c: Cluster, indices: number[], expected: number, timeout = 30_000): Promise<{ peerId: string, term: number }> {
  const describe = (): string => {
    const view = agreed(c, indices)
    if (typeof view === 'string') return view
    return view.peerId === c.peers[expected]!.peerId ? 'ok' : `all follow ${view.peerId}, not peer ${expected}`
  }
  await expect.poll(describe, { timeout, interval: 50 }).toBe('ok')
  const settled = agreed(c, indices)
  if (typeof settled === 'string') throw new Error(settled)
  return settled
}

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
