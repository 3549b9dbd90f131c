/**
 * The replica core: a grow-only set of signed-at-the-edge write records and the key-value
 * view derived from it (multi-value registers, PN-counters, OR-sets), version vectors,
 * a hybrid logical clock, and the protobuf wire codec. Pure: no network, disk or timers.
 */
export { ReplicaState, compareRecords } from './store.js'
export type { ApplyResult, ReplicaStateInit } from './store.js'
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
