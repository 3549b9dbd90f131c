import { decodeBatch, encodeBatch, HybridClock, ReplicaState } from '../../src/replica/index.js'
import type { ReplicaStateInit, WriteRecord } from '../../src/replica/index.js'

/** A wall clock the test moves by hand. */
export class ManualTime {
  constructor (public ms = 1_700_000_000_000) {}
  readonly now = (): number => this.ms
  advance (ms: number): void { this.ms += ms }
}

export function replica (id: string, time = new ManualTime(), init: ReplicaStateInit = {}): ReplicaState {
  return new ReplicaState(id, { clock: new HybridClock(time.now), ...init })
}

/** Every delta crosses the real wire codec before it is applied, as it would between peers. */
export function transmit (records: Iterable<WriteRecord>): WriteRecord[] {
  return decodeBatch(encodeBatch(records))
}

/** Sends everything `from` has and `to` lacks, through the codec. */
export function sync (from: ReplicaState, to: ReplicaState): number {
  return to.join(transmit(from.recordsSince(to.versionVector())))
}

export function syncAll (replicas: ReplicaState[]): void {
  for (const a of replicas) for (const b of replicas) if (a !== b) sync(a, b)
}

/** mulberry32: a small seeded PRNG so a failing delivery order can be replayed from its seed. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function shuffle<T> (items: T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = out[i] as T
    out[i] = out[j] as T
    out[j] = tmp
  }
  return out
}

/** The whole observable view of a replica, for equality checks. */
export function view (r: ReplicaState): unknown {
  const list = r.list('')
  const keys = new Set<string>(list.map(([k]) => k))
  for (const record of r.allRecords()) keys.add(record.key)
  const versions = [...keys].sort().map((k) => [k, r.typeOf(k) ?? null, r.versions(k)])
  return { list, versions, size: r.size(), records: r.recordCount(), digest: r.digest(), vv: r.versionVector() }
}
