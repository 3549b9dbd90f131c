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
import { openSeal, VerifiedRoots, type BatchSeal, type Provenance, type Verify } from './seal.js'
import { decodeSealedBatch, type SealedBatch } from './seal-codec.js'
import { covers } from './version-vector.js'
import { isSeq } from './validate.js'
import type { DurableLog } from '../storage/index.js'
import type { ReplicaState } from './store.js'
import type { VectorClock, WriteRecord } from './types.js'

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

/** What a replay left out of the log, and why. */
export interface ReplayResult {
  /** Entries that did not decode: dropped. */
  malformed: number
  /**
   * Sealed entries whose seal no longer opens (bytes changed on disk in a way the log's
   * checksums missed, or before they were taken): dropped with their records, counted in
   * `rejected`. Their records come back by anti-entropy from the peers that hold them.
   */
  rejectedBatches: number
  rejected: number
  /**
   * Entries of the compacted snapshot (the entries its checkpoint announced) that did not
   * replay: cut off by the log's recovery, malformed or rejected. When any is missing, the
   * checkpoint's horizon is withheld (`withheld`): see replayLog.
   */
  snapshotMissing: number
  /** The checkpoint's horizon, when it was not restored; undefined otherwise. */
  withheld?: VectorClock
}

/**
 * Replays a replica log into `state`: records, sealed batches (each record's seal goes to
 * `provenance`), and the checkpoint a compaction left at its head (the horizon is adopted
 * after the records it kept). A checkpoint that does not decode throws
 * MalformedCheckpointError: going on without it could reuse a seq of a collected write of ours.
 *
 * The log's frames have checksums, but a sealed entry is the author's word only while its
 * seal opens: each batch's seal is verified again here (`verify`, one Ed25519 verify per
 * batch), so a damaged entry that still decodes cannot put a record its author never wrote
 * under the author's dot, where anti-entropy would never repair it. Plain entries are this
 * replica's own writes, taken as they are.
 *
 * A checkpoint's horizon says "every dot at or below it is held here or was collected". That
 * holds only with the whole snapshot written after it: a snapshot entry lost to damage held
 * live records at or below the horizon, and counting their dots as seen would keep them out
 * for good (a peer sends only what the vector lacks). Which dots the lost entries held is not
 * known, so then the horizon is not restored at all (only the checkpoint's lastSeq is, so no
 * seq is reused): the version vector is the dots actually held, and the replica catches up as
 * a replica behind the horizon does, by anti-entropy and the peers' horizon offers
 * (settleOffer), which bring back what was live and drop what was collected.
 */
export async function replayLog (log: DurableLog, state: ReplicaState, provenance: Provenance, verify: Verify): Promise<ReplayResult> {
  const result: ReplayResult = { malformed: 0, rejectedBatches: 0, rejected: 0, snapshotMissing: 0 }
  const verified = new VerifiedRoots()
  let checkpoint: Checkpoint | undefined
  let snapshot = 0
  let snapshotReplayed = 0
  for await (const bytes of log.replay()) {
    if (isCheckpoint(bytes)) {
      checkpoint = decodeCheckpoint(bytes)
      snapshot = checkpoint.records
      snapshotReplayed = 0
      state.restoreSeq(checkpoint.lastSeq)
      continue
    }
    const inSnapshot = snapshot > 0
    if (inSnapshot) snapshot--
    // Appended after the compaction but collected or dropped before it ran: stays gone.
    const gone = (dot: { replica: string, seq: number }): boolean => checkpoint !== undefined && !inSnapshot && covers(checkpoint.horizon, dot)
    let batch: SealedBatch | undefined
    let record: WriteRecord | undefined
    try {
      if (startsWith(bytes, SEALED_MAGIC)) batch = decodeSealedBatch(bytes.subarray(SEALED_MAGIC.length))
      else record = decodeRecord(bytes)
    } catch {
      result.malformed++
      continue
    }
    if (batch !== undefined) {
      const records = batch.records
      const news = records.flatMap((r, i) => gone(r.dot) || state.has(r.dot) ? [] : [i])
      if (news.length > 0) {
        let opened: { seal: BatchSeal, leaves: number[] }
        try {
          opened = openSeal(batch, verify, verified)
        } catch {
          result.rejectedBatches++
          result.rejected += records.length
          continue
        }
        const applied: number[] = []
        let refused = false
        try {
          for (const i of news) if (state.apply(records[i]!, 'remote') === 'applied') applied.push(i)
        } catch {
          // A record the store refuses (over its limits): what was applied before it is still proven.
          result.malformed++
          refused = true
        }
        provenance.attach(opened.seal, applied.map((i) => records[i]!), applied.map((i) => opened.leaves[i]!))
        if (refused) continue
      }
    } else if (record !== undefined && !gone(record.dot)) {
      try {
        state.apply(record, 'remote')
      } catch {
        result.malformed++
        continue
      }
    }
    if (inSnapshot) snapshotReplayed++
  }
  if (checkpoint !== undefined) {
    result.snapshotMissing = checkpoint.records - snapshotReplayed
    if (result.snapshotMissing === 0) state.restoreHorizon(checkpoint.horizon)
    else result.withheld = checkpoint.horizon
  }
  return result
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
