/**
 * The GC side of a replica: what the coordinator published (the horizon under GC_KEY and the
 * retirements under RETIRED_PREFIX), adopting a horizon once this replica covers it, acting
 * on the horizon a peer offers in anti-entropy, and compacting the log once enough was
 * collected.
 */
import type { Log } from '../log.js'
import type { DurableLog } from '../storage/index.js'
import { logSnapshot } from './replica-log.js'
import { GC_KEY, parseHorizon, parseRetirement, RETIRED_PREFIX, retiredDigest } from './gc.js'
import { settleOffer, type Session } from './session.js'
import type { Provenance } from './seal.js'
import type { ReplicaState } from './store.js'
import type { ReplicationCounters } from './stats.js'
import type { VectorClock } from './types.js'
import { joinVectors, vectorLeq } from './version-vector.js'

export interface HorizonComponents {
  state: ReplicaState
  provenance: Provenance
  counters: ReplicationCounters
  logger: Log
  /** The open log, if any (compaction rewrites it). */
  log: () => DurableLog | undefined
  /** False before start and after stop: nothing is adopted or compacted then. */
  running: () => boolean
}

export class HorizonKeeper {
  private readonly c: HorizonComponents
  /** Join of the horizons published under GC_KEY (live versions): what this replica adopts once it covers it. */
  private target: VectorClock = {}
  private retired = new Map<string, number>()
  private retiredName = ''
  private refreshDue = false
  private compacting: Promise<void> | undefined
  /** Records collected or dropped (gcCounts) when the log was last compacted. */
  private compactedAt = 0

  constructor (components: HorizonComponents) {
    this.c = components
  }

  /** The horizon the coordinator published (the join of its live versions), adopted or not. */
  published (): VectorClock {
    return joinVectors(this.target, this.c.state.horizon())
  }

  /** The published target alone, for deciding whether a peer's offered horizon is believed. */
  publishedTarget (): VectorClock {
    return this.target
  }

  /** Retired replicas and the seq they were retired at. */
  retirements (): Map<string, number> {
    return new Map(this.retired)
  }

  /** Names the current set of retirements (see `retiredDigest`). */
  retirementsName (): string {
    return this.retiredName
  }

  /** Whether a change to this key changes what the keeper knows. */
  static isBookkeeping (key: string): boolean {
    return key === GC_KEY || key.startsWith(RETIRED_PREFIX)
  }

  /** GC_KEY or a retirement changed: re-read them once the current change is over. */
  changed (): void {
    if (this.refreshDue) return
    this.refreshDue = true
    // Not now: this runs inside the store's insert, which must not be re-entered.
    queueMicrotask(() => {
      this.refreshDue = false
      this.refresh()
      if (this.c.running()) this.maybeAdopt()
    })
  }

  refresh (): void {
    const { state } = this.c
    const published = state.versions(GC_KEY).map((v) => parseHorizon(v.value)?.vector ?? {})
    this.target = joinVectors(...published)
    const retired = new Map<string, number>()
    for (const [key, value] of state.list(RETIRED_PREFIX)) {
      const retirement = parseRetirement(value)
      const replica = key.slice(RETIRED_PREFIX.length)
      if (retirement !== undefined && replica.length > 0) retired.set(replica, retirement.seq)
    }
    this.retired = retired
    this.retiredName = retiredDigest(retired)
    state.setRetired(retired)
  }

  /** Adopts the published horizon once this replica covers it. */
  maybeAdopt (): void {
    const { state } = this.c
    const current = state.horizon()
    const next = joinVectors(current, this.target)
    if (vectorLeq(next, current) || !state.covers(next)) return
    state.adoptHorizon(next)
    this.c.counters.gcAdoptions++
    this.afterCollect()
  }

  /** New records arrived: they may complete us for the published horizon, or remove records below it. */
  afterApply (): void {
    this.maybeAdopt()
    this.afterCollect()
  }

  /** A peer told us its horizon in anti-entropy: adopt it, or catch up to it (see settleOffer). */
  settle (session: Session, corroborated?: (horizon: VectorClock) => boolean): void {
    const settled = settleOffer(this.c.state, session, this.target, corroborated)
    if (settled.outcome === 'none') return
    if (settled.outcome === 'refused') {
      this.c.counters.horizonOffersRefused++
      return
    }
    if (settled.outcome === 'deferred') {
      this.c.counters.horizonOffersDeferred++
      return
    }
    this.c.counters.gcAdoptions++
    this.afterCollect()
    this.maybeAdopt()
  }

  /** Waits for a compaction in progress. */
  async idle (): Promise<void> {
    await this.compacting
  }

  /**
   * Rewrites the log without what was collected, once that is at least a quarter of it:
   * compaction is not needed for safety (a restart from the longer log replays the records
   * and collects them again, or catches up from a peer), only for space and replay time.
   */
  private afterCollect (): void {
    const { collected, dropped } = this.c.state.gcCounts()
    const log = this.c.log()
    if (log === undefined || !this.c.running() || this.compacting !== undefined) return
    const gone = collected + dropped - this.compactedAt
    if (gone === 0 || gone * 4 < log.stats().records) return
    this.compactedAt = collected + dropped
    this.compacting = log.rewrite(logSnapshot(this.c.state, this.c.provenance))
      .then(() => {
        this.c.counters.compactions++
        this.c.logger.info({ records: log.stats().records }, 'compacted the log')
      }, (err: unknown) => { this.c.logger.warn({ err }, 'log compaction failed; the longer log stays and is still correct') })
      .finally(() => { this.compacting = undefined })
  }
}
