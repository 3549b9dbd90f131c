import { SyncMessage, type VectorEntry } from './pb/antientropy.js'
import { isWellFormed } from './json.js'
import type { VectorClock } from './types.js'
import { HearsayError } from '../errors.js'

export const SYNC_LIMITS = {
  /** Largest message on the sync stream: one chunk of records. @default 4 MiB + 64 KiB (bytes) */
  maxMessageBytes: 4 * 1_048_576 + 65_536,
  /** Most replicas a version vector may name. */
  maxVectorEntries: 4_096,
  /** Target size of one chunk of records. @default 256 KiB (bytes) */
  chunkBytes: 262_144,
  /** Most records in one chunk. */
  chunkRecords: 1_000,
  /** Most dots one HORIZON frame lists (about 2 bytes each on the wire). */
  chunkDots: 262_144
} as const

/** Dots of one replica, seqs ascending. */
export type DotList = [replica: string, seqs: number[]]

export type SyncFrame =
  | { type: 'hello', vector: VectorClock, digest: string, horizon: VectorClock, retired: string }
  | { type: 'records', batch: Uint8Array }
  | { type: 'done' }
  /**
   * The sender's GC horizon (first frame only; empty in the frames that continue its list),
   * and the dots it still holds at or below it, or `complete` when the receiver needs no list.
   */
  | { type: 'horizon', horizon: VectorClock, kept: DotList[], complete: boolean }

export class MalformedSyncMessageError extends HearsayError {
  static readonly code = 'ERR_MALFORMED_SYNC_MESSAGE'

  constructor (detail: string, options?: { cause?: unknown }) {
    super(MalformedSyncMessageError.code, `malformed anti-entropy message: ${detail}`, options)
  }
}

const EMPTY = new Uint8Array(0)

function blank (type: SyncMessage.Type): SyncMessage {
  return { type, vector: [], digest: '', batch: EMPTY, horizon: [], retired: '', kept: [], complete: false }
}

function toEntries (vector: VectorClock): VectorEntry[] {
  return Object.entries(vector).map(([replica, seq]) => ({ replica, seq }))
}

export function encodeSyncFrame (frame: SyncFrame): Uint8Array {
  switch (frame.type) {
    case 'hello':
      return SyncMessage.encode({
        ...blank(SyncMessage.Type.HELLO),
        vector: toEntries(frame.vector),
        digest: frame.digest,
        horizon: toEntries(frame.horizon),
        retired: frame.retired
      })
    case 'records':
      return SyncMessage.encode({ ...blank(SyncMessage.Type.RECORDS), batch: frame.batch })
    case 'done':
      return SyncMessage.encode(blank(SyncMessage.Type.DONE))
    case 'horizon':
      return SyncMessage.encode({
        ...blank(SyncMessage.Type.HORIZON),
        vector: toEntries(frame.horizon),
        kept: frame.kept.map(([replica, seqs]) => ({ replica, deltas: seqs.map((seq, i) => seq - (i === 0 ? 0 : seqs[i - 1] as number)) })),
        complete: frame.complete
      })
  }
}

function checkReplica (replica: string): void {
  if (replica.length === 0 || replica.length > 128 || !isWellFormed(replica)) throw new MalformedSyncMessageError('bad replica id')
}

function fromEntries (entries: VectorEntry[]): VectorClock {
  const vector: VectorClock = {}
  for (const { replica, seq } of entries) {
    checkReplica(replica)
    if (!Number.isSafeInteger(seq) || seq < 0) throw new MalformedSyncMessageError('bad seq')
    // defineProperty: a replica called "__proto__" must stay an entry, not become a prototype.
    Object.defineProperty(vector, replica, { value: seq, enumerable: true, writable: true, configurable: true })
  }
  return vector
}

export function decodeSyncFrame (bytes: Uint8Array): SyncFrame {
  if (bytes.byteLength > SYNC_LIMITS.maxMessageBytes) {
    throw new MalformedSyncMessageError(`${bytes.byteLength} bytes is over the limit of ${SYNC_LIMITS.maxMessageBytes}`)
  }
  let message: SyncMessage
  try {
    message = SyncMessage.decode(bytes, {
      limits: {
        vector: SYNC_LIMITS.maxVectorEntries,
        horizon: SYNC_LIMITS.maxVectorEntries,
        kept: SYNC_LIMITS.maxVectorEntries,
        kept$: { deltas: SYNC_LIMITS.chunkDots }
      }
    })
  } catch (err) {
    throw new MalformedSyncMessageError((err as Error).message, { cause: err })
  }
  switch (message.type) {
    case SyncMessage.Type.HELLO: {
      // Not UTF-8 (a lone surrogate once decoded) would be compared as text it was not sent as.
      if (message.digest.length > 128 || !isWellFormed(message.digest)) throw new MalformedSyncMessageError('bad digest')
      if (message.retired.length > 128 || !isWellFormed(message.retired)) throw new MalformedSyncMessageError('bad retired digest')
      return { type: 'hello', vector: fromEntries(message.vector), digest: message.digest, horizon: fromEntries(message.horizon), retired: message.retired }
    }
    case SyncMessage.Type.RECORDS:
      return { type: 'records', batch: message.batch }
    case SyncMessage.Type.DONE:
      return { type: 'done' }
    case SyncMessage.Type.HORIZON: {
      let total = 0
      const kept: DotList[] = []
      for (const { replica, deltas } of message.kept) {
        checkReplica(replica)
        total += deltas.length
        if (total > SYNC_LIMITS.chunkDots) throw new MalformedSyncMessageError('too many dots in one HORIZON frame')
        const seqs: number[] = []
        let seq = 0
        for (const delta of deltas) {
          // Strictly ascending: a zero or negative step, or one past 2^53, is garbage.
          if (!Number.isSafeInteger(delta) || delta < 1 || !Number.isSafeInteger(seq + delta)) throw new MalformedSyncMessageError('bad dot list')
          seq += delta
          seqs.push(seq)
        }
        kept.push([replica, seqs])
      }
      return { type: 'horizon', horizon: fromEntries(message.vector), kept, complete: message.complete }
    }
    default:
      throw new MalformedSyncMessageError('unknown message type')
  }
}

/** Splits a dot list into HORIZON frames of at most `chunkDots` dots; the first carries the horizon. */
export function horizonFrames (horizon: VectorClock, kept: DotList[], chunkDots: number = SYNC_LIMITS.chunkDots): SyncFrame[] {
  const frames: SyncFrame[] = []
  let current: DotList[] = []
  let size = 0
  const flush = (): void => {
    frames.push({ type: 'horizon', horizon: frames.length === 0 ? horizon : {}, kept: current, complete: false })
    current = []
    size = 0
  }
  for (const [replica, seqs] of kept) {
    for (let i = 0; i < seqs.length;) {
      const take = Math.min(chunkDots - size, seqs.length - i)
      current.push([replica, seqs.slice(i, i + take)])
      size += take
      i += take
      if (size >= chunkDots) flush()
    }
  }
  if (size > 0 || frames.length === 0) flush()
  return frames
}
