import type { Dot, Ordering, VectorClock } from './types.js'

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
