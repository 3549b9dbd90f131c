/**
 * The records a replica holds, each author's in seq order, with every dot it has seen (held,
 * or collected by GC) and a digest of the dots it holds. Pure data: what a record means for
 * its key is the store's business (store.ts).
 */
import { SetDigest } from './digest.js'
import { firstAbove } from './keystate.js'
import type { Dot, VectorClock, WriteRecord } from './types.js'
import { seqOf, VersionVector } from './version-vector.js'

export class RecordSet {
  /** Dots held or collected: a collected dot is never accepted again. */
  readonly seen = new VersionVector()
  private readonly logs = new Map<string, WriteRecord[]>()
  private readonly dots = new SetDigest()
  private count = 0

  /** Records held. */
  get size (): number {
    return this.count
  }

  add (record: WriteRecord): void {
    const { dot } = record
    this.seen.add(dot)
    let log = this.logs.get(dot.replica)
    if (log === undefined) {
      log = []
      this.logs.set(dot.replica, log)
    }
    const last = log[log.length - 1]
    if (last === undefined || last.dot.seq < dot.seq) log.push(record)
    else log.splice(firstAbove(log, dot.seq), 0, record)
    this.count++
    this.dots.add(dot)
  }

  /** Forgets held records (their dots stay seen). */
  remove (records: readonly WriteRecord[]): void {
    const byAuthor = new Map<string, Set<WriteRecord>>()
    for (const record of records) {
      let set = byAuthor.get(record.dot.replica)
      if (set === undefined) byAuthor.set(record.dot.replica, set = new Set())
      set.add(record)
    }
    for (const [replica, set] of byAuthor) {
      const log = this.logs.get(replica)
      if (log === undefined) continue
      // In place: callers may hold a reference to the log array. A few records (one
      // overwrite arriving) are found by seq; many (a new horizon) go in one pass.
      const before = log.length
      if (set.size <= 16) {
        for (const record of set) {
          const i = firstAbove(log, record.dot.seq) - 1
          if (log[i] === record) log.splice(i, 1)
        }
      } else {
        let w = 0
        for (const record of log) if (!set.has(record)) log[w++] = record
        log.length = w
      }
      this.count -= before - log.length
      for (const record of set) this.dots.remove(record.dot)
      if (log.length === 0) this.logs.delete(replica)
    }
  }

  /** The record held for a dot, if any. */
  find (dot: Dot): WriteRecord | undefined {
    const log = this.logs.get(dot.replica)
    if (log === undefined) return undefined
    // Without gaps the record of seq n sits at index n - 1.
    const direct = log[dot.seq - 1]
    if (direct?.dot.seq === dot.seq) return direct
    const candidate = log[firstAbove(log, dot.seq) - 1]
    return candidate?.dot.seq === dot.seq ? candidate : undefined
  }

  /** Held records of `replica` with `above` < seq <= `upTo`, in seq order. */
  between (replica: string, above: number, upTo: number): WriteRecord[] {
    const log = this.logs.get(replica)
    if (log === undefined) return []
    return log.slice(firstAbove(log, above), firstAbove(log, upTo))
  }

  /**
   * Every record held whose dot the vector (contiguous maxima) does not cover, ordered by
   * author id then seq, at most `limit` of them. Costs O(authors + answer), not O(store).
   */
  since (vv: Readonly<VectorClock>, limit = Number.POSITIVE_INFINITY): WriteRecord[] {
    const out: WriteRecord[] = []
    if (!(limit > 0)) return out
    for (const replica of [...this.logs.keys()].sort()) {
      const log = this.logs.get(replica) as WriteRecord[]
      for (let i = firstAbove(log, seqOf(vv, replica)); i < log.length; i++) {
        out.push(log[i] as WriteRecord)
        if (out.length >= limit) return out
      }
    }
    return out
  }

  * all (): IterableIterator<WriteRecord> {
    for (const log of this.logs.values()) yield * log
  }

  /** Order-independent digest of the dots held. */
  digest (): string {
    return this.dots.toString()
  }
}
