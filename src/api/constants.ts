/**
 * Named defaults of the HTTP API. Options that take them document them with `@default`;
 * they are applied with `??` where the options are read.
 */

/** Where the API listens unless told otherwise: loopback only. */
export const DEFAULT_API_HOST = '127.0.0.1'

/** `0` lets the operating system pick a free port; `startApi` answers with the real URL. */
export const DEFAULT_API_PORT = 0

/** Largest request body fastify reads: 1 MiB (bytes). Larger bodies get 413 `ERR_BODY_TOO_LARGE`. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024

/** Connections the API's socket lets wait to be accepted (the system may cap it lower: somaxconn). */
export const LISTEN_BACKLOG = 4_096

/** Most event streams (watch, dashboard, events, monitor together) one API serves at once. */
export const DEFAULT_MAX_STREAMS = 256

/** How often a watch stream gets a keep-alive comment line (ms). */
export const DEFAULT_WATCH_KEEP_ALIVE_MS = 15_000

/** Events one watch client may have waiting while its socket is full before it is dropped. */
export const DEFAULT_WATCH_MAX_QUEUED_EVENTS = 1_000

/** Bytes of events one watch client may have waiting while its socket is full before it is dropped: 8 MiB. */
export const DEFAULT_WATCH_MAX_QUEUED_BYTES = 8 * 1024 * 1024

/** Changes kept for watch clients that reconnect with Last-Event-ID (events). */
export const DEFAULT_WATCH_REPLAY_EVENTS = 10_000

/** Bytes of change events kept for watch clients that reconnect: 16 MiB. */
export const DEFAULT_WATCH_REPLAY_BYTES = 16 * 1024 * 1024

/** How long changes are still recorded after the last watch client left (ms): time for it to reconnect. */
export const DEFAULT_WATCH_RETAIN_MS = 300_000

/** Most entries `GET /v1/kv` returns when the request sets `limit`. */
export const MAX_LIST_LIMIT = 1_000_000

/** The file in the data dir that holds the API's bearer token (mode 0600). */
export const API_TOKEN_FILE = 'api.token'

/** Random bytes in a token (written as hex: 64 characters). */
export const TOKEN_BYTES = 32

/** Shortest and longest token a token file may hold (characters). */
export const MIN_TOKEN_LENGTH = 16
export const MAX_TOKEN_LENGTH = 1024

/**
 * Longest `:key` path segment the router accepts, percent-encoded (characters). A 1024-byte
 * key is at most 3 KiB encoded; longer segments reach the handler and fail key validation
 * with 400 instead of a 404 from the router.
 */
export const MAX_PARAM_LENGTH = 16 * 1024

/** Routes that answer without a token (the dashboard page asks for the token itself). */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/health', '/', '/ui/:file'])

/** The version of the HTTP API in the OpenAPI document (the paths carry its major: /v1). */
export const API_VERSION = '1.0.0'
