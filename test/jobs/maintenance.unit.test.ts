import { describe, expect, it } from 'vitest'
import { createJobs, defineMaintenance, GC_JOB, PRUNE_JOB, StaleVectorError } from '../../src/jobs/index.js'
import type { JobFunction, JobOptions, MaintenanceMember, MaintenanceStore } from '../../src/jobs/index.js'
import type { Json, RemoteVector, VectorClock } from '../../src/replica/index.js'
import { GC_KEY, RETIRED_PREFIX } from '../../src/replica/index.js'

/** The jobs' decisions with a store and a membership made by hand. */
function harness (init: { own: VectorClock, remotes: Record<string, VectorClock>, members: MaintenanceMember[], collectible?: (h: VectorClock) => number, retired?: Map<string, number> }) {
  let time = 1_000_000
  const puts: Array<[string, Json]> = []
  const synced: string[] = []
  const remotes = new Map<string, RemoteVector>()
  const store: MaintenanceStore = {
    remoteVectors: () => new Map(remotes),
    syncWith: async (peerId) => {
      synced.push(peerId)
      const vector = init.remotes[peerId]
      if (vector !== undefined) remotes.set(peerId, { vector, horizon: {}, at: time })
    },
    ownVector: () => init.own,
    gcTarget: () => ({}),
    collectible: (h) => init.collectible?.(h) ?? 1,
    retirements: () => init.retired ?? new Map(),
    // Recorded as the key and value the store writes for each, so the assertions read as what lands in the store.
    publishHorizon: async (vector, term) => { puts.push([GC_KEY, { vector, term }]) },
    retire: async (replica, seq, term) => { puts.push([`${RETIRED_PREFIX}${replica}`, { seq, term }]) }
  }
  const jobs = new Map<string, { options: JobOptions, run: JobFunction }>()
  defineMaintenance({ jobs: { define: (name, options, run) => { jobs.set(name, { options, run }) } }, store, members: () => init.members, now: () => time }, { profile: 'local', pruneAfter: 5_000 })
  const run = async (name: string): Promise<unknown> => jobs.get(name)!.run({ term: 7, signal: new AbortController().signal })
  return { jobs, puts, synced, run, advance: (ms: number) => { time += ms }, at: () => time }
}

const member = (peerId: string, state: string, self = false, stateSince = 0): MaintenanceMember => ({ peerId, addresses: [], state, stateSince, self })

describe('hearsay.gc decisions', () => {
  it('is a leader-only quorum job; publishes the minimum of every current member\'s vector, asking stale ones first', async () => {
    const h = harness({
      own: { A: 5, B: 3, C: 9 },
      remotes: { B: { A: 4, B: 3, C: 9 }, C: { A: 5, B: 2, C: 9 } },
      members: [member('A', 'alive', true), member('B', 'alive'), member('C', 'suspect'), member('D', 'dead')]
    })
    expect(h.jobs.get(GC_JOB)!.options).toMatchObject({ quorum: true, every: 1_000 })
    expect(await h.run(GC_JOB)).toBeUndefined()
    expect(h.synced.sort()).toEqual(['B', 'C'])
    expect(h.puts).toEqual([[GC_KEY, { vector: { A: 4, B: 2, C: 9 }, term: 7 }]])
  })

  it('idle, touching nobody, when nothing would be collected', async () => {
    const h = harness({ own: { A: 5 }, remotes: { B: { A: 5 } }, members: [member('A', 'alive', true), member('B', 'alive')], collectible: () => 0 })
    expect(await h.run(GC_JOB)).toBe('idle')
    expect(h.synced).toEqual([])
    expect(h.puts).toEqual([])
  })

  it('with no other current member, idle while another replica wrote (a restarted peer with an empty view); alone for good, it publishes its own vector', async () => {
    // Just restarted: the view has only us, though B wrote (and may lack our latest writes).
    const restarted = harness({ own: { A: 34, B: 39 }, remotes: {}, members: [member('A', 'alive', true)] })
    expect(await restarted.run(GC_JOB)).toBe('idle')
    const othersDead = harness({ own: { A: 34, B: 39 }, remotes: {}, members: [member('A', 'alive', true), member('B', 'dead')] })
    expect(await othersDead.run(GC_JOB)).toBe('idle')
    expect([...restarted.puts, ...othersDead.puts]).toEqual([])
    // No other replica ever wrote, or the only other one is retired at what we have of it.
    const alone = harness({ own: { A: 5 }, remotes: {}, members: [member('A', 'alive', true)] })
    expect(await alone.run(GC_JOB)).toBeUndefined()
    expect(alone.puts).toEqual([[GC_KEY, { vector: { A: 5 }, term: 7 }]])
    const survivor = harness({ own: { A: 5, B: 3 }, remotes: {}, members: [member('A', 'alive', true)], retired: new Map([['B', 3]]) })
    expect(await survivor.run(GC_JOB)).toBeUndefined()
    expect(survivor.puts).toEqual([[GC_KEY, { vector: { A: 5, B: 3 }, term: 7 }]])
  })

  it('refuses (StaleVectorError) while a current member has no fresh vector', async () => {
    const h = harness({ own: { A: 5 }, remotes: {}, members: [member('A', 'alive', true), member('B', 'suspect')] })
    await expect(h.run(GC_JOB)).rejects.toBeInstanceOf(StaleVectorError)
    await expect(h.run(GC_JOB)).rejects.toMatchObject({ code: 'ERR_STALE_VECTOR' })
    expect(h.puts).toEqual([])
  })
})

describe('hearsay.prune decisions', () => {
  it('retires a replica gone for pruneAfter once every member has the same seq of it, and not before', async () => {
    const h = harness({
      own: { A: 5, D: 4 },
      remotes: { B: { A: 5, D: 4 } },
      members: [member('A', 'alive', true), member('B', 'alive'), member('D', 'dead', false, 1_000_000)]
    })
    expect(await h.run(PRUNE_JOB)).toBe('idle')
    h.advance(5_000)
    expect(await h.run(PRUNE_JOB)).toBeUndefined()
    expect(h.puts).toEqual([[`${RETIRED_PREFIX}D`, { seq: 4, term: 7 }]])
  })

  it('waits while members disagree on its seq, and never retires a current member', async () => {
    const h = harness({
      own: { A: 5, D: 4, E: 2 },
      remotes: { B: { A: 5, D: 3, E: 2 }, E: { A: 5, D: 4, E: 2 } },
      members: [member('A', 'alive', true), member('B', 'alive'), member('D', 'left', false, 0), member('E', 'suspect', false, 0)]
    })
    h.advance(10_000)
    await h.run(PRUNE_JOB)
    h.advance(10_000)
    expect(await h.run(PRUNE_JOB)).toBe('idle')
    expect(h.puts).toEqual([])
  })

  it('a replica that is already retired at the seq we have is left alone', async () => {
    const h = harness({
      own: { A: 5, D: 4 },
      remotes: { B: { A: 5, D: 4 } },
      members: [member('A', 'alive', true), member('B', 'alive'), member('D', 'dead', false, 0)],
      retired: new Map([['D', 4]])
    })
    h.advance(10_000)
    await h.run(PRUNE_JOB)
    h.advance(10_000)
    expect(await h.run(PRUNE_JOB)).toBe('idle')
  })
})

describe('jobs: idle runs', () => {
  it('a run that resolves to "idle" is not recorded; others are', async () => {
    const recorded: string[] = []
    const jobs = createJobs({
      selfId: 'me',
      leader: () => ({ peerId: 'me', term: 1 }),
      onLeaderChange: () => () => {},
      members: () => [{ state: 'alive' }],
      onMembersChanged: () => () => {},
      store: { put: async (key) => { recorded.push(key) }, versions: () => [] }
    })
    let idle = 0
    let busy = 0
    jobs.define('idle', { every: 10 }, () => { idle++; return 'idle' })
    jobs.define('busy', { every: 10 }, () => { busy++ })
    jobs.start()
    try {
      await expect.poll(() => idle >= 3 && busy >= 3, { timeout: 5_000 }).toBe(true)
    } finally {
      jobs.stop()
    }
    expect(recorded.length).toBeGreaterThanOrEqual(3)
    expect(new Set(recorded)).toEqual(new Set(['hearsay/jobs/busy']))
  })
})
