import { describe, it, expect, afterEach } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import type { Peer } from '../../src/peer.js'
import type { JobRun } from '../../src/jobs/index.js'
import { agreement } from '../election/agreement.js'
import { findOverlaps } from '../../chaos/check.js'

let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

const ROUNDS = 50
/** Every PARTITION_EVERY-th round cuts the coordinator off instead of killing it. */
const PARTITION_EVERY = 5

describe('job runs across coordinators', () => {
  it(`never overlap in time over ${ROUNDS} fail-overs and start-ups of a 3-peer cluster (kills, restarts, partitions of the coordinator)`, async () => {
    cluster = await createCluster({ size: 3, peers: [0, 1, 2].map((p) => ({ priority: p })) })
    const c = cluster
    const runs: Array<JobRun & { index: number }> = []
    // Plain runs while a partition lasts are not checked: each side of a partition may run
    // plain jobs (an AP system keeps going). Quorum runs are checked throughout.
    const partitions: Array<{ from: number, to: number }> = []
    const watch = (index: number, peer: Peer): void => {
      const work = async ({ signal }: { signal: AbortSignal }): Promise<void> => {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 15)
          signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
        })
      }
      peer.jobs.define('fence.plain', { every: 25 }, work)
      peer.jobs.define('fence.quorum', { every: 25, quorum: true }, work)
      peer.jobs.onRun((run) => { if (run.name.startsWith('fence.')) runs.push({ ...run, index }) })
    }
    for (let i = 0; i < 3; i++) watch(i, c.peers[i]!)
    await c.converged({ timeout: 30_000 })
    await agreement(c, [0, 1, 2], 2)

    const ranBy = async (index: number, after: number, name: string): Promise<void> => {
      const id = c.peers[index]!.peerId
      await expect.poll(() => runs.some((r) => r.peer === id && r.name === name && r.start >= after), { timeout: 30_000, interval: 10 }).toBe(true)
    }

    for (let round = 0; round < ROUNDS; round++) {
      const t0 = Date.now()
      if (round % PARTITION_EVERY === PARTITION_EVERY - 1) {
        // Cut the coordinator (peer 2) off: 0 and 1 are the majority; peer 2 keeps leading
        // itself and must stop its quorum runs before peer 1 starts its own.
        await c.partition([2], [0, 1])
        await agreement(c, [0, 1], 1)
        await ranBy(1, t0, 'fence.quorum')
        await c.heal()
        await agreement(c, [0, 1, 2], 2)
        await ranBy(2, Date.now(), 'fence.plain')
        partitions.push({ from: t0, to: Date.now() })
      } else {
        // Kill the coordinator: peer 1 takes over; the restart is a start-up that takes back.
        await c.kill(2)
        await agreement(c, [0, 1], 1)
        await ranBy(1, t0, 'fence.plain')
        const peer = await c.restart(2)
        watch(2, peer)
        await agreement(c, [0, 1, 2], 2)
        await ranBy(2, t0, 'fence.plain')
        // And under its majority lease: otherwise the next kill may come first on a busy machine,
        // and the quorum runs would all be one peer's.
        await ranBy(2, t0, 'fence.quorum')
      }
    }

    const plain = runs.filter((r) => r.name === 'fence.plain' && !partitions.some((p) => r.end > p.from && r.start < p.to))
    const quorum = runs.filter((r) => r.name === 'fence.quorum')
    const plainOverlaps = findOverlaps(plain)
    const quorumOverlaps = findOverlaps(quorum)
    console.log(`overlap test: ${runs.length} runs recorded (${plain.length} plain checked, ${quorum.length} quorum), ` +
      `${plainOverlaps.length + quorumOverlaps.length} overlaps`)
    // It must have had something to find: many runs, by more than one coordinator, each job.
    expect(plain.length).toBeGreaterThanOrEqual(ROUNDS)
    expect(quorum.length).toBeGreaterThanOrEqual(ROUNDS)
    expect(new Set(plain.map((r) => r.peer)).size).toBeGreaterThanOrEqual(2)
    expect(new Set(quorum.map((r) => r.peer)).size).toBeGreaterThanOrEqual(2)
    expect(plainOverlaps).toEqual([])
    expect(quorumOverlaps).toEqual([])
  }, 240_000)
})
