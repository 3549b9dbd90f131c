/**
 * The values garbage collection and replica retirement publish in the replicated store, and
 * how to read them back. Only the replica reads and writes them (the maintenance jobs call
 * `publishHorizon()` and `retire()`).
 *
 * A GC horizon H is a vector every replica that adopts it is complete for (it holds or has
 * collected every dot <= H). Below H, which records are kept depends only on the records
 * at or below H plus the ones held, so two replicas with the same writes and the same
 * horizon hold the same records (see ReplicaState.adoptHorizon).
 */
import { createHash } from 'node:crypto'
import { DEFAULT_MAX_CLOCK_ENTRIES, DEFAULT_MAX_REPLICA_ID_LENGTH } from './constants.js'
import { sortedVector } from './version-vector.js'
import type { Json, VectorClock } from './types.js'

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
  return sortedVector(out)
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
