import { compareHlc } from './hlc.js'
import { canonicalJson, deepFreeze } from './json.js'
import type { Dot, Json, ValueType, Version, WriteRecord } from './types.js'

export interface View {
  type: ValueType | undefined
  value: Json | undefined
}

/** What the store keeps per key: the live records and what they need to stay correct. */
export interface KeyState {
  /** Live value records (put, counter, set-add). */
  readonly live: Set<WriteRecord>
  /** Records of this key held, live or not: at 0 the whole entry can go. */
  held: number
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

export function compareDots (a: Dot, b: Dot): number {
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1
  return a.seq - b.seq
}

export function freezeRecord (record: WriteRecord): WriteRecord {
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

export function link (state: KeyState, record: WriteRecord): void {
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

export function unlink (state: KeyState, record: WriteRecord): void {
  state.live.delete(record)
  if (record.op.type !== 'set-add') return
  const canon = elementCanon(record)
  const adds = state.elements?.get(canon)
  adds?.delete(record)
  if (adds?.size === 0) state.elements?.delete(canon)
}

/** Every live register version of the key, newest first (the first is the register's winner). */
export function registerVersions (state: KeyState): Version[] {
  const puts = [...state.live.values()].filter((r) => r.op.type === 'put').sort((a, b) => compareRecords(b, a))
  return puts.map((r) => ({ value: (r.op as { value: Json }).value, clock: r.clock, author: r.dot.replica, hlc: r.hlc, dot: r.dot }))
}

export function computeView (state: KeyState): View {
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
      // Each author's record carries its running totals, so only its newest live one counts:
      // an older one still live (the write that superseded it has not arrived) is already in it.
      const newestByAuthor = new Map<string, WriteRecord>()
      for (const r of state.live.values()) {
        if (r.op.type !== 'counter') continue
        const seen = newestByAuthor.get(r.dot.replica)
        if (seen === undefined || r.dot.seq > seen.dot.seq) newestByAuthor.set(r.dot.replica, r)
      }
      // Summed in dot order so floating-point rounding is the same on every replica.
      const counters = [...newestByAuthor.values()].sort((a, b) => compareDots(a.dot, b.dot))
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
export function firstAbove (log: readonly WriteRecord[], seq: number): number {
  let lo = 0
  let hi = log.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((log[mid] as WriteRecord).dot.seq <= seq) lo = mid + 1
    else hi = mid
  }
  return lo
}
