/**
 * Pure helpers of garbage collection and replica retirement: vector arithmetic, and the
 * values the maintenance jobs publish in the replicated store.
 *
 * A GC horizon H is a vector every replica that adopts it is complete for (it holds or has
 * collected every dot <= H). Below H, which records are kept depends only on the records
 * at or below H plus the ones held, so two replicas with the same writes and the same
 * horizon hold the same records (see ReplicaState.adoptHorizon).
 */
import { createHash } from 'node:crypto'
import { DEFAULT_MAX_CLOCK_ENTRIES, DEFAULT_MAX_REPLICA_ID_LENGTH } from './constants.js'
import type { Dot, Json, VectorClock, WriteRecord } from './types.js'

/** The register holding the GC horizon the coordinator published: `{ vector, term }`. */
export const GC_KEY = 'hearsay/gc'

/** `hearsay/retired/<peerId>` → `{ seq, term }`: the replica is complete at `seq` everywhere. */
export const RETIRED_PREFIX = 'hearsay/retired/'

export interface HorizonValue {
  vector: VectorClock
  /** The coordinator's term when it published: for people reading it, safety does not rest on it. */
  term: number
}

export interface Retirement {
  seq: number
  term: number
}

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

function sorted (entries: Iterable<[string, number]>): VectorClock {
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
  return sorted(out)
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
  return sorted(out)
}

function parseVector (raw: unknown): VectorClock | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined
  const entries = Object.entries(raw as Record<string, unknown>)
  if (entries.length > DEFAULT_MAX_CLOCK_ENTRIES) return undefined
  const out: Array<[string, number]> = []
  for (const [replica, seq] of entries) {
    if (replica.length === 0 || replica.length > DEFAULT_MAX_REPLICA_ID_LENGTH) return undefined
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined
    out.push([replica, seq])
  }
  return sorted(out)
}

function parseTerm (raw: unknown): number | undefined {
  return typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined
}

/** A published horizon, or undefined when the value is not one (ignored, never trusted). */
export function parseHorizon (value: Json | undefined): HorizonValue | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const vector = parseVector(value.vector)
  const term = parseTerm(value.term)
  return vector === undefined || term === undefined ? undefined : { vector, term }
}

export function parseRetirement (value: Json | undefined): Retirement | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const { seq } = value
  const term = parseTerm(value.term)
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || term === undefined) return undefined
  return { seq, term }
}

/**
 * Names a set of retirements. A HELLO that leaves retired replicas out carries it, and the
 * receiver fills them in only when its own set has the same name: otherwise it could take
 * "left out" to mean a seq the sender does not have.
 */
export function retiredDigest (retired: ReadonlyMap<string, number>): string {
  if (retired.size === 0) return ''
  const lines = [...retired].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0).map(([r, s]) => `${s}:${r}`)
  return createHash('sha256').update(lines.join('\n')).digest('hex')
}

/** A replica's vector with the retired replicas it is complete for left out (for the wire and for clocks). */
export function omitRetired (vector: Readonly<VectorClock>, retired: ReadonlyMap<string, number>): VectorClock {
  if (retired.size === 0) return { ...vector }
  const out: Array<[string, number]> = []
  for (const replica of Object.keys(vector)) {
    const seq = seqOf(vector, replica)
    if (retired.get(replica) !== seq) out.push([replica, seq])
  }
  return sorted(out)
}

/** Puts back what `omitRetired` left out (call only when both sides know the same retirements). */
export function expandRetired (vector: Readonly<VectorClock>, retired: ReadonlyMap<string, number>): VectorClock {
  if (retired.size === 0) return { ...vector }
  const out = new Map<string, number>()
  for (const replica of Object.keys(vector)) out.set(replica, seqOf(vector, replica))
  for (const [replica, seq] of retired) if (!out.has(replica)) out.set(replica, seq)
  return sorted(out)
}
