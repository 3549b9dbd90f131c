/**
 * The receive path: a message of sealed batches from the network (a gossip message or an
 * anti-entropy chunk) is decoded once; each batch is checked against the writers list, and
 * its seal verified once, only when it brings a record not held yet; then its records are
 * applied, and every batch that brought something is kept in the log with one append. A
 * batch that fails a check is dropped and counted; it never changes the state.
 */
import type { LogFn } from '../log.js'
import { sealedEntry } from './replica-log.js'
import { openSeal, VerifiedRoots, type Provenance } from './seal.js'
import { decodeSealedBatches, type DecodedSealedBatch } from './seal-codec.js'
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

/** What one message brought. */
export interface Received {
  /** Records new here, applied. */
  fresh: number
  /**
   * Something in it was refused: it did not decode, a seal did not prove its batch, an author
   * is not on the writers list, or a record broke a rule. (Copies of what is held are not.)
   */
  refused: boolean
}

export interface IntakeComponents {
  state: ReplicaState
  provenance: Provenance
  counters: ReplicationCounters
  /** Rate-limited: a sender controls the pace of what we drop. */
  logDropped: LogFn
  /** Whether `signature` is `author`'s over `bytes`. */
  verify: (author: string, bytes: Uint8Array, signature: Uint8Array) => boolean
  /** Authors allowed to write, or undefined for anyone. Read on every batch: it can change at runtime. */
  writers: () => ReadonlySet<string> | undefined
  /** Keeps log entries (sealed batches that brought something new) in the log, with one append; failures are the callee's to count. */
  persist: (entries: Uint8Array[]) => void
  /** Told of every batch applied (tracing); synchronous, must not throw. */
  onApplied?: (batch: AppliedBatch) => void
  /** After new records: they may complete a published horizon, or let records below it go. */
  afterApply: () => void
}

export class Intake {
  private readonly c: IntakeComponents
  private readonly verified = new VerifiedRoots()

  constructor (components: IntakeComponents) {
    this.c = components
  }

  /**
   * Verifies, applies and persists one message of sealed batches; says how many records were
   * new and whether anything was refused. In an anti-entropy session, `session` learns every
   * dot the peer sent and whether all of it was good.
   */
  receive (data: Uint8Array, arrival: Arrival, session?: Session): Received {
    const { counters } = this.c
    let decoded: DecodedSealedBatch[]
    try {
      decoded = decodeSealedBatches(data)
    } catch (err) {
      counters.malformed++
      this.c.logDropped({ from: arrival.from, reason: (err as Error).message }, 'dropped a malformed message of writes')
      if (session !== undefined) session.clean = false
      return { fresh: 0, refused: true }
    }
    const writers = this.c.writers()
    let refused = false
    const fresh: WriteRecord[] = []
    const entries: Uint8Array[] = []
    for (const { batch, bytes } of decoded) {
      if (writers !== undefined && !writers.has(batch.author)) {
        counters.unauthorized += batch.records.length
        this.c.logDropped({ from: arrival.from, author: batch.author, records: batch.records.length }, 'dropped writes by a peer not on the writers list')
        refused = true
      } else {
        const { applied, clean } = this.applySealed(batch, arrival, session)
        if (!clean) refused = true
        if (applied.length > 0) {
          fresh.push(...applied)
          entries.push(sealedEntry(bytes))
        }
      }
      // The peer holds what it sent (the session remembers only dots held here, so after applying).
      if (session !== undefined) for (const record of batch.records) session.vouch(record.dot.replica, [record.dot.seq])
    }
    if (fresh.length === 0) return { fresh: 0, refused }
    counters.writesRemote += fresh.length
    this.c.onApplied?.({ ...arrival, appliedAt: Date.now(), records: fresh })
    this.c.persist(entries)
    this.c.afterApply()
    return { fresh: fresh.length, refused }
  }

  /** One batch: nothing new → nothing to check; otherwise its seal, then its new records. `clean`: nothing in it was refused. */
  private applySealed (batch: DecodedSealedBatch['batch'], arrival: Arrival, session?: Session): { applied: WriteRecord[], clean: boolean } {
    const { state, counters } = this.c
    const news: number[] = []
    batch.records.forEach((record, i) => { if (!state.has(record.dot)) news.push(i) })
    if (news.length === 0) {
      counters.duplicateBatches++
      return { applied: [], clean: true }
    }
    let opened: ReturnType<typeof openSeal>
    try {
      opened = openSeal(batch, this.c.verify, this.verified)
    } catch (err) {
      counters.rejectedBatches++
      counters.rejected += batch.records.length
      this.c.logDropped({ from: arrival.from, author: batch.author, records: batch.records.length, reason: (err as Error).message }, 'dropped a batch of writes whose seal does not prove them its author\'s')
      if (session !== undefined) session.clean = false
      return { applied: [], clean: false }
    }
    const applied: WriteRecord[] = []
    let clean = true
    const leaves: number[] = []
    for (const i of news) {
      const record = batch.records[i] as WriteRecord
      try {
        if (state.apply(record, 'remote') === 'applied') {
          applied.push(record)
          leaves.push(opened.leaves[i] as number)
        }
      } catch {
        counters.rejected++
        clean = false
        if (session !== undefined) session.clean = false
      }
    }
    this.c.provenance.attach(opened.seal, applied, leaves)
    return { applied, clean }
  }
}
