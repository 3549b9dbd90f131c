/**
 * Named defaults and wire limits of user events and queries. Options that take them document
 * them with `@default`; they are applied with `??` where the options are read.
 */

/** Largest payload of an event, a query or an answer, in UTF-8 bytes of its JSON. @default 65_536 (bytes: 64 KiB) */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024

/** Deepest nesting of arrays and objects in a payload; guards recursion in checks and `JSON.stringify`. */
export const DEFAULT_MAX_PAYLOAD_DEPTH = 64

/** Events one sender may send per second, sustained (a token bucket's refill rate). */
export const DEFAULT_RATE_PER_SECOND = 20

/** Events one sender may send at once before the rate applies (the bucket's size). */
export const DEFAULT_BURST = 100

/**
 * How far a message's send time may be from this peer's clock, either way, and still be
 * accepted (ms). Ids are remembered for twice this, so a copy replayed later is refused
 * either as a duplicate or as stale. It is also the clock skew between hosts it tolerates.
 * @default 120_000 (ms)
 */
export const DEFAULT_MAX_AGE = 120_000

/** Most message ids remembered for deduplication; past it the oldest go first (and are counted). */
export const DEFAULT_MAX_SEEN = 100_000

/** Most senders whose rate is tracked at once; past it the least recently seen go first. */
export const DEFAULT_MAX_SENDERS = 10_000

/** How long a query waits for answers unless told otherwise. @default 2_000 (ms) */
export const DEFAULT_QUERY_TIMEOUT = 2_000

/** The longest a query may wait, asking or answering. @default 60_000 (ms) */
export const MAX_QUERY_TIMEOUT = 60_000

/** Handlers that may run at once for other members' queries; more are dropped and counted. */
export const DEFAULT_MAX_CONCURRENT_ANSWERS = 64

/** Wire limits besides the payload. */
export const EVENT_LIMITS = {
  /** Bytes of a message id. */
  idBytes: 16,
  /** Longest event or query name (characters, all ASCII). */
  maxNameLength: 128,
  /** Longest error message in an answer (characters); longer ones are cut. */
  maxErrorLength: 1_024,
  /** Room for everything in a message but the payload: envelope, id, name, time, framing. */
  overheadBytes: 4 * 1024
} as const

/**
 * What an event or query name may be: 1-128 characters of letters, digits and `_ . : @ + -`,
 * starting with a letter, a digit or `_`. Names appear in URLs and logs unescaped.
 */
export const EVENT_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,127}$/

/** Parts of the ids: the topic `/hearsay/<network>/events/1.0.0`, the stream protocol `/hearsay/<network>/query/1.0.0`. */
export const EVENTS_PART = 'events'
export const QUERY_PART = 'query'
