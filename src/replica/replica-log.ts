/**
 * The entries of a replica's log, and replaying them. Three kinds:
 * - a record of our own, as `encodeRecord` writes it, appended once durable is what a write
 *   waits for (own records are sealed when they are sent, and again after a restart);
 * - a sealed batch from a peer (or from a compaction): `SEALED_MAGIC` + the SealedBatch bytes,
 *   one entry for every batch a message brought, so a restart can relay them, proven;
 * - a checkpoint, the first entry of a compacted log. Compaction drops collected records,
 *   and with them two facts the log used to hold implicitly: the GC horizon (which dots
 *   count as seen though no record is kept) and this replica's highest seq (its last write
 *   may have been a delete that was collected). The checkpoint keeps both, so a restart
 *   neither accepts a collected record again nor reuses a seq.
 */
import { decodeRecord, encodeRecord } from './codec.js'
import { MalformedCheckpointError } from './errors.js'
import { parseHorizon } from './gc.js'
import { restoreSeal, type Provenance } from './seal.js'
import { decodeSealedBatch } from './seal-codec.js'
import { covers } from './version-vector.js'
import { isSeq } from './validate.js'
import type { DurableLog } from '../storage/index.js'
import type { ReplicaState } from './store.js'
import type { VectorClock } from './types.js'

/** A record always starts with protobuf field 1 (0x0a); a zero byte is never a valid tag. */
const MAGIC = new Uint8Array([0x00, 0x68, 0x73, 0x63, 0x6b, 0x31]) // "\0hsck1"
const SEALED_MAGIC = new Uint8Array([0x00, 0x68, 0x73, 0x73, 0x62, 0x31]) // "\0hssb1"

/** Largest sealed batch a compaction writes (a record larger than this still gets one of its own). */
const SNAPSHOT_BATCH_BYTES = 1024 * 1024

export interface Checkpoint {
  horizon: VectorClock
  /** The highest seq this replica ever used. */
  lastSeq: number
  /** How many entries the compaction wrote right after this one. */
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
  return startsWith(bytes, MAGIC)
}

/** The log entry for one sealed batch (its bytes as they came). */
export function sealedEntry (batch: Uint8Array): Uint8Array {
  const out = new Uint8Array(SEALED_MAGIC.length + batch.byteLength)
  out.set(SEALED_MAGIC)
  out.set(batch, SEALED_MAGIC.length)
  return out
}

function startsWith (bytes: Uint8Array, magic: Uint8Array): boolean {
  if (bytes.length < magic.length) return false
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return false
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
 * Replays a replica log into `state`: records, sealed batches (each record's seal goes to
 * `provenance`), and the checkpoint a compaction left at its head (the horizon is adopted
 * after the records it kept). Returns how many entries did not decode. A checkpoint that
 * does not decode throws MalformedCheckpointError: going on without it could reuse a seq of
 * a collected write of ours.
 */
export async function replayLog (log: DurableLog, state: ReplicaState, provenance: Provenance): Promise<number> {
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
    // Appended after the compaction but collected or dropped before it ran: stays gone.
    const gone = (dot: { replica: string, seq: number }): boolean => checkpoint !== undefined && !inSnapshot && covers(checkpoint.horizon, dot)
    try {
      if (startsWith(bytes, SEALED_MAGIC)) {
        // Checked when it arrived; the log's own checksums guard it since.
        const batch = decodeSealedBatch(bytes.subarray(SEALED_MAGIC.length))
        const { seal, leaves } = restoreSeal(batch)
        const applied: number[] = []
        batch.records.forEach((record, i) => {
          if (!gone(record.dot) && state.apply(record, 'remote') === 'applied') applied.push(i)
        })
        provenance.attach(seal, applied.map((i) => batch.records[i]!), applied.map((i) => leaves[i]!))
        continue
      }
      const record = decodeRecord(bytes)
      if (gone(record.dot)) continue
      state.apply(record, 'remote')
    } catch {
      malformed++
    }
  }
  if (checkpoint !== undefined) state.restoreHorizon(checkpoint.horizon)
  return malformed
}

/**
 * What a compaction writes, taken when the rewrite starts (not when it is queued): a
 * checkpoint, then every record held, in sealed batches where a seal is known (with proofs
 * for what was collected) and as plain records where none is (our own, not yet sent).
 */
export function logSnapshot (state: ReplicaState, provenance: Provenance): Iterable<Uint8Array> {
  return {
    * [Symbol.iterator] () {
      const { batches, unsealed } = provenance.relay([...state.allRecords()], SNAPSHOT_BATCH_BYTES)
      yield encodeCheckpoint({ horizon: state.horizon(), lastSeq: state.lastSeq, records: batches.length + unsealed.length })
      for (const batch of batches) yield sealedEntry(batch.bytes)
      for (const record of unsealed) yield encodeRecord(record)
    }
  }
}
