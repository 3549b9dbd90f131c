/** The public types of the replication service (its components, options, events and figures). */
import type { Log } from '../log.js'
import type { NetNode } from '../net/index.js'
import type { DurableLog, LogStats } from '../storage/index.js'
import type { Json, VectorClock, Dot, Hlc, WriteRecord } from './types.js'

export type ReplicationNet = Pick<NetNode,
'peerId' | 'protocol' | 'handle' | 'unhandle' | 'openStream' | 'subscribe' | 'unsubscribe' | 'publish' |
'addEventListener' | 'removeEventListener' | 'sign' | 'verify'>

export interface ReplicationComponents {
  net: ReplicationNet
  /** The durable log; `undefined` keeps everything in memory. */
  log?: DurableLog
  /** Members to run anti-entropy with. */
  members: () => Array<{ peerId: string, addresses: string[], state: string, self: boolean }>
  /** Where this part logs (a pino logger, or any with the same methods). @default silent */
  logger?: Log
  /**
   * Told of every write this replica applies, with how it came (for write tracing and
   * convergence). Called synchronously on the write path: it must be cheap and must not throw.
   */
  onApplied?: (batch: AppliedBatch) => void
}

/** How a write reached this replica. */
export type ArrivalPath = 'local' | 'gossip' | 'anti-entropy'

/** Fresh records applied together, and how they came. */
export interface AppliedBatch {
  path: ArrivalPath
  /** Who handed them over: this peer for a local write, the gossip neighbour, or the anti-entropy partner. */
  from: string
  /** When they arrived (ms since the epoch). */
  receivedAt: number
  /** When they were applied (ms since the epoch). */
  appliedAt: number
  records: readonly WriteRecord[]
}

export interface ReplicationInit {
  /** @default 'lan' */
  profile?: 'local' | 'lan'
  /** Spread writes over gossipsub; with `false` only anti-entropy moves them (tests). @default true */
  gossip?: boolean
  /** How often to run anti-entropy with one random member. @default 1_000 local, 10_000 lan (ms) */
  antiEntropyInterval?: number
  /** @default 1024 (bytes) */
  maxKeyBytes?: number
  /** @default 1 MiB (bytes of JSON) */
  maxValueBytes?: number
  /**
   * Only these PeerIds may write: other peers' records are dropped (and counted) on arrival,
   * and a local write on a peer not listed is refused. @default anyone
   */
  writers?: string[]
}

/** The last HELLO a remote peer sent us in anti-entropy. */
export interface RemoteVector {
  /** Its version vector, retired replicas filled in when we know the same retirements. */
  vector: VectorClock
  /** The GC horizon it had adopted. */
  horizon: VectorClock
  /** Its replica digest: equal to ours exactly when it held the same writes. */
  digest?: string
  /** When it arrived (ms since the epoch). */
  at: number
}

export interface KvChange {
  key: string
  /** The value now (the winner for a register), or undefined once deleted. */
  value: Json | undefined
  origin: 'local' | 'remote'
}

export interface KvEvents extends Record<string, unknown> {
  change: KvChange
}

/** What a write answers once it is durable: the dot that names it and its clock. */
export interface WriteReceipt {
  key: string
  dot: Dot
  hlc: Hlc
}

export interface ReplicationStats {
  writesLocal: number
  writesRemote: number
  /** Records refused: bad signature or invalid content. */
  rejected: number
  /** Records dropped because their author is not on the writers list. */
  unauthorized: number
  /** Gossip or sync messages that did not decode. */
  malformed: number
  gossipMessagesSent: number
  gossipBytesSent: number
  gossipMessagesReceived: number
  gossipBytesReceived: number
  /** Gossip batches that had nobody to go to (anti-entropy repairs them). */
  gossipUnsent: number
  antiEntropyRounds: number
  antiEntropyBytesSent: number
  antiEntropyBytesReceived: number
  antiEntropyRecordsSent: number
  antiEntropyRecordsReceived: number
  /** GC horizons adopted, and the records they let this replica collect. */
  gcAdoptions: number
  recordsCollected: number
  /** Records dropped while catching up with a peer that had collected them. */
  recordsDropped: number
  /** HORIZON offers sent to peers behind our horizon; offers refused as not published. */
  horizonOffersSent: number
  horizonOffersRefused: number
  /** Log rewrites that dropped collected records. */
  compactions: number
  /** The durable log's own figures (fsyncs, last fsync latency); absent for in-memory peers. */
  log?: LogStats
}
