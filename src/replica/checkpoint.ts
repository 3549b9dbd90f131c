/**
 * The first entry of a compacted replica log. Compaction drops collected records, and
 * with them two facts the log used to hold implicitly: the GC horizon (which dots count as
 * seen though no record is kept) and this replica's highest seq (its last write may have
 * been a delete that was collected). The checkpoint keeps both, so a restart neither
 * accepts a collected record again nor reuses a seq.
 */
import { decodeRecord, encodeRecord } from './codec.js'
import { MalformedCheckpointError } from './errors.js'
import { parseHorizon } from './gc.js'
import { covers } from './version-vector.js'
import { isSeq } from './validate.js'
import type { DurableLog } from '../storage/index.js'
import type { ReplicaState } from './store.js'
import type { VectorClock } from './types.js'

/** A record always starts with protobuf field 1 (0x0a); a zero byte is never a valid tag. */
const MAGIC = new Uint8Array([0x00, 0x68, 0x73, 0x63, 0x6b, 0x31]) // "\0hsck1"

export interface Checkpoint {
  horizon: VectorClock
  /** The highest seq this replica ever used. */
  lastSeq: number
  /** How many records the compaction wrote right after this entry. */
  records: number
}

export function encodeCheckpoint (checkpoint: Checkpoint): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({ horizon: checkpoint.horizon, lastSeq: checkpoint.lastSeq, records: checkpoint.records }))
  const out = new Uint8Array(MAGIC.length + body.length)
  out.set(MAGIC)
  out.set(body, MAGIC.length)
  return out
}

export function isCheckpoint (bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC.length) return false
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return false
  return true
}

export function decodeCheckpoint (bytes: Uint8Array): Checkpoint {
  let raw: unknown
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(MAGIC.length)))
  } catch (err) {
    throw new MalformedCheckpointError('the log checkpoint is not JSON', { cause: err })
  }
  if (raw === null || typeof raw !== 'object') throw new MalformedCheckpointError('the log checkpoint is not an object')
  const { horizon, lastSeq, records } = raw as { horizon?: unknown, lastSeq?: unknown, records?: unknown }
  const parsed = parseHorizon({ vector: horizon as VectorClock, term: 0 })
  if (parsed === undefined) throw new MalformedCheckpointError('the log checkpoint has a bad horizon')
  if (lastSeq !== 0 && !isSeq(lastSeq)) throw new MalformedCheckpointError('the log checkpoint has a bad lastSeq')
  if (typeof records !== 'number' || !Number.isSafeInteger(records) || records < 0) throw new MalformedCheckpointError('the log checkpoint has a bad record count')
  return { horizon: parsed.vector, lastSeq, records }
}

/**
 * Replays a replica log into `state`: records, and the checkpoint a compaction left at its
 * head (the horizon is adopted after the records it kept). Returns how many entries did
 * not decode. A checkpoint that does not decode throws MalformedCheckpointError: going on
 * without it could reuse a seq of a collected write of ours.
 */
export async function replayLog (log: DurableLog, state: ReplicaState): Promise<number> {
  let checkpoint: Checkpoint | undefined
  let snapshot = 0
  let malformed = 0
  for await (const bytes of log.replay()) {
    if (isCheckpoint(bytes)) {
      checkpoint = decodeCheckpoint(bytes)
      snapshot = checkpoint.records
      state.restoreSeq(checkpoint.lastSeq)
      continue
    }
    const inSnapshot = snapshot > 0
    if (inSnapshot) snapshot--
    try {
      const record = decodeRecord(bytes)
      // Appended after the compaction but collected or dropped before it ran: stays gone.
      if (checkpoint !== undefined && !inSnapshot && covers(checkpoint.horizon, record.dot)) continue
      state.apply(record, 'remote')
    } catch {
      malformed++
    }
  }
  if (checkpoint !== undefined) state.restoreHorizon(checkpoint.horizon)
  return malformed
}

/** What a compaction writes, taken when the rewrite starts (not when it is queued): a checkpoint, then every record held. */
export function logSnapshot (state: ReplicaState): Iterable<Uint8Array> {
  return {
    * [Symbol.iterator] () {
      const records = [...state.allRecords()]
      yield encodeCheckpoint({ horizon: state.horizon(), lastSeq: state.lastSeq, records: records.length })
      for (const record of records) yield encodeRecord(record)
    }
  }
}
