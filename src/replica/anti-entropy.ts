import { SyncMessage } from './antientropy.js'
import type { VectorClock } from './types.js'

export const SYNC_LIMITS = {
  /** Largest message on the sync stream: one chunk of records. @default 4 MiB + 64 KiB (bytes) */
  maxMessageBytes: 4 * 1_048_576 + 65_536,
  /** Most replicas a version vector may name. */
  maxVectorEntries: 4_096,
  /** Target size of one chunk of records. @default 256 KiB (bytes) */
  chunkBytes: 262_144,
  /** Most records in one chunk. */
  chunkRecords: 1_000
} as const

export type SyncFrame =
  | { type: 'hello', vector: VectorClock, digest: string }
  | { type: 'records', batch: Uint8Array }
  | { type: 'done' }

export class MalformedSyncMessageError extends Error {
  readonly code = 'ERR_MALFORMED_SYNC_MESSAGE'
  constructor (detail: string, options?: { cause?: unknown }) {
    super(`malformed anti-entropy message: ${detail}`, options)
    this.name = 'MalformedSyncMessageError'
  }
}

export function encodeSyncFrame (frame: SyncFrame): Uint8Array {
  switch (frame.type) {
    case 'hello':
      return SyncMessage.encode({
        type: SyncMessage.Type.HELLO,
        vector: Object.entries(frame.vector).map(([replica, seq]) => ({ replica, seq })),
        digest: frame.digest,
        batch: new Uint8Array(0)
      })
    case 'records':
      return SyncMessage.encode({ type: SyncMessage.Type.RECORDS, vector: [], digest: '', batch: frame.batch })
    case 'done':
      return SyncMessage.encode({ type: SyncMessage.Type.DONE, vector: [], digest: '', batch: new Uint8Array(0) })
  }
}

export function decodeSyncFrame (bytes: Uint8Array): SyncFrame {
  let message: SyncMessage
  try {
    message = SyncMessage.decode(bytes, { limits: { vector: SYNC_LIMITS.maxVectorEntries } })
  } catch (err) {
    throw new MalformedSyncMessageError((err as Error).message, { cause: err })
  }
  switch (message.type) {
    case SyncMessage.Type.HELLO: {
      const vector: VectorClock = {}
      for (const { replica, seq } of message.vector) {
        if (replica.length === 0 || replica.length > 128) throw new MalformedSyncMessageError('bad replica id')
        if (!Number.isSafeInteger(seq) || seq < 0) throw new MalformedSyncMessageError('bad seq')
        vector[replica] = seq
      }
      if (message.digest.length > 128) throw new MalformedSyncMessageError('bad digest')
      return { type: 'hello', vector, digest: message.digest }
    }
    case SyncMessage.Type.RECORDS:
      return { type: 'records', batch: message.batch }
    case SyncMessage.Type.DONE:
      return { type: 'done' }
    default:
      throw new MalformedSyncMessageError('unknown message type')
  }
}
