/**
 * The replicated store. The core (store, clocks, codec) is pure: a grow-only set of signed
 * write records and the key-value view derived from it. `Replication` adds the edges:
 * durability, gossip of new writes and anti-entropy over a direct stream.
 */
export { createReplication } from './service.js'
export type { Replication } from './service.js'
export type {
  ReplicationComponents, ReplicationInit, ReplicationNet, ReplicationStats, KvChange, KvEvents, RemoteVector, WriteReceipt,
  AppliedBatch, ArrivalPath, PutOptions, ListPage
} from './service.js'
export { formatVersion, parseVersion } from './version.js'
export { decodeSyncFrame, encodeSyncFrame, horizonFrames, MalformedSyncMessageError, SYNC_LIMITS } from './sync-codec.js'
export type { DotList, SyncFrame } from './sync-codec.js'
export { ReplicaState } from './store.js'
export { compareRecords } from './keystate.js'
export type { ApplyResult, ReconcileResult, ReplicaStateInit } from './store.js'
export { GC_KEY, parseHorizon, parseRetirement, RETIRED_PREFIX, retiredDigest } from './gc.js'
export type { HorizonValue, Retirement } from './gc.js'
export {
  covers, expandRetired, isEmptyVector, joinVectors, meetVectors, omitRetired, sameVector, seqOf, vectorLeq
} from './version-vector.js'
export { decodeCheckpoint, encodeCheckpoint, isCheckpoint, logSnapshot, replayLog, sealedEntry } from './replica-log.js'
export type { Checkpoint, ReplayResult } from './replica-log.js'
export { corroborated, horizonOffer, Session, settleOffer } from './session.js'
export type { Settlement } from './session.js'
export { BatchSealError, encodeSealed, openSeal, Provenance, recordLeaf, restoreSeal, sealStatement, VerifiedRoots } from './seal.js'
export type { BatchSeal, Verify } from './seal.js'
export { decodeSealedBatch, decodeSealedBatches, encodeSealedBatch, encodeSealedBatches } from './seal-codec.js'
export type { DecodedSealedBatch, SealedBatch } from './seal-codec.js'
export { HASH_BYTES, leafHash, MAX_TREE_LEAVES, PartialTree } from './merkle.js'
export { HybridClock, compareHlc } from './hlc.js'
export type { HybridClockInit } from './hlc.js'
export { VersionVector, compareVectors } from './version-vector.js'
export { canonicalJson } from './json.js'
export { dotKey } from './validate.js'
export type { RecordLimits } from './validate.js'
export { decodeBatch, decodeRecord, encodeBatch, encodeBatches, encodeRecord, signingBytes } from './codec.js'
export type { BatchSplit, CodecLimits } from './codec.js'
export * from './errors.js'
export * from './constants.js'
export type {
  ChangeOrigin, Dot, Hlc, Json, Op, OpType, Ordering, ReplicaChange, ValueType, VectorClock, Version, WriteRecord
} from './types.js'
