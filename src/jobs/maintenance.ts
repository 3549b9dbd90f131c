/**
 * The built-in maintenance jobs: the ones that need one decider, so only the coordinator
 * runs them.
 *
 * - `hearsay.gc` publishes a GC horizon: the entry-wise minimum of the version vectors of
 *   every current member (alive or suspect, itself included), joined with the horizon
 *   published before. Every replica that covers it collects what it allows (see
 *   ReplicaState.adoptHorizon); one that is behind catches up through anti-entropy.
 * - `hearsay.prune` retires replicas of members gone (dead or left) for `pruneAfter`, once
 *   every current member has the same seq of them: new clocks and HELLO vectors then leave
 *   them out.
 *
 * Neither makes a replica unsafe when its inputs are stale or two coordinators overlap: a
 * horizon is adopted only by a replica that covers it, and a retirement only shortens what
 * is sent, never what is held. Staleness costs progress, not data.
 */
import { GC_KEY, joinVectors, meetVectors, seqOf, vectorLeq } from '../replica/index.js'
import type { RemoteVector, VectorClock } from '../replica/index.js'
import { StaleVectorError } from './errors.js'
import { jobKey, type Jobs, type JobResult } from './jobs.js'
import { forProfile, type Profile } from '../profile.js'

export const GC_JOB = 'hearsay.gc'
export const PRUNE_JOB = 'hearsay.prune'

export interface MaintenanceOptions {
  /** How often the coordinator tries to publish a GC horizon. @default 1_000 local, 60_000 lan (ms) */
  gcEvery?: number
  /** How often the coordinator looks for replicas to retire. @default 1_000 local, 60_000 lan (ms) */
  pruneEvery?: number
  /** How long a member must have been dead or left before its replica is retired. @default 5_000 local, 600_000 lan (ms) */
  pruneAfter?: number
  /** A member's vector older than this is refreshed by an anti-entropy round before it is used. @default the job's period (ms) */
  maxVectorAge?: number
}

export interface MaintenanceInit extends MaintenanceOptions {
  /** @default DEFAULT_PROFILE ('lan') */
  profile?: Profile
}

const DEFAULTS: Readonly<Record<Profile, { gcEvery: number, pruneEvery: number, pruneAfter: number }>> = {
  local: { gcEvery: 1_000, pruneEvery: 1_000, pruneAfter: 5_000 },
  lan: { gcEvery: 60_000, pruneEvery: 60_000, pruneAfter: 600_000 }
}

/** A run may take this long at least: it can wait for an anti-entropy round with each member. */
const MIN_TIMEOUT = 15_000

export interface MaintenanceMember {
  peerId: string
  addresses: string[]
  state: string
  /** ms since the epoch: when `state` last changed. */
  stateSince: number
  self: boolean
}

/** What the jobs need of the store (Replication has all of it). */
export interface MaintenanceStore {
  remoteVectors: () => Map<string, RemoteVector>
  syncWith: (peerId: string, addresses: string[]) => Promise<void>
  ownVector: () => VectorClock
  gcTarget: () => VectorClock
  collectible: (horizon: VectorClock, skip?: (key: string) => boolean) => number
  retirements: () => Map<string, number>
  /** Publishes a GC horizon in the replicated store (the store alone knows its format). */
  publishHorizon: (vector: VectorClock, term: number) => Promise<unknown>
  /** Retires a departed replica at `seq`. */
  retire: (replica: string, seq: number, term: number) => Promise<unknown>
}

export interface MaintenanceComponents {
  /** Where the jobs are defined: the peer's jobs. */
  jobs: Pick<Jobs, 'define'>
  store: MaintenanceStore
  members: () => MaintenanceMember[]
  /** @default Date.now */
  now?: () => number
}

/** The records these jobs write themselves: collecting only those is not worth a new horizon (it would never stop). */
function bookkeeping (key: string): boolean {
  return key === GC_KEY || key === jobKey(GC_JOB) || key === jobKey(PRUNE_JOB)
}

function isCurrent (member: MaintenanceMember): boolean {
  return member.state === 'alive' || member.state === 'suspect'
}

/** Whether `own` names a replica other than ours that is not retired at the seq we have of it. */
function othersWrote (own: VectorClock, view: MaintenanceMember[], retired: Map<string, number>): boolean {
  const self = view.find((m) => m.self)?.peerId
  return Object.keys(own).some((replica) => replica !== self && retired.get(replica) !== seqOf(own, replica))
}

/**
 * The vectors of the given members, each no older than `maxAge`: a member whose last HELLO
 * is older gets an anti-entropy round first. Throws StaleVectorError when one still has
 * none: deciding without it could only be more conservative, but "every member has seen
 * it" would no longer be what the horizon means.
 */
async function freshVectors (store: MaintenanceStore, members: MaintenanceMember[], maxAge: number, now: () => number, signal: AbortSignal): Promise<VectorClock[]> {
  const since = now() - maxAge
  const known = store.remoteVectors()
  const stale = members.filter((m) => (known.get(m.peerId)?.at ?? -Infinity) < since)
  await Promise.all(stale.map(async (m) => store.syncWith(m.peerId, m.addresses).catch(() => {})))
  signal.throwIfAborted()
  const vectors = store.remoteVectors()
  return members.map((m) => {
    const entry = vectors.get(m.peerId)
    if (entry === undefined || entry.at < since) throw new StaleVectorError(m.peerId)
    return entry.vector
  })
}

/** Defines `hearsay.gc` and `hearsay.prune` on a peer's jobs. */
export function defineMaintenance (components: MaintenanceComponents, options: MaintenanceInit = {}): void {
  const jobs = components.jobs
  const defaults = forProfile(DEFAULTS, options.profile)
  const gcEvery = options.gcEvery ?? defaults.gcEvery
  const pruneEvery = options.pruneEvery ?? defaults.pruneEvery
  const pruneAfter = options.pruneAfter ?? defaults.pruneAfter
  const now = components.now ?? Date.now

  jobs.define(GC_JOB, { every: gcEvery, quorum: true, timeout: Math.max(gcEvery, MIN_TIMEOUT) }, async ({ term, signal }): Promise<JobResult> => {
    const store = components.store
    const published = store.gcTarget()
    const own = store.ownVector()
    // A horizon is the meet of the members' vectors, ours among them: one above our own vector
    // means we are behind (wait), or a member wrote a false one (any writer can write GC_KEY).
    // Publishing on top of it would only carry the false entries on, again every period.
    if (!vectorLeq(published, own)) return 'idle'
    // Even if every member had all we have, nothing would go: do not disturb anyone.
    if (store.collectible(joinVectors(published, own), bookkeeping) === 0) return 'idle'
    const view = components.members()
    const others = view.filter((m) => isCurrent(m) && !m.self)
    // With no other member to ask, the meet is our own vector, and our own writes no one else
    // has yet would be collected here for ever: a peer just restarted (its view still empty)
    // did that, and the others never caught up. Alone for good (no other replica ever wrote,
    // or every other one retired), there is no one to wait for.
    if (others.length === 0 && othersWrote(own, view, store.retirements())) return 'idle'
    const vectors = await freshVectors(store, others, options.maxVectorAge ?? gcEvery, now, signal)
    // Published before stays published: concurrent horizons merge by entry-wise max.
    const horizon = joinVectors(published, meetVectors([own, ...vectors]))
    // Republishing what is already published helps no one (we may be the one behind it).
    if (vectorLeq(horizon, published) || store.collectible(horizon, bookkeeping) === 0) return 'idle'
    signal.throwIfAborted()
    await store.publishHorizon(horizon, term)
  })

  // Replicas that left the membership view altogether (reaped): first noticed missing at.
  const absentSince = new Map<string, number>()
  // The seq this coordinator last saw of each replica, and since when: a replica that still
  // writes is not gone, whatever the membership view says (it may lag a return).
  const stable = new Map<string, { seq: number, since: number }>()
  jobs.define(PRUNE_JOB, { every: pruneEvery, quorum: true, timeout: Math.max(pruneEvery, MIN_TIMEOUT) }, async ({ term, signal }): Promise<JobResult> => {
    const store = components.store
    const view = components.members()
    const at = now()
    const own = store.ownVector()
    const retired = store.retirements()
    const departed = new Map(view.filter((m) => m.state === 'dead' || m.state === 'left').map((m) => [m.peerId, m.stateSince]))
    const current = new Set(view.filter(isCurrent).map((m) => m.peerId))
    const candidates: string[] = []
    for (const replica of Object.keys(own)) {
      const seen = stable.get(replica)
      if (seen?.seq !== seqOf(own, replica)) stable.set(replica, { seq: seqOf(own, replica), since: at })
      if (current.has(replica)) {
        absentSince.delete(replica)
        continue
      }
      let since = departed.get(replica)
      if (since === undefined) {
        since = absentSince.get(replica) ?? at
        absentSince.set(replica, since)
      }
      since = Math.max(since, stable.get(replica)?.since ?? at)
      if (at - since < pruneAfter || retired.get(replica) === seqOf(own, replica)) continue
      candidates.push(replica)
    }
    if (candidates.length === 0) return 'idle'
    const others = view.filter((m) => isCurrent(m) && !m.self)
    const vectors = await freshVectors(store, others, options.maxVectorAge ?? pruneEvery, now, signal)
    const ready = candidates.filter((replica) => vectors.every((v) => seqOf(v, replica) === seqOf(own, replica)))
    if (ready.length === 0) return 'idle'
    for (const replica of ready) {
      signal.throwIfAborted()
      await store.retire(replica, seqOf(own, replica), term)
    }
  })
}
