/**
 * The receive path: records from the network (a gossip message or an anti-entropy chunk)
 * are decoded, checked against the writers list and their authors' signatures, applied,
 * and persisted, in that order. A record that fails a check is dropped and counted; it
 * never changes the state.
 */
import type { LogFn } from '../log.js'
import { decodeBatch, signingBytes } from './codec.js'
import type { ReplicaState } from './store.js'
import type { Session } from './session.js'
import type { ReplicationCounters } from './stats.js'
import type { WriteRecord } from './types.js'

/** How a write reached this replica. */
export type ArrivalPath = 'local' | 'gossip' | 'anti-entropy'

/** Fresh records applied together, and how they came. */
export interface AppliedBatch {
  path: ArrivalPath
  /** Who handed them over: this peer for a local write, the gossip neighbour, or the anti-entropy partner. */
  from: string
  /** When they arrived (ms since the epoch). */
  receivedAt: number
  /** When they were applied (ms since the epoch). */
  appliedAt: number
  records: readonly WriteRecord[]
}

export type Arrival = Omit<AppliedBatch, 'appliedAt' | 'records'>

export interface IntakeComponents {
  state: ReplicaState
  counters: ReplicationCounters
  /** Rate-limited: a sender controls the pace of what we drop. */
  logDropped: LogFn
  /** Whether `signature` is `author`'s over `bytes`. */
  verify: (author: string, bytes: Uint8Array, signature: Uint8Array) => boolean
  /** Authors allowed to write, or undefined for anyone. Read on every batch: it can change at runtime. */
  writers: () => ReadonlySet<string> | undefined
  /** Keeps applied records (encoded) in the log; failures are the callee's to count. */
  persist: (records: readonly WriteRecord[]) => void
  /** Told of every batch applied (tracing); synchronous, must not throw. */
  onApplied?: (batch: AppliedBatch) => void
  /** After new records: they may complete a published horizon, or let records below it go. */
  afterApply: () => void
}

export class Intake {
  private readonly c: IntakeComponents

  constructor (components: IntakeComponents) {
    this.c = components
  }

  /**
   * Verifies, applies and persists one batch; returns how many records were new. In an
   * anti-entropy session, `session` learns every dot the peer sent and whether all of it
   * was good.
   */
  receive (data: Uint8Array, arrival: Arrival, session?: Session): number {
    const { state, counters } = this.c
    let records: WriteRecord[]
    try {
      records = decodeBatch(data)
    } catch (err) {
      counters.malformed++
      this.c.logDropped({ from: arrival.from, reason: (err as Error).message }, 'dropped a malformed batch of writes')
      if (session !== undefined) session.clean = false
      return 0
    }
    const writers = this.c.writers()
    const fresh: WriteRecord[] = []
    for (const record of records) {
      session?.vouch(record.dot.replica, [record.dot.seq])
      if (state.has(record.dot)) continue
      if (writers !== undefined && !writers.has(record.dot.replica)) {
        counters.unauthorized++
        this.c.logDropped({ from: arrival.from, author: record.dot.replica, key: record.key }, 'dropped a write by a peer not on the writers list')
        continue
      }
      const signature = record.signature
      if (signature === undefined || !this.c.verify(record.dot.replica, signingBytes(record), signature)) {
        counters.rejected++
        this.c.logDropped({ from: arrival.from, author: record.dot.replica, key: record.key }, 'dropped a write whose signature does not verify against its author')
        if (session !== undefined) session.clean = false
        continue
      }
      try {
        if (state.apply(record, 'remote') === 'applied') fresh.push(record)
      } catch {
        counters.rejected++
        if (session !== undefined) session.clean = false
      }
    }
    if (fresh.length === 0) return 0
    counters.writesRemote += fresh.length
    this.c.onApplied?.({ ...arrival, appliedAt: Date.now(), records: fresh })
    this.c.persist(fresh)
    this.c.afterApply()
    return fresh.length
  }
}
