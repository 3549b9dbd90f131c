import { createHash } from 'node:crypto'
import { RecordSet } from './record-set.js'
import { HorizonNotCoveredError, InvalidRecordError, TooManyRemovesError } from './errors.js'
import { counterWrite, deleteWrite, putWrite, setAddWrite, setRemoveWrite, type LocalWriter } from './writes.js'
import { covers, isEmptyVector, joinVectors, omitRetired, removesCovered, seqOf, vectorLeq } from './version-vector.js'
import { HybridClock } from './hlc.js'
import { compareDots, compareRecords, computeView, freezeRecord, link, registerVersions, unlink } from './keystate.js'
import type { KeyState, View } from './keystate.js'
import { KeyIndex } from './key-index.js'
import { dotKey, isSeq, isValueRecord, resolveRecordLimits, validateRecord, validateReplicaId } from './validate.js'
import type { RecordLimits, ResolvedRecordLimits } from './validate.js'
import type { ChangeOrigin, Dot, Json, Op, ReplicaChange, ValueType, VectorClock, Version, WriteRecord } from './types.js'

export interface ReplicaStateInit extends RecordLimits {
  /** Clock for the HLC of local writes; remote records are observed into it. @default new HybridClock(Date.now) */
  clock?: HybridClock
  /**
   * The last seq this replica used in an earlier life (persisted by the storage layer).
   * Local writes continue from `startSeq + 1` so a restarted replica never reuses a dot.
   * @default 0
   */
  startSeq?: number
  /**
   * Called synchronously, after the state has changed, whenever a record changes the live
   * records of its key (so `get(key)` may now answer differently). Must not throw: inside
   * `join` an exception stops the records after it from being applied.
   */
  onChange?: (change: ReplicaChange) => void
}

export type ApplyResult = 'applied' | 'duplicate'

/** What a reconciliation with a replica further ahead did. */
export interface ReconcileResult {
  /** Records dropped because the other replica had collected them. */
  dropped: number
  /** Records collected under the new horizon afterwards. */
  collected: number
}

/**
 * The pure core of one replica: a grow-only set of write records and the key-value view
 * derived from it. Joining is set union, so it is commutative, associative and idempotent
 * by construction, and the view depends only on which records are held, never on the
 * order they arrived in.
 *
 * Mutators apply their record locally at once and return it: the caller persists it,
 * acknowledges once durable, and ships it to peers. No I/O happens here.
 */
export class ReplicaState {
  readonly replicaId: string
  private readonly clock: HybridClock
  private readonly limits: ResolvedRecordLimits
  private readonly onChange: ((change: ReplicaChange) => void) | undefined
  /** The records held, by author in seq order, and every dot seen. */
  private readonly set = new RecordSet()
  private readonly vv = this.set.seen
  private readonly keys = new Map<string, KeyState>()
  /** The same keys in order, for listings and pages. */
  private readonly order = new KeyIndex()
  /** The adopted GC horizon: this replica holds or has collected every dot at or below it. */
  private horizonVector: VectorClock = {}
  private horizonTag = ''
  /** Held records at or below the horizon that are not live but supersede a dot above it, or one still held: collected once neither is true. */
  private readonly deferred = new Set<WriteRecord>()
  /** Retired replica → the seq every member had: left out of new clocks while this replica has exactly that seq. */
  private retired: ReadonlyMap<string, number> = new Map()
  private collectedTotal = 0
  private droppedTotal = 0
  private liveKeys = 0
  private last: number
  /** What the local writes (writes.ts) see of this store. */
  private readonly writer: LocalWriter

  constructor (replicaId: string, init: ReplicaStateInit = {}) {
    this.limits = resolveRecordLimits(init)
    validateReplicaId(replicaId, this.limits, 'replicaId')
    this.replicaId = replicaId
    this.writer = {
      replicaId,
      limits: this.limits,
      state: (key) => this.keys.get(key),
      typeOf: (key) => this.typeOf(key),
      write: (key, op, superseded) => this.write(key, op, superseded)
    }
    this.clock = init.clock ?? new HybridClock(Date.now)
    this.onChange = init.onChange
    this.last = 0
    this.restoreSeq(init.startSeq ?? 0)
  }

  /** The highest seq this replica has used (or restored, or seen of its own). Persist it. */
  get lastSeq (): number {
    return this.last
  }

  /** Never allocate a seq at or below `seq` again (used after a restart). Only moves forward. */
  restoreSeq (seq: number): void {
    if (seq !== 0 && !isSeq(seq)) throw new InvalidRecordError('a restored seq must be an integer >= 0')
    if (seq > this.last) this.last = seq
  }

  // ---- mutators ------------------------------------------------------------------------

  /** Writes a register value, superseding every live record of the key this replica sees. */
  put (key: string, value: Json): WriteRecord {
    return putWrite(this.writer, key, value)
  }

  /** Removes the versions of the key this replica sees; undefined (and no record) when it has none. */
  delete (key: string): WriteRecord | undefined {
    return deleteWrite(this.writer, key)
  }

  increment (key: string, by = 1): WriteRecord {
    return counterWrite(this.writer, key, by, 0)
  }

  decrement (key: string, by = 1): WriteRecord {
    return counterWrite(this.writer, key, 0, by)
  }

  /** Adds an element; re-adding one replaces this replica's own earlier add of it. */
  setAdd (key: string, element: Json): WriteRecord {
    return setAddWrite(this.writer, key, element)
  }

  /** Removes the adds of `element` this replica sees; undefined (and no record) when there are none. */
  setRemove (key: string, element: Json): WriteRecord | undefined {
    return setRemoveWrite(this.writer, key, element)
  }

  // ---- join ----------------------------------------------------------------------------

  /**
   * Joins one record (from a peer, or replayed from the log). Validates it first and
   * throws a typed error, changing nothing, when it breaks a rule. Takes ownership: the
   * record is frozen and kept. `origin` is only passed on to `onChange`.
   */
  apply (record: WriteRecord, origin: ChangeOrigin = 'remote'): ApplyResult {
    validateRecord(record, this.limits)
    if (this.vv.has(record.dot)) return 'duplicate'
    this.insert(freezeRecord(record), origin)
    return 'applied'
  }

  /** Joins many records: all are validated before any is applied. Returns how many were new. */
  join (records: Iterable<WriteRecord>, origin: ChangeOrigin = 'remote'): number {
    const batch = [...records]
    for (const record of batch) validateRecord(record, this.limits)
    let applied = 0
    for (const record of batch) {
      if (this.vv.has(record.dot)) continue
      this.insert(freezeRecord(record), origin)
      applied++
    }
    return applied
  }

  // ---- derived view --------------------------------------------------------------------

  /** The key's value: a register's winner, a counter's total, a set's sorted members; undefined when none. */
  get (key: string): Json | undefined {
    const state = this.keys.get(key)
    return state === undefined ? undefined : this.view(state).value
  }

  /** What the key holds, decided by its newest live record; undefined when missing or deleted. */
  typeOf (key: string): ValueType | undefined {
    const state = this.keys.get(key)
    return state === undefined ? undefined : this.view(state).type
  }

  /** Every live register version of the key, newest first (the first is `get`'s winner). */
  versions (key: string): Version[] {
    const state = this.keys.get(key)
    return state === undefined ? [] : registerVersions(state)
  }

  /**
   * `[key, value]` of the keys under `prefix` that have a value, sorted by key (UTF-16 order):
   * every one, or a page of at most `limit` strictly after `after`. Costs the page (and the
   * deleted keys it steps over), not the store.
   */
  list (prefix = '', page: { after?: string, limit?: number } = {}): Array<[string, Json]> {
    const out: Array<[string, Json]> = []
    const limit = page.limit ?? Number.POSITIVE_INFINITY
    if (!(limit > 0)) return out
    for (const key of this.order.range(prefix, page.after)) {
      const state = this.keys.get(key) as KeyState
      if (state.live.size === 0) continue
      const value = this.view(state).value
      if (value === undefined) continue
      out.push([key, value])
      if (out.length >= limit) break
    }
    return out
  }

  /** Keys with a value. */
  size (): number {
    return this.liveKeys
  }

  /** Records held, live or not. */
  recordCount (): number {
    return this.set.size
  }

  has (dot: Dot): boolean {
    return this.vv.has(dot)
  }

  /** The highest seq of `replica` held or seen, gaps or not (0 when none). */
  highestSeq (replica: string): number {
    return this.vv.highest(replica)
  }

  /** Contiguous maxima of the dots held, per replica: what to send a peer for anti-entropy. */
  versionVector (): VectorClock {
    return this.vv.toJSON()
  }

  /**
   * Every record held whose dot the vector (contiguous maxima) does not cover, ordered by
   * author id then seq, at most `limit` of them. Costs O(authors + answer), not O(store).
   *
   * To page, raise `vv[author]` to the highest seq already sent for each author in the
   * answer and ask again: the order guarantees nothing is skipped.
   */
  recordsSince (vv: Readonly<VectorClock>, limit = Number.POSITIVE_INFINITY): WriteRecord[] {
    return this.set.since(vv, limit)
  }

  /** Every record held, each author's in seq order (for snapshots and full joins). */
  allRecords (): IterableIterator<WriteRecord> {
    return this.set.all()
  }

  /**
   * Equal on two replicas exactly when (barring hash collisions) they hold the same records
   * under the same GC horizon. Two replicas with the same writes and the same horizon hold
   * the same records (collection is a function of both), so "same writes" still means
   * "same digest" once they agree on the horizon. Without a horizon it is the digest of the
   * dots held alone, as it always was.
   */
  digest (): string {
    const held = this.set.digest()
    if (this.horizonTag === '') return held
    return createHash('sha256').update(`${held}|${this.horizonTag}`).digest('hex')
  }

  // ---- garbage collection ----------------------------------------------------------------

  /** The adopted GC horizon (empty until one is adopted). */
  horizon (): VectorClock {
    return { ...this.horizonVector }
  }

  /** Records collected since this state was created (some go as soon as what removes them arrives), and records dropped by reconciliation. */
  gcCounts (): { collected: number, dropped: number } {
    return { collected: this.collectedTotal, dropped: this.droppedTotal }
  }

  /** Whether this replica holds or has collected every dot at or below `vector`. */
  covers (vector: Readonly<VectorClock>): boolean {
    for (const replica of Object.keys(vector)) if (seqOf(vector, replica) > this.vv.get(replica)) return false
    return true
  }

  /**
   * Replicas retired at a seq: a new write's clock leaves such a replica out while this
   * replica has exactly that seq of it (a peer that comes back and writes is named again).
   */
  setRetired (retired: ReadonlyMap<string, number>): void {
    this.retired = new Map(retired)
  }

  /**
   * How many held records adopting `horizon` would collect, `skip` aside (a dry run: the
   * coordinator publishes a horizon only when it would collect something worth it).
   */
  collectible (horizon: Readonly<VectorClock>, skip?: (key: string) => boolean): number {
    let n = 0
    for (const record of this.candidates(joinVectors(this.horizonVector, horizon))) {
      if (skip?.(record.key) !== true) n++
    }
    return n
  }

  /**
   * Adopts a GC horizon this replica is complete for and collects what it allows: every
   * held record at or below it that is not live (a delete, a set-remove, a superseded or
   * removed value) and whose own removes are all at or below it. Collected dots stay in the
   * version vector, so they are never accepted again. Safe because every replica that
   * adopts the horizon has seen all of those records: what removed a collected record is
   * known wherever it could matter, and what a collected delete removed is collected too.
   * Returns how many records were collected. Throws HorizonNotCoveredError, changing
   * nothing, when this replica lacks a dot at or below the horizon.
   */
  adoptHorizon (horizon: Readonly<VectorClock>): number {
    return this.adopt(horizon, [])
  }

  /**
   * Held dots at or below both vectors, by replica, seqs ascending: what a replica that has
   * adopted `horizon` still holds there, told to one whose vector is `upTo` so it can drop
   * what was collected.
   */
  keptDots (horizon: Readonly<VectorClock>, upTo: Readonly<VectorClock>): Array<[string, number[]]> {
    const out: Array<[string, number[]]> = []
    for (const replica of Object.keys(horizon).sort()) {
      const limit = Math.min(seqOf(horizon, replica), seqOf(upTo, replica))
      const seqs = this.set.between(replica, 0, limit).map((r) => r.dot.seq)
      if (seqs.length > 0) out.push([replica, seqs])
    }
    return out
  }

  /**
   * Catches up with a replica that adopted `horizon` while this one was away: drops the
   * held records at or below it that the other no longer holds (`vouched` says which it
   * holds: it told us or sent them), counts every dot at or below it as seen, then adopts
   * it. The other collected what it dropped, so those records are not live anywhere that
   * adopted the horizon; writes above the horizon are not touched.
   */
  reconcile (horizon: Readonly<VectorClock>, vouched: (dot: Dot) => boolean): ReconcileResult {
    const gone: WriteRecord[] = []
    for (const replica of Object.keys(horizon)) {
      for (const record of this.set.between(replica, 0, seqOf(horizon, replica))) if (!vouched(record.dot)) gone.push(record)
    }
    this.vv.raiseTo(horizon)
    // Others have seen our own dots up to here: never hand them out again.
    this.restoreSeq(seqOf(horizon, this.replicaId))
    const collected = this.adopt(horizon, gone) - gone.length
    this.collectedTotal -= gone.length
    this.droppedTotal += gone.length
    return { dropped: gone.length, collected }
  }

  /** Restores a horizon from this replica's own checkpoint, after replaying the records it kept. */
  restoreHorizon (horizon: Readonly<VectorClock>): void {
    this.vv.raiseTo(horizon)
    this.restoreSeq(seqOf(horizon, this.replicaId))
    this.adopt(horizon, [])
  }

  // ---- internals -----------------------------------------------------------------------

  /** Builds the next local record, applies it and returns it. Nothing changes when it throws. */
  private write (key: string, op: Op, superseded: WriteRecord[]): WriteRecord {
    if (superseded.length > this.limits.maxRemoves) {
      throw new TooManyRemovesError(`this write would supersede ${superseded.length} records, more than maxRemoves (${this.limits.maxRemoves})`)
    }
    if (this.last >= Number.MAX_SAFE_INTEGER) throw new InvalidRecordError('this replica has used every seq')
    const seq = this.last + 1
    const dot: Dot = { replica: this.replicaId, seq }
    const clock = Object.fromEntries(
      [...Object.entries(omitRetired(this.vv.toJSON(), this.retired)).filter(([r]) => r !== this.replicaId), [this.replicaId, seq] as [string, number]]
        .sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
    )
    const record: WriteRecord = {
      dot,
      key,
      op,
      hlc: this.clock.tick(),
      clock,
      removes: superseded.map((r) => r.dot).sort(compareDots)
    }
    this.insert(freezeRecord(record), 'local')
    return record
  }

  private insert (record: WriteRecord, origin: ChangeOrigin): void {
    const { dot } = record
    this.set.add(record)
    if (dot.replica === this.replicaId && dot.seq > this.last) this.last = dot.seq
    this.clock.observe(record.hlc)

    let state = this.keys.get(record.key)
    if (state === undefined) {
      state = { live: new Set(), held: 0 }
      this.keys.set(record.key, state)
      this.order.add(record.key)
    }
    state.held++
    const wasLive = state.live.size > 0
    let changed = false
    for (const removed of record.removes) {
      const k = dotKey(removed)
      // A dot at or below the horizon never arrives again: no need to remember it is removed.
      const below = covers(this.horizonVector, removed)
      if (!below) {
        state.removed ??= new Set()
        if (state.removed.has(k)) continue
        state.removed.add(k)
      }
      // Looked up by dot in the author's log, so live records need no string key of their own.
      const target = this.set.find(removed)
      if (target !== undefined && state.live.has(target)) {
        unlink(state, target)
        changed = true
        if (below) this.collectTogether(target)
      }
    }
    if (isValueRecord(record) && state.removed?.has(dotKey(dot)) !== true) {
      link(state, record)
      changed = true
    }
    if (!changed) return
    state.view = undefined
    const isLive = state.live.size > 0
    if (wasLive !== isLive) this.liveKeys += isLive ? 1 : -1
    this.onChange?.({ key: record.key, record, origin })
  }

  /** Collects deferred records (and `stopped`, no longer live) until none may go: each one collected may let go one that superseded it. */
  private collectTogether (stopped?: WriteRecord): number {
    if (stopped !== undefined) this.deferred.add(stopped)
    const before = this.collectedTotal
    for (let more = this.candidates(this.horizonVector); more.length > 0; more = this.candidates(this.horizonVector)) {
      this.drop(more, 'remote')
      this.collectedTotal += more.length
    }
    return this.collectedTotal - before
  }

  /** Raises the horizon and drops what it allows collecting, plus `extra`; returns how many records went. */
  private adopt (horizon: Readonly<VectorClock>, extra: WriteRecord[]): number {
    const next = joinVectors(this.horizonVector, horizon)
    if (!this.covers(next)) throw new HorizonNotCoveredError('this replica lacks records at or below the horizon: reconcile with a replica that adopted it')
    if (vectorLeq(next, this.horizonVector) && extra.length === 0) return 0
    const doomed = new Set([...extra, ...this.candidates(next, this.deferred)])
    this.horizonVector = next
    this.horizonTag = isEmptyVector(next) ? '' : JSON.stringify(Object.entries(next))
    this.drop([...doomed], 'remote')
    this.collectedTotal += doomed.size
    return doomed.size + this.collectTogether()
  }

  /**
   * Held records a horizon allows collecting: not live, at or below it, removing only dots
   * at or below it that are no longer held (without it, a held record it superseded would be
   * live again wherever records are read afresh: a restart from a compacted log, a peer
   * catching up). Only dots above the current horizon and the deferred records can be new
   * ones: everything else below it went when it was adopted.
   */
  private candidates (horizon: Readonly<VectorClock>, defer?: Set<WriteRecord>): WriteRecord[] {
    const out: WriteRecord[] = []
    const consider = (record: WriteRecord): void => {
      if (!covers(horizon, record.dot)) return
      if (this.keys.get(record.key)?.live.has(record) === true) return
      if (removesCovered(record, horizon) && !record.removes.some((dot) => this.set.find(dot) !== undefined)) out.push(record)
      else defer?.add(record)
    }
    for (const replica of Object.keys(horizon)) {
      for (const record of this.set.between(replica, seqOf(this.horizonVector, replica), seqOf(horizon, replica))) consider(record)
    }
    for (const record of this.deferred) consider(record)
    return out
  }

  /**
   * Forgets held records: out of the author's log, the digest and the key. Their dots stay
   * in the version vector. A live one (only reconciliation drops those) is unlinked and
   * reported as a change.
   */
  private drop (records: WriteRecord[], origin: ChangeOrigin): void {
    if (records.length === 0) return
    this.set.remove(records)
    for (const record of records) {
      this.deferred.delete(record)
      const state = this.keys.get(record.key)
      if (state === undefined) continue
      state.held--
      // Only dots at or below the horizon: those never arrive again, so no one needs to know.
      for (const removed of record.removes) if (covers(this.horizonVector, removed)) state.removed?.delete(dotKey(removed))
      state.removed?.delete(dotKey(record.dot))
      if (state.live.has(record)) {
        const wasLive = state.live.size > 0
        unlink(state, record)
        state.view = undefined
        if (wasLive && state.live.size === 0) this.liveKeys--
        this.onChange?.({ key: record.key, record, origin })
      }
      // Nothing held names a dot still to come: what was superseded here went with its records.
      if (state.held === 0) {
        this.keys.delete(record.key)
        this.order.delete(record.key)
      }
    }
  }

  private view (state: KeyState): View {
    state.view ??= computeView(state)
    return state.view
  }
}
