import { expect } from 'vitest'
import type { Cluster } from '../../src/harness/index.js'

/** The leader every listed peer follows, when they all agree; a string explaining why not otherwise. */
export function agreed (c: Cluster, indices: number[]): { peerId: string, term: number } | string {
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

/** Waits until every listed peer follows peer `expected` and nobody has seen a higher term. */
export async function agreement (c: Cluster, indices: number[], expected: number, timeout = 30_000): Promise<{ peerId: string, term: number }> {
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
