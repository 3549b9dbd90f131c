import { compareHlc } from '../replica/index.js'
import type { Dot } from '../replica/index.js'
import { traceId, type TraceEntry } from './types.js'
import { InvalidObserveOptionsError } from './errors.js'

/**
 * The last `capacity` writes this peer applied, as a ring: the oldest entry goes when a new
 * one comes. Looked up by trace id (what other peers ask about) and by key (what the
 * operator asks about). Plain data, no I/O.
 */
export class TraceBuffer {
  readonly capacity: number
  private readonly ring: Array<TraceEntry | undefined>
  private readonly byId = new Map<string, TraceEntry>()
  private next = 0

  constructor (capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new InvalidObserveOptionsError(`the trace buffer needs room for at least one write, not ${capacity}`)
    this.capacity = capacity
    this.ring = new Array<TraceEntry | undefined>(capacity)
  }

  get size (): number {
    return this.byId.size
  }

  /** Remembers a write; one already remembered keeps its first arrival. */
  add (entry: TraceEntry): void {
    if (this.byId.has(entry.traceId)) return
    const evicted = this.ring[this.next]
    if (evicted !== undefined && this.byId.get(evicted.traceId) === evicted) this.byId.delete(evicted.traceId)
    this.ring[this.next] = entry
    this.byId.set(entry.traceId, entry)
    this.next = (this.next + 1) % this.capacity
  }

  get (dot: Dot): TraceEntry | undefined {
    return this.byId.get(traceId(dot))
  }

  /** The last write of `key` still remembered: highest HLC, then highest author id (the store's order). */
  latest (key: string): TraceEntry | undefined {
    let best: TraceEntry | undefined
    for (const entry of this.byId.values()) {
      if (entry.key !== key) continue
      if (best === undefined || newer(entry, best)) best = entry
    }
    return best
  }

  /** The last `limit` writes to arrive here, newest first. */
  recent (limit: number): TraceEntry[] {
    const out: TraceEntry[] = []
    for (let i = 1; i <= this.capacity && out.length < limit; i++) {
      const entry = this.ring[(this.next - i + this.capacity) % this.capacity]
      if (entry === undefined) break
      out.push(entry)
    }
    return out
  }
}

function newer (a: TraceEntry, b: TraceEntry): boolean {
  const byHlc = compareHlc(a.hlc, b.hlc)
  if (byHlc !== 0) return byHlc > 0
  return a.dot.replica > b.dot.replica
}
