/**
 * Named defaults of the replica core. Limits are shared by the store (local writes and
 * applied records) and the wire codec, so a record one peer accepts is never one another
 * peer's decoder refuses with default settings.
 */

/** Longest key, in UTF-8 bytes. */
export const DEFAULT_MAX_KEY_BYTES = 1024

/** Largest value (or set element), in UTF-8 bytes of its JSON encoding: 1 MiB. */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024

/** Deepest nesting of arrays/objects in a value; guards recursion in validation and `JSON.stringify`. */
export const DEFAULT_MAX_VALUE_DEPTH = 64

/**
 * Most dots one record may supersede. A put on a key holds one remove per live record
 * of that key (a set of many elements has one live add per element).
 */
export const DEFAULT_MAX_REMOVES = 65_536

/** Most entries in a record's causal context (one per replica that ever wrote). */
export const DEFAULT_MAX_CLOCK_ENTRIES = 4096

/** Longest replica id (a PeerId string is about 52 characters). */
export const DEFAULT_MAX_REPLICA_ID_LENGTH = 128

/** Largest author signature carried by a record, in bytes (RSA-4096 needs 512). */
export const DEFAULT_MAX_SIGNATURE_BYTES = 1024

/** Largest encoded batch the decoder accepts: 4 MiB (one max-size value plus room). */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024

/** Most records in one decoded batch. */
export const DEFAULT_MAX_BATCH_RECORDS = 4096

/** Largest encoded batch that `encodeBatches` produces by default: 1 MiB fits gossipsub's default message size. */
export const DEFAULT_TARGET_BATCH_BYTES = 1024 * 1024 - 1024

/** How far ahead of the local clock (ms) a remote HLC wall time may be and still be adopted. */
export const DEFAULT_MAX_CLOCK_DRIFT = 60_000

/** The HLC logical counter travels as a protobuf uint32. */
export const MAX_HLC_LOGICAL = 0xffff_ffff

/**
 * Versions of the store's wire protocols (`/hearsay/<network>/kv/<v>` gossip topic and
 * `/hearsay/<network>/sync/<v>` stream). 2.0.0: records travel in sealed batches (one
 * signature per batch) instead of one signature per record.
 */
export const KV_PROTOCOL_VERSION = '2.0.0'
export const SYNC_PROTOCOL_VERSION = '2.0.0'
/** The sync protocol of peers that sign every record: refused, with a line in the log saying so. */
export const LEGACY_SYNC_PROTOCOL_VERSION = '1.0.0'
