import type { Dot, Ordering, VectorClock, WriteRecord } from './types.js'

interface Entry {
  /** Every seq from 1 to `max` is present. */
  max: number
  /** Seqs above `max + 1` present out of order (the "dot cloud"); never contains `max + 1`. */
  extra: Set<number>
}

/**
 * The set of dots a replica holds, kept compactly as a contiguous maximum per replica plus
 * the few seqs that arrived ahead of a gap. Gossip delivers out of order, so a plain
 * max-per-replica would either claim dots it lacks or forget dots it has.
 */
export class VersionVector {
  private readonly entries = new Map<string, Entry>()

  constructor (init?: Readonly<VectorClock>) {
    if (init != null) {
      for (const [replica, max] of Object.entries(init)) {
        if (max > 0) this.entries.set(replica, { max, extra: new Set() })
      }
    }
  }

  /** Adds a dot; returns false when it was already present. */
  add (dot: Dot): boolean {
    let entry = this.entries.get(dot.replica)
    if (entry == null) {
      entry = { max: 0, extra: new Set() }
      this.entries.set(dot.replica, entry)
    }
    if (dot.seq <= entry.max || entry.extra.has(dot.seq)) return false
    if (dot.seq === entry.max + 1) {
      entry.max = dot.seq
      while (entry.extra.delete(entry.max + 1)) entry.max++
    } else {
      entry.extra.add(dot.seq)
    }
    return true
  }

  has (dot: Dot): boolean {
    const entry = this.entries.get(dot.replica)
    if (entry == null) return false
    return dot.seq <= entry.max || entry.extra.has(dot.seq)
  }

  /** Contiguous maximum of one replica (0 when none). */
  get (replica: string): number {
    return this.entries.get(replica)?.max ?? 0
  }

  /** Highest seq present for a replica, gaps or not (0 when none). */
  highest (replica: string): number {
    const entry = this.entries.get(replica)
    if (entry == null) return 0
    let highest = entry.max
    for (const seq of entry.extra) if (seq > highest) highest = seq
    return highest
  }

  /** Seqs of one replica held above its contiguous maximum, ascending. */
  gaps (replica: string): number[] {
    const extra = this.entries.get(replica)?.extra
    return extra == null ? [] : [...extra].sort((a, b) => a - b)
  }

  replicas (): string[] {
    return [...this.entries.keys()]
  }

  /** Union with another vector (in place). */
  merge (other: VersionVector): this {
    for (const [replica, entry] of other.entries) {
      this.raise(replica, entry.max)
      for (const seq of entry.extra) this.add({ replica, seq })
    }
    return this
  }

  clone (): VersionVector {
    const copy = new VersionVector()
    for (const [replica, entry] of this.entries) {
      copy.entries.set(replica, { max: entry.max, extra: new Set(entry.extra) })
    }
    return copy
  }

  /** The contiguous maxima, replicas sorted, zeros left out: what goes into a record's clock and on the wire. */
  toJSON (): VectorClock {
    const entries: Array<[string, number]> = []
    for (const [replica, entry] of this.entries) if (entry.max > 0) entries.push([replica, entry.max])
    entries.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
    // fromEntries defines own properties, so a replica named "__proto__" stays an entry.
    return Object.fromEntries(entries)
  }

  /** Whether every dot of `this` is in `other`. */
  isSubsetOf (other: VersionVector): boolean {
    for (const [replica, entry] of this.entries) {
      const theirs = other.entries.get(replica)
      const theirMax = theirs?.max ?? 0
      if (entry.max > theirMax) {
        // The run theirMax+1..entry.max must all be in their cloud; it is too small when shorter.
        if (theirs == null || entry.max - theirMax > theirs.extra.size) return false
        for (let seq = theirMax + 1; seq <= entry.max; seq++) if (!theirs.extra.has(seq)) return false
      }
      for (const seq of entry.extra) if (!other.has({ replica, seq })) return false
    }
    return true
  }

  /** Counts every dot at or below `vector` as present (dots collected by GC stay seen). */
  raiseTo (vector: Readonly<VectorClock>): this {
    for (const [replica, max] of Object.entries(vector)) if (typeof max === 'number' && max > 0) this.raise(replica, max)
    return this
  }

  /** Sets a replica's contiguous maximum to at least `max`, absorbing the cloud below it. */
  private raise (replica: string, max: number): void {
    let entry = this.entries.get(replica)
    if (entry == null) {
      entry = { max: 0, extra: new Set() }
      this.entries.set(replica, entry)
    }
    if (max <= entry.max) return
    entry.max = max
    for (const seq of entry.extra) if (seq <= max) entry.extra.delete(seq)
    while (entry.extra.delete(entry.max + 1)) entry.max++
  }
}

/**
 * Causal order of two version vectors, as plain contiguous maxima (record clocks) or as
 * full dot sets.
 */
export function compareVectors (a: VersionVector | Readonly<VectorClock>, b: VersionVector | Readonly<VectorClock>): Ordering {
  const left = a instanceof VersionVector ? a : new VersionVector(a)
  const right = b instanceof VersionVector ? b : new VersionVector(b)
  const leq = left.isSubsetOf(right)
  const geq = right.isSubsetOf(left)
  if (leq && geq) return 'equal'
  if (leq) return 'before'
  if (geq) return 'after'
  return 'concurrent'
}

// ---- vector arithmetic on plain vectors (contiguous maxima) ---------------------------

/** `v[replica]`, 0 when absent (own properties only: a replica may be called "__proto__"). */
export function seqOf (v: Readonly<VectorClock>, replica: string): number {
  if (!Object.hasOwn(v, replica)) return 0
  const seq = v[replica]
  return typeof seq === 'number' && seq > 0 ? seq : 0
}

/** Whether the dot is at or below the vector. */
export function covers (v: Readonly<VectorClock>, dot: Dot): boolean {
  return dot.seq <= seqOf(v, dot.replica)
}

/** Whether every dot a record supersedes is at or below the vector. */
export function removesCovered (record: WriteRecord, v: Readonly<VectorClock>): boolean {
  for (const dot of record.removes) if (!covers(v, dot)) return false
  return true
}

/** `a <= b` entry by entry. */
export function vectorLeq (a: Readonly<VectorClock>, b: Readonly<VectorClock>): boolean {
  for (const replica of Object.keys(a)) if (seqOf(a, replica) > seqOf(b, replica)) return false
  return true
}

/** The same entries (zeros left out on both sides). */
export function sameVector (a: Readonly<VectorClock>, b: Readonly<VectorClock>): boolean {
  return vectorLeq(a, b) && vectorLeq(b, a)
}

export function isEmptyVector (v: Readonly<VectorClock>): boolean {
  return Object.keys(v).every((replica) => seqOf(v, replica) === 0)
}

export function sortedVector (entries: Iterable<[string, number]>): VectorClock {
  const list = [...entries].filter(([, seq]) => seq > 0).sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  return Object.fromEntries(list)
}

/** Entry-wise maximum. */
export function joinVectors (...vectors: Array<Readonly<VectorClock>>): VectorClock {
  const out = new Map<string, number>()
  for (const v of vectors) {
    for (const replica of Object.keys(v)) {
      const seq = seqOf(v, replica)
      if (seq > (out.get(replica) ?? 0)) out.set(replica, seq)
    }
  }
  return sortedVector(out)
}

/** Entry-wise minimum: what every one of the vectors has seen. No vectors → the empty vector. */
export function meetVectors (vectors: Array<Readonly<VectorClock>>): VectorClock {
  const [first, ...rest] = vectors
  if (first === undefined) return {}
  const out = new Map<string, number>()
  for (const replica of Object.keys(first)) {
    let min = seqOf(first, replica)
    for (const v of rest) min = Math.min(min, seqOf(v, replica))
    out.set(replica, min)
  }
  return sortedVector(out)
}

/** A replica's vector with the retired replicas it is complete for left out (for the wire and for clocks). */
export function omitRetired (vector: Readonly<VectorClock>, retired: ReadonlyMap<string, number>): VectorClock {
  if (retired.size === 0) return { ...vector }
  const out: Array<[string, number]> = []
  for (const replica of Object.keys(vector)) {
    const seq = seqOf(vector, replica)
    if (retired.get(replica) !== seq) out.push([replica, seq])
  }
  return sortedVector(out)
}

/** Puts back what `omitRetired` left out (call only when both sides know the same retirements). */
export function expandRetired (vector: Readonly<VectorClock>, retired: ReadonlyMap<string, number>): VectorClock {
  if (retired.size === 0) return { ...vector }
  const out = new Map<string, number>()
  for (const replica of Object.keys(vector)) out.set(replica, seqOf(vector, replica))
  for (const [replica, seq] of retired) if (!out.has(replica)) out.set(replica, seq)
  return sortedVector(out)
}
