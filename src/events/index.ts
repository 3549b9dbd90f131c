/**
 * User events and queries (Serf's `event` and `query`): small signed messages to every member
 * over gossipsub, deduplicated, size- and rate-limited, never stored; queries answered by the
 * members that registered a handler, over a direct stream back to the asker.
 */
export { createEvents } from './service.js'
export type {
  Events, EventsService, EventsComponents, EventsEvents, EventsInit, EventsNet, EventsStats, EventReceipt, QueryContext, QueryHandler, QueryOptions, UserEvent
} from './types.js'
export { QueryCollector } from './queries.js'
export type { AddOutcome, QueryResponse, QueryResult } from './queries.js'
export { SeenWindow } from './seen.js'
export type { SeenWindowInit } from './seen.js'
export { TokenBuckets } from './rate-limit.js'
export type { TokenBucketsInit } from './rate-limit.js'
export {
  cutError, decodeQueryAnswer, decodeUserMessage, encodeQueryAnswer, encodeUserMessage, maxMessageBytes
} from './codec.js'
export type { PayloadLimits, QueryAnswer, UserMessage, UserMessageKind } from './codec.js'
export { checkName, decodePayload, encodePayload, isEventName, jsonProblem } from './payload.js'
export * from './errors.js'
export {
  DEFAULT_BURST, DEFAULT_MAX_AGE, DEFAULT_MAX_CONCURRENT_ANSWERS, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PAYLOAD_DEPTH, DEFAULT_MAX_SEEN,
  DEFAULT_QUERY_TIMEOUT, DEFAULT_RATE_PER_SECOND, EVENT_LIMITS, EVENT_NAME_PATTERN, EVENTS_PART, MAX_QUERY_TIMEOUT, QUERY_PART
} from './constants.js'
