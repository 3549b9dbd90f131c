import { SetDigest } from './digest.js'
import { signingBytes } from './codec.js'
import { InvalidAmountError, InvalidRecordError, TooManyRemovesError, WrongTypeError } from './errors.js'
import { compareHlc, HybridClock } from './hlc.js'
import { canonicalJson, deepFreeze } from './json.js'
import { dotKey, isSeq, isValueRecord, resolveRecordLimits, validateKey, validateRecord, validateReplicaId, validateValue } from './validate.js'
import { VersionVector } from './version-vector.js'
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
  /**
   * Signs each local write: receives `signingBytes(record)` and returns the author's
   * signature, which travels with the record so anyone relaying it cannot alter it.
   */
  sign?: (bytes: Uint8Array) => Uint8Array
}

export type ApplyResult = 'applied' | 'duplicate'

interface View {
  type: ValueType | undefined
  value: Json | undefined
}

interface KeyState {
  /** Live value records (put, counter, set-add). */
  readonly live: Set<WriteRecord>
  /** Every dot some record of this key superseded, present here or not yet arrived (created on first use: most keys never need it). */
  removed?: Set<string>
  /** Live set-adds by canonical element, then dot key (created on first use). */
  elements?: Map<string, Set<WriteRecord>>
  view?: View | undefined
}

const canonOf = new WeakMap<WriteRecord, string>()

function elementCanon (record: WriteRecord): string {
  let canon = canonOf.get(record)
  if (canon === undefined) {
    canon = canonicalJson((record.op as { element: Json }).element)
    canonOf.set(record, canon)
  }
  return canon
}

/** Total order of records for "newest wins": HLC, then author id, then seq. */
export function compareRecords (a: WriteRecord, b: WriteRecord): number {
  const byHlc = compareHlc(a.hlc, b.hlc)
  if (byHlc !== 0) return byHlc
  if (a.dot.replica !== b.dot.replica) return a.dot.replica < b.dot.replica ? -1 : 1
  return a.dot.seq - b.dot.seq
}

function compareDots (a: Dot, b: Dot): number {
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1
  return a.seq - b.seq
}

function freezeRecord (record: WriteRecord): WriteRecord {
  if (Object.isFrozen(record)) return record
  deepFreeze(record.op)
  Object.freeze(record.dot)
  Object.freeze(record.hlc)
  Object.freeze(record.clock)
  for (const dot of record.removes) Object.freeze(dot)
  Object.freeze(record.removes)
  // A Uint8Array with elements cannot be frozen; the signature is opaque here anyway.
  return Object.freeze(record)
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
  private readonly sign: ((bytes: Uint8Array) => Uint8Array) | undefined
  private readonly vv = new VersionVector()
  /** Records of each author sorted by seq: "everything of r after n" is a binary search and a slice. */
  private readonly logs = new Map<string, WriteRecord[]>()
  private readonly keys = new Map<string, KeyState>()
  private readonly dotDigest = new SetDigest()
  private records = 0
  private liveKeys = 0
  private last: number

  constructor (replicaId: string, init: ReplicaStateInit = {}) {
    this.limits = resolveRecordLimits(init)
    validateReplicaId(replicaId, this.limits, 'replicaId')
    this.replicaId = replicaId
    this.clock = init.clock ?? new HybridClock(Date.now)
    this.onChange = init.onChange
    this.sign = init.sign
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
    validateKey(key, this.limits)
    const normalized = JSON.parse(validateValue(value, this.limits)) as Json
    return this.write(key, { type: 'put', value: normalized }, [...this.state(key)?.live.values() ?? []])
  }

  /** Removes the versions of the key this replica sees; undefined (and no record) when it has none. */
  delete (key: string): WriteRecord | undefined {
    validateKey(key, this.limits)
    const live = [...this.state(key)?.live.values() ?? []]
    if (live.length === 0) return undefined
    return this.write(key, { type: 'delete' }, live)
  }

  increment (key: string, by = 1): WriteRecord {
    return this.count(key, by, 0)
  }

  decrement (key: string, by = 1): WriteRecord {
    return this.count(key, 0, by)
  }

  /** Adds an element; re-adding one replaces this replica's own earlier add of it. */
  setAdd (key: string, element: Json): WriteRecord {
    validateKey(key, this.limits)
    const normalized = JSON.parse(validateValue(element, this.limits, 'element')) as Json
    this.expectType(key, 'set')
    const adds = this.state(key)?.elements?.get(canonicalJson(normalized))
    const mine = [...adds?.values() ?? []].filter((r) => r.dot.replica === this.replicaId)
    return this.write(key, { type: 'set-add', element: normalized }, mine)
  }

  /** Removes the adds of `element` this replica sees; undefined (and no record) when there are none. */
  setRemove (key: string, element: Json): WriteRecord | undefined {
    validateKey(key, this.limits)
    const normalized = JSON.parse(validateValue(element, this.limits, 'element')) as Json
    this.expectType(key, 'set')
    const adds = [...this.state(key)?.elements?.get(canonicalJson(normalized))?.values() ?? []]
    if (adds.length === 0) return undefined
    return this.write(key, { type: 'set-remove', element: normalized }, adds)
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
    if (state === undefined) return []
    const puts = [...state.live.values()].filter((r) => r.op.type === 'put').sort((a, b) => compareRecords(b, a))
    return puts.map((r) => ({ value: (r.op as { value: Json }).value, clock: r.clock, author: r.dot.replica, hlc: r.hlc, dot: r.dot }))
  }

  /** `[key, value]` of every key under `prefix` that has a value, sorted by key (UTF-16 order). */
  list (prefix = ''): Array<[string, Json]> {
    const out: Array<[string, Json]> = []
    for (const [key, state] of this.keys) {
      if (state.live.size === 0 || !key.startsWith(prefix)) continue
      const value = this.view(state).value
      if (value !== undefined) out.push([key, value])
    }
    return out.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  }

  /** Keys with a value. */
  size (): number {
    return this.liveKeys
  }

  /** Records held, live or not. */
  recordCount (): number {
    return this.records
  }

  has (dot: Dot): boolean {
    return this.vv.has(dot)
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
    const out: WriteRecord[] = []
    if (!(limit > 0)) return out
    for (const replica of [...this.logs.keys()].sort()) {
      const log = this.logs.get(replica) as WriteRecord[]
      const raw = Object.hasOwn(vv, replica) ? vv[replica] : 0
      const covered = typeof raw === 'number' && raw >= 0 ? raw : 0
      for (let i = firstAbove(log, covered); i < log.length; i++) {
        out.push(log[i] as WriteRecord)
        if (out.length >= limit) return out
      }
    }
    return out
  }

  /** Every record held, each author's in seq order (for snapshots and full joins). */
  * allRecords (): IterableIterator<WriteRecord> {
    for (const log of this.logs.values()) yield * log
  }

  /** Equal on two replicas exactly when (barring hash collisions) they hold the same records. */
  digest (): string {
    return this.dotDigest.toString()
  }

  // ---- internals -----------------------------------------------------------------------

  private state (key: string): KeyState | undefined {
    return this.keys.get(key)
  }

  private count (key: string, up: number, down: number): WriteRecord {
    validateKey(key, this.limits)
    const by = up + down
    if (typeof by !== 'number' || !Number.isFinite(by) || by <= 0) {
      throw new InvalidAmountError('a counter changes by a finite number > 0: use decrement to go down')
    }
    this.expectType(key, 'counter')
    const mine = [...this.state(key)?.live.values() ?? []]
      .filter((r) => r.op.type === 'counter' && r.dot.replica === this.replicaId)
      .sort((a, b) => b.dot.seq - a.dot.seq)
    const previous = mine[0]?.op as { p: number, n: number } | undefined
    const p = (previous?.p ?? 0) + up
    const n = (previous?.n ?? 0) + down
    if (!Number.isFinite(p) || !Number.isFinite(n)) {
      throw new InvalidAmountError('the counter would overflow: delete the key to reset it')
    }
    return this.write(key, { type: 'counter', p, n }, mine)
  }

  private expectType (key: string, type: ValueType): void {
    const current = this.typeOf(key)
    if (current !== undefined && current !== type) {
      throw new WrongTypeError(`key holds a ${current}, not a ${type}: delete it first to change its type`)
    }
  }

  /** Builds the next local record, applies it and returns it. Nothing changes when it throws. */
  private write (key: string, op: Op, superseded: WriteRecord[]): WriteRecord {
    if (superseded.length > this.limits.maxRemoves) {
      throw new TooManyRemovesError(`this write would supersede ${superseded.length} records, more than maxRemoves (${this.limits.maxRemoves})`)
    }
    if (this.last >= Number.MAX_SAFE_INTEGER) throw new InvalidRecordError('this replica has used every seq')
    const seq = this.last + 1
    const dot: Dot = { replica: this.replicaId, seq }
    const clock = Object.fromEntries(
      [...Object.entries(this.vv.toJSON()).filter(([r]) => r !== this.replicaId), [this.replicaId, seq] as [string, number]]
        .sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
    )
    const unsigned: WriteRecord = {
      dot,
      key,
      op,
      hlc: this.clock.tick(),
      clock,
      removes: superseded.map((r) => r.dot).sort(compareDots)
    }
    const record = this.sign === undefined ? unsigned : { ...unsigned, signature: this.sign(signingBytes(unsigned)) }
    this.insert(freezeRecord(record), 'local')
    return record
  }

  private insert (record: WriteRecord, origin: ChangeOrigin): void {
    const { dot } = record
    this.vv.add(dot)
    let log = this.logs.get(dot.replica)
    if (log === undefined) {
      log = []
      this.logs.set(dot.replica, log)
    }
    const last = log[log.length - 1]
    if (last === undefined || last.dot.seq < dot.seq) {
      log.push(record)
    } else {
      log.splice(firstAbove(log, dot.seq), 0, record)
    }
    this.records++
    this.dotDigest.add(dot)
    if (dot.replica === this.replicaId && dot.seq > this.last) this.last = dot.seq
    this.clock.observe(record.hlc)

    let state = this.keys.get(record.key)
    if (state === undefined) {
      state = { live: new Set() }
      this.keys.set(record.key, state)
    }
    const wasLive = state.live.size > 0
    let changed = false
    for (const removed of record.removes) {
      const k = dotKey(removed)
      state.removed ??= new Set()
      if (state.removed.has(k)) continue
      state.removed.add(k)
      // Looked up by dot in the author's log, so live records need no string key of their own.
      const target = this.find(removed)
      if (target !== undefined && state.live.has(target)) {
        this.unlink(state, target)
        changed = true
      }
    }
    if (isValueRecord(record) && state.removed?.has(dotKey(dot)) !== true) {
      this.link(state, record)
      changed = true
    }
    if (!changed) return
    state.view = undefined
    const isLive = state.live.size > 0
    if (wasLive !== isLive) this.liveKeys += isLive ? 1 : -1
    this.onChange?.({ key: record.key, record, origin })
  }

  private link (state: KeyState, record: WriteRecord): void {
    state.live.add(record)
    if (record.op.type !== 'set-add') return
    const canon = elementCanon(record)
    state.elements ??= new Map()
    let adds = state.elements.get(canon)
    if (adds === undefined) {
      adds = new Set()
      state.elements.set(canon, adds)
    }
    adds.add(record)
  }

  private unlink (state: KeyState, record: WriteRecord): void {
    state.live.delete(record)
    if (record.op.type !== 'set-add') return
    const canon = elementCanon(record)
    const adds = state.elements?.get(canon)
    adds?.delete(record)
    if (adds?.size === 0) state.elements?.delete(canon)
  }

  /** The record held for a dot, if any. */
  private find (dot: Dot): WriteRecord | undefined {
    const log = this.logs.get(dot.replica)
    if (log === undefined) return undefined
    // Without gaps the record of seq n sits at index n - 1.
    const direct = log[dot.seq - 1]
    if (direct?.dot.seq === dot.seq) return direct
    const candidate = log[firstAbove(log, dot.seq) - 1]
    return candidate?.dot.seq === dot.seq ? candidate : undefined
  }

  private view (state: KeyState): View {
    state.view ??= computeView(state)
    return state.view
  }
}

function computeView (state: KeyState): View {
  let newest: WriteRecord | undefined
  for (const record of state.live.values()) {
    if (newest === undefined || compareRecords(record, newest) > 0) newest = record
  }
  if (newest === undefined) return { type: undefined, value: undefined }
  switch (newest.op.type) {
    case 'put':
      // The newest live record is a put, so it is also the newest put: the register's winner.
      return { type: 'register', value: newest.op.value }
    case 'counter': {
      // Summed in dot order so floating-point rounding is the same on every replica.
      const counters = [...state.live.values()].filter((r) => r.op.type === 'counter').sort((a, b) => compareDots(a.dot, b.dot))
      let total = 0
      for (const r of counters) {
        const { p, n } = r.op as { p: number, n: number }
        total += p - n
      }
      return { type: 'counter', value: total }
    }
    default: {
      const members: Array<[string, Json]> = []
      for (const [canon, adds] of state.elements ?? []) {
        // Equal elements may differ in key order; the newest add's spelling is the same everywhere.
        let pick: WriteRecord | undefined
        for (const r of adds.values()) if (pick === undefined || compareRecords(r, pick) > 0) pick = r
        if (pick !== undefined) members.push([canon, (pick.op as { element: Json }).element])
      }
      members.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
      return { type: 'set', value: Object.freeze(members.map(([, element]) => element)) as Json[] }
    }
  }
}

/** Index of the first record with seq > `seq` in a log sorted by seq. */
function firstAbove (log: readonly WriteRecord[], seq: number): number {
  let lo = 0
  let hi = log.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((log[mid] as WriteRecord).dot.seq <= seq) lo = mid + 1
    else hi = mid
  }
  return lo
}
