/**
 * The HTTP API of a peer (fastify): `buildApi(peer, { token })` makes the instance (inject it
 * in tests), `startApi` serves it on 127.0.0.1. Every route but /health needs
 * `Authorization: Bearer <token>`; the token lives in `<data dir>/api.token` (mode 0600).
 */
export { buildApi, startApi } from './server.js'
export type { ApiOptions, StartApiOptions, ApiInstanceInfo, ApiLimitStats, HearsayApi, RunningApi } from './server.js'
export { TooManyStreamsError, STREAM_KINDS } from './stream-budget.js'
export type { StreamKind, StreamBudgetStats } from './stream-budget.js'
export { RateLimitedError, DEFAULT_RATE_LIMIT_MAX, DEFAULT_RATE_LIMIT_WINDOW_MS } from './rate-limit.js'
export type { RateLimitOptions } from './rate-limit.js'
export { createToken, loadOrCreateToken } from './auth.js'
export {
  ERROR_STATUS, ApiError, ApiListenError, BadJsonError, BadRequestError, BodyTooLargeError, InternalError,
  KeyNotFoundError, NoLeaderError, NoTraceError, RouteNotFoundError, StoppingError, TokenFileError, UnauthorizedError,
  UnsupportedMediaTypeError, InvalidApiOptionsError, DashboardFilesError
} from './errors.js'
export type { ApiErrorCode, ErrorReply } from './errors.js'
export { EVENT_SOURCES, memberEvents, leaderEvents, userEvents } from './event-sources.js'
export type { PeerEventSource } from './event-sources.js'
export type { SseStats, SseLimits } from './sse.js'
export type { ReloadReport } from './routes/runtime.js'
export type { WatchOptions, WatchStats, WatchEventData, WatchStart } from './watch.js'
export type { DashboardOptions, DashboardSnapshot, DashboardStats } from './dashboard.js'
export type { OpenApiDocument, RouteInfo } from './openapi.js'
export type { JsonSchema, RouteSchema } from './schemas.js'
export {
  API_TOKEN_FILE, DEFAULT_API_HOST, DEFAULT_API_PORT, DEFAULT_BODY_LIMIT, DEFAULT_MAX_STREAMS, DEFAULT_WATCH_KEEP_ALIVE_MS, DEFAULT_WATCH_REPLAY_BYTES,
  DEFAULT_WATCH_REPLAY_EVENTS, DEFAULT_WATCH_RETAIN_MS,
  DEFAULT_WATCH_MAX_QUEUED_BYTES, DEFAULT_WATCH_MAX_QUEUED_EVENTS
} from './constants.js'
