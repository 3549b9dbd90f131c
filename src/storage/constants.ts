/**
 * When an append counts as durable.
 *
 * - `always`: the append resolves after its bytes are fsynced (fdatasync). Survives `kill -9`
 *   and power loss. Appends that arrive while an fsync is in flight share the next one
 *   (group commit), so concurrent writers cost one fsync per round, not one each.
 * - `interval`: the append resolves after `write()`; an fsync runs every `syncInterval` ms.
 *   Survives `kill -9` of the process (the bytes are in the kernel's page cache) but **not**
 *   a power loss or kernel crash: up to `syncInterval` ms of acknowledged appends can be lost.
 * - `none`: `write()` only, never fsync. For tests and benchmarks; survives `kill -9` like
 *   `interval`, and nothing else.
 */
export type SyncPolicy = 'always' | 'interval' | 'none'

export const SYNC_POLICIES: readonly SyncPolicy[] = ['always', 'interval', 'none']

/** The default must survive `kill -9` with every acknowledged append. @default 'always' */
export const DEFAULT_SYNC_POLICY: SyncPolicy = 'always'

/** How often policy `interval` fsyncs written appends. @default 100 (ms) */
export const DEFAULT_SYNC_INTERVAL = 100

/**
 * Largest record `append` and `rewrite` accept, and the largest length recovery believes.
 * A record is one replicated write (a value of at most 1 MiB plus its envelope), so 4 MiB
 * leaves room while keeping a corrupt length field from making recovery allocate gigabytes.
 * @default 4 MiB (bytes)
 */
export const DEFAULT_MAX_RECORD_BYTES = 4 * 1024 * 1024

/**
 * A group commit writes at most this much at once (one record bigger than it still goes alone):
 * the group is copied into one buffer for its single write, and that copy should stay small.
 * @default 16 MiB (bytes)
 */
export const MAX_GROUP_BYTES = 16 * 1024 * 1024

/** The length field is a u32, so no limit can go past it. (bytes) */
export const MAX_RECORD_BYTES_LIMIT = 0xFFFF_FFFF

/** `[u32 length][u32 crc32]`, both little-endian, before every payload. (bytes) */
export const RECORD_HEADER_BYTES = 8

/** The log `name` lives in `<dir>/<name>.log`. */
export const LOG_FILE_SUFFIX = '.log'

/**
 * `rewrite` builds the replacement next to the log under this suffix and renames it over
 * the log; one left at open is the remains of a rewrite a crash interrupted.
 */
export const REWRITE_FILE_SUFFIX = '.rewrite'

/** Log files hold replicated data: readable and writable by their owner only. */
export const LOG_FILE_MODE = 0o600

/** How much recovery and replay read per system call. @default 1 MiB (bytes) */
export const READ_CHUNK_BYTES = 1024 * 1024

/** How much `rewrite` buffers before each write to the new file. @default 1 MiB (bytes) */
export const REWRITE_CHUNK_BYTES = 1024 * 1024

/** Log names become file names: a safe alphabet, no separators, no leading dot. */
export const LOG_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** setTimeout cannot wait longer than this. (ms) */
export const MAX_SYNC_INTERVAL = 2_147_483_647
