// The events part's public types: what it needs (components), how it is tuned (init), what it
// emits and returns, and the face a peer's users see (`peer.events`).
import type { NetNode } from '../net/index.js'
import type { TypedEventTarget } from '../events.js'
import type { Log } from '../log.js'
import type { Json } from '../replica/index.js'
import type { QueryResult } from './queries.js'

export type EventsNet = Pick<NetNode,
'peerId' | 'network' | 'protocol' | 'handle' | 'unhandle' | 'openStream' | 'subscribe' | 'unsubscribe' | 'publish' | 'verify'>

export interface EventsComponents {
  net: EventsNet
  /** The membership view, self included: whom a query asks, and where to send answers. */
  members: () => Array<{ peerId: string, addresses: string[], state: string, self: boolean }>
  /** Where this part logs (a pino logger, or any with the same methods). @default silent */
  logger?: Log
}

export interface EventsInit {
  /** Largest payload of an event, query or answer, in UTF-8 bytes of its JSON. @default 65_536 (bytes) */
  maxPayloadBytes?: number
  /** Deepest nesting of arrays and objects in a payload. @default 64 */
  maxPayloadDepth?: number
  /**
   * Events (and, separately, queries) one sender may send per second, sustained: this peer's
   * own `publish` and `query` throw RateLimitedError past it, and what others send past it is
   * dropped and counted (receivers allow bursts of twice `burst`, for delays that vary). @default 20
   */
  ratePerSecond?: number
  /** Events (and queries) one sender may send at once before the rate applies. @default 100 */
  burst?: number
  /**
   * How far a message's send time may be from this peer's clock and still be accepted; ids are
   * remembered for twice this. It is also the clock skew between hosts tolerated. @default 120_000 (ms)
   */
  maxAge?: number
  /** Most message ids remembered for deduplication. @default 100_000 */
  maxSeen?: number
  /** How long `query` waits unless told otherwise. @default 2_000 (ms) */
  queryTimeout?: number
  /** Handlers that may run at once for other members' queries; more queries go unanswered, counted as `busy`. @default 64 */
  maxConcurrentAnswers?: number
}

/** The detail of a `user` event. */
export interface UserEvent {
  name: string
  payload: Json
  /** The sender's PeerId, proven by its signature (this peer's own for an event it published). */
  from: string
  /** The event's id (32 hex characters), the same on every peer. */
  id: string
  /** The sender's clock when it sent the event (ms since the epoch). */
  at: number
}

export interface EventsEvents extends Record<string, unknown> {
  /** A user event, once per event on every peer, the sender included. */
  user: UserEvent
}

export interface EventReceipt {
  id: string
  name: string
  at: number
  /** Neighbours gossipsub handed the event to (0 when no other member listens yet). */
  recipients: number
}

export interface QueryOptions {
  /** How long to wait for answers. @default the peer's events.queryTimeout: 2_000 (ms); at most 60_000 */
  timeout?: number
  /** Ends the wait early; the query then returns what it has. */
  signal?: AbortSignal
}

export interface QueryContext {
  name: string
  /** The asker's PeerId, proven by its signature. */
  from: string
  id: string
  at: number
  /** Aborted when the asker stops waiting: an answer after that is not sent. */
  signal: AbortSignal
}

/** Answers one query: returns (or resolves to) a JSON value; a throw is answered as an error. */
export type QueryHandler = (payload: Json, query: QueryContext) => unknown

export interface EventsStats {
  /** Events this peer published. */
  eventsSent: number
  /** Events from other members delivered to listeners. */
  eventsReceived: number
  queriesSent: number
  /** Queries from other members accepted (answered or not: a handler is per name). */
  queriesReceived: number
  /** Answers this peer sent to other members' queries. */
  answersSent: number
  /** Answers to this peer's queries that came in time. */
  answersReceived: number
  /** Answers that came after their query ended (or to no query of this peer's). */
  answersLate: number
  /** Answers this peer could not give: the asker unreachable, or the handler past the asker's timeout. */
  answersFailed: number
  /** Copies of a message already delivered, and repeated answers from one member. */
  duplicates: number
  /** Messages and answers over the size limit. */
  oversized: number
  /** Messages not sealed by their sender. */
  unsigned: number
  /** Messages whose seal does not verify against the PeerId they name. */
  badSignature: number
  /** Messages and answers that do not decode. */
  malformed: number
  /** Messages sent longer ago (or further ahead) than maxAge by this peer's clock. */
  stale: number
  /** Messages over their sender's rate. */
  rateLimited: number
  /** Queries left unanswered because maxConcurrentAnswers handlers were running. */
  busy: number
  /** Ids forgotten early because the deduplication window was full. */
  seenEvicted: number
}

/** What a peer's users see of events and queries (`peer.events`). */
export interface Events extends Pick<TypedEventTarget<EventsEvents>, 'addEventListener' | 'removeEventListener' | 'once'> {
  /**
   * Sends a user event to every member (this peer's listeners get it too). Resolves once
   * handed to gossipsub; delivery is best effort and nothing is stored. Throws
   * InvalidEventNameError, InvalidPayloadError, EventTooLargeError, RateLimitedError.
   */
  publish (name: string, payload?: unknown): Promise<EventReceipt>
  /**
   * Asks every member; those with a handler for `name` answer (this peer too, if it has one).
   * Resolves when every member alive or suspect has answered, or at the timeout, with the
   * answers and the members that did not answer.
   */
  query (name: string, payload?: unknown, options?: QueryOptions): Promise<QueryResult>
  /** Answer queries named `name` with `handler` (replacing any handler the name had); returns a function that removes it. */
  onQuery (name: string, handler: QueryHandler): () => void
  /** Stop answering queries named `name`. */
  offQuery (name: string): void
}

/** The part as the peer wires it: the view, its lifecycle and its figures. */
export interface EventsService extends Events {
  start (): Promise<void>
  stop (): Promise<void>
  stats (): EventsStats
}
