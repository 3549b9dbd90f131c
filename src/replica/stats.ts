import type { LogStats } from '../storage/index.js'

/** What a replica counts: writes, what the network sent and what was refused, GC and compaction. */
export interface ReplicationStats {
  writesLocal: number
  writesRemote: number
  /** Records refused: their batch's seal did not prove them, or their content is invalid. */
  rejected: number
  /** Batches refused because their seal did not verify (forged, tampered, spliced or reordered). */
  rejectedBatches: number
  /** Batches that brought nothing new (copies, replays): dropped before their seal is checked. */
  duplicateBatches: number
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
  /** Anti-entropy sessions that failed (unreachable peer, broken stream, bad frame): the next round repairs what they did not. */
  antiEntropyFailures: number
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
  /**
   * Offers that would have made this replica drop records on the offering peer's word while
   * the current members' vectors do not all cover the horizon (see settleOffer): put off
   * until they do, which for an honest horizon is a round or two.
   */
  horizonOffersDeferred: number
  /**
   * Entries of a compacted log's snapshot that a start could not replay (cut off by the log's
   * recovery, malformed, or with a seal that no longer opens). The checkpoint's GC horizon is
   * then not restored, so the records they held count as missing and anti-entropy brings
   * them back; the log is rewritten as what the replica holds.
   */
  snapshotEntriesLost: number
  /** Log rewrites that dropped collected records. */
  compactions: number
  /** Appends of remote records to the log that failed: those records stay applied and come back by anti-entropy after a restart. */
  persistFailures: number
  /** The durable log's own figures (fsyncs, last fsync latency); absent for in-memory peers. */
  log?: LogStats
}

export type ReplicationCounters = Omit<ReplicationStats, 'log'>

export function newCounters (): ReplicationCounters {
  return {
    writesLocal: 0,
    writesRemote: 0,
    rejected: 0,
    rejectedBatches: 0,
    duplicateBatches: 0,
    unauthorized: 0,
    malformed: 0,
    gossipMessagesSent: 0,
    gossipBytesSent: 0,
    gossipMessagesReceived: 0,
    gossipBytesReceived: 0,
    gossipUnsent: 0,
    antiEntropyRounds: 0,
    antiEntropyFailures: 0,
    antiEntropyBytesSent: 0,
    antiEntropyBytesReceived: 0,
    antiEntropyRecordsSent: 0,
    antiEntropyRecordsReceived: 0,
    gcAdoptions: 0,
    recordsCollected: 0,
    recordsDropped: 0,
    horizonOffersSent: 0,
    horizonOffersRefused: 0,
    horizonOffersDeferred: 0,
    snapshotEntriesLost: 0,
    compactions: 0,
    persistFailures: 0
  }
}
