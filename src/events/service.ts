import { randomBytes } from 'node:crypto'
import { decodeEnvelope, signingInput, NotStartedError, type MessageStream, type PubsubMessage } from '../net/index.js'
import { TypedEventTarget } from '../events.js'
import { rateLimited, silentLog, type LogFn } from '../log.js'
import type { Json } from '../replica/index.js'
import {
  decodeQueryAnswer, decodeUserMessage, encodeQueryAnswer, encodeUserMessage, maxMessageBytes, type PayloadLimits, type QueryAnswer, type UserMessage
} from './codec.js'
import {
  DEFAULT_BURST, DEFAULT_MAX_AGE, DEFAULT_MAX_CONCURRENT_ANSWERS, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PAYLOAD_DEPTH,
  DEFAULT_MAX_SEEN, DEFAULT_MAX_SENDERS, DEFAULT_QUERY_TIMEOUT, DEFAULT_RATE_PER_SECOND, EVENTS_PART, MAX_QUERY_TIMEOUT, QUERY_PART
} from './constants.js'
import { EventTooLargeError, InvalidQueryTimeoutError, RateLimitedError } from './errors.js'
import { checkName, encodePayload } from './payload.js'
import { QueryCollector, type QueryResponse, type QueryResult } from './queries.js'
import type {
  EventReceipt, EventsComponents, EventsEvents, EventsInit, EventsNet, EventsService, EventsStats, QueryContext, QueryHandler, QueryOptions, UserEvent
} from './types.js'
import { TokenBuckets } from './rate-limit.js'
import { SeenWindow } from './seen.js'

/** Most answers one query keeps (one per member). */
const MAX_RESPONSES = 10_000
/** How long the asker waits for the one message on an answer stream. @default 5_000 (ms) */
const ANSWER_READ_TIMEOUT = 5_000

type DropReason = 'duplicates' | 'oversized' | 'unsigned' | 'badSignature' | 'malformed' | 'stale' | 'rateLimited'

export function createEvents (components: EventsComponents, init: EventsInit = {}): EventsService {
  return new GossipEvents(components, init)
}

/**
 * User events and queries (Serf's `event` and `query`). An event goes to every member over the
 * gossipsub topic `/hearsay/<network>/events/1.0.0`, sealed by its sender; every peer emits it
 * once as a `user` event (deduplicated by sender and id), the sender included; nothing is stored.
 * A query goes out the same way; members with a handler for its name answer over a direct stream
 * (`/hearsay/<network>/query/1.0.0`) and the asker collects the answers until its timeout.
 * Every receiver checks size, seal, age and its sender's rate before anything else.
 */
class GossipEvents extends TypedEventTarget<EventsEvents> implements EventsService {
  private readonly net: EventsNet
  private readonly members: EventsComponents['members']
  private readonly logDropped: LogFn
  private readonly limits: Required<PayloadLimits>
  private readonly maxEnvelopeBytes: number
  private readonly queryTimeout: number
  private readonly maxConcurrentAnswers: number
  private readonly topic: string
  private readonly queryProtocol: string
  private readonly seen: SeenWindow
  /** This peer's own events and queries (keys `event` and `query`). */
  private readonly ownRate: TokenBuckets
  private readonly eventRate: TokenBuckets
  private readonly queryRate: TokenBuckets
  private readonly handlers = new Map<string, QueryHandler>()
  private readonly pending = new Map<string, QueryCollector>()
  private running = false
  private stopped = new AbortController()
  private answering = 0
  private readonly counters = {
    eventsSent: 0,
    eventsReceived: 0,
    queriesSent: 0,
    queriesReceived: 0,
    answersSent: 0,
    answersReceived: 0,
    answersLate: 0,
    answersFailed: 0,
    duplicates: 0,
    oversized: 0,
    unsigned: 0,
    badSignature: 0,
    malformed: 0,
    stale: 0,
    rateLimited: 0,
    busy: 0
  }

  constructor (components: EventsComponents, init: EventsInit = {}) {
    super()
    this.net = components.net
    this.members = components.members
    this.logDropped = rateLimited(components.logger ?? silentLog, 'warn')
    this.limits = {
      maxPayloadBytes: positiveInteger('maxPayloadBytes', init.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES),
      maxPayloadDepth: positiveInteger('maxPayloadDepth', init.maxPayloadDepth ?? DEFAULT_MAX_PAYLOAD_DEPTH)
    }
    this.maxEnvelopeBytes = maxMessageBytes(this.limits)
    this.queryTimeout = checkTimeout(init.queryTimeout ?? DEFAULT_QUERY_TIMEOUT)
    this.maxConcurrentAnswers = positiveInteger('maxConcurrentAnswers', init.maxConcurrentAnswers ?? DEFAULT_MAX_CONCURRENT_ANSWERS)
    this.seen = new SeenWindow({ maxAge: init.maxAge ?? DEFAULT_MAX_AGE, maxEntries: init.maxSeen ?? DEFAULT_MAX_SEEN })
    const perSecond = init.ratePerSecond ?? DEFAULT_RATE_PER_SECOND
    const burst = init.burst ?? DEFAULT_BURST
    this.ownRate = new TokenBuckets({ perSecond, burst, maxKeys: 2 })
    // Receivers allow twice the burst: messages sent evenly at the rate can arrive bunched up
    // (delays vary), and an honest sender within its rate must never see them dropped. The
    // slack covers delays that vary by up to burst / rate seconds (5 s by default).
    const remote = { perSecond, burst: 2 * burst, maxKeys: DEFAULT_MAX_SENDERS }
    this.eventRate = new TokenBuckets(remote)
    this.queryRate = new TokenBuckets(remote)
    this.topic = this.net.protocol(EVENTS_PART)
    this.queryProtocol = this.net.protocol(QUERY_PART)
  }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.stopped = new AbortController()
    // Not `signed: true`: this part opens the seals itself, to count what it drops and why.
    this.net.subscribe(this.topic, (message) => { this.onMessage(message) })
    await this.net.handle(this.queryProtocol, async (stream) => { await this.onAnswerStream(stream) }, {
      maxInboundStreams: 256,
      maxOutboundStreams: 256,
      maxMessageBytes: this.maxEnvelopeBytes
    })
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    // Queries waiting now return what they have.
    this.stopped.abort()
    this.net.unsubscribe(this.topic)
    await this.net.unhandle(this.queryProtocol).catch(() => {})
  }

  /**
   * Sends a user event to every member (this peer's listeners get it too). Resolves once
   * handed to gossipsub; delivery is best effort and nothing is stored. Throws
   * InvalidEventNameError, InvalidPayloadError, EventTooLargeError, RateLimitedError.
   */
  async publish (name: string, payload?: unknown): Promise<EventReceipt> {
    checkName(name)
    const text = encodePayload(payload, this.limits.maxPayloadBytes, this.limits.maxPayloadDepth)
    this.ensureRunning()
    const now = Date.now()
    if (!this.ownRate.take('event', now)) throw new RateLimitedError('events', this.ownRate.perSecond, this.ownRate.burst)
    const id = randomBytes(16)
    const recipients = await this.send({ kind: 'event', id, name, payload: text, at: now, timeout: 0 })
    this.counters.eventsSent++
    const hex = toHex(id)
    this.emit('user', { name, payload: JSON.parse(text) as Json, from: this.net.peerId, id: hex, at: now })
    return { id: hex, name, at: now, recipients }
  }

  /**
   * Answer queries named `name` with `handler` (replacing any handler the name had). Returns a
   * function that removes it.
   */
  onQuery (name: string, handler: QueryHandler): () => void {
    checkName(name)
    if (typeof handler !== 'function') throw new TypeError('onQuery needs a function to answer with')
    this.handlers.set(name, handler)
    return () => { if (this.handlers.get(name) === handler) this.handlers.delete(name) }
  }

  /** Stop answering queries named `name`. */
  offQuery (name: string): void {
    this.handlers.delete(name)
  }

  /**
   * Asks every member; those with a handler for `name` answer (this peer too, if it has one).
   * Resolves when every member alive or suspect has answered, or at the timeout, with the
   * answers and the members that did not answer.
   */
  async query (name: string, payload?: unknown, options: QueryOptions = {}): Promise<QueryResult> {
    checkName(name)
    const text = encodePayload(payload, this.limits.maxPayloadBytes, this.limits.maxPayloadDepth)
    const timeout = checkTimeout(options.timeout ?? this.queryTimeout)
    this.ensureRunning()
    const now = Date.now()
    if (!this.ownRate.take('query', now)) throw new RateLimitedError('queries', this.ownRate.perSecond, this.ownRate.burst)
    const id = randomBytes(16)
    const hex = toHex(id)
    const asked = new Set(this.members().filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => m.peerId))
    asked.add(this.net.peerId)
    let complete = (): void => {}
    const done = new Promise<void>((resolve) => { complete = resolve })
    const collector = new QueryCollector({ id: hex, name, asked, maxResponses: MAX_RESPONSES, onComplete: () => { complete() } })
    this.pending.set(hex, collector)
    const signals = [AbortSignal.timeout(timeout), this.stopped.signal]
    if (options.signal !== undefined) signals.push(options.signal)
    const ended = AbortSignal.any(signals)
    try {
      await this.send({ kind: 'query', id, name, payload: text, at: now, timeout })
      this.counters.queriesSent++
      const handler = this.handlers.get(name)
      if (handler !== undefined) {
        const context: QueryContext = { name, from: this.net.peerId, id: hex, at: now, signal: ended }
        void runHandler(handler, JSON.parse(text) as Json, context, this.limits).then((answer) => {
          if (answer !== undefined) collector.add(localResponse(this.net.peerId, answer))
        })
      }
      if (!ended.aborted) {
        await new Promise<void>((resolve) => {
          ended.addEventListener('abort', () => { resolve() }, { once: true })
          void done.then(resolve)
        })
      }
      return collector.result()
    } finally {
      this.pending.delete(hex)
    }
  }

  stats (): EventsStats {
    return { ...this.counters, seenEvicted: this.seen.evicted }
  }

  // --- sending -----------------------------------------------------------------------------

  private ensureRunning (): void {
    if (!this.running) throw new NotStartedError()
  }

  /** Seals and publishes a message; remembers its id so a copy coming back is a duplicate. */
  private async send (message: Omit<UserMessage, 'payload'> & { payload: string }): Promise<number> {
    this.seen.add(seenKey(this.net.peerId, message.id), message.at)
    try {
      return await this.net.publish(this.topic, encodeUserMessage(message), { signed: true })
    } catch (err) {
      // gossipsub's word for "no other member listens on the topic (yet)": this peer alone gets it.
      if ((err as Error).message?.includes('NoPeersSubscribedToTopic')) return 0
      throw err
    }
  }

  // --- receiving ---------------------------------------------------------------------------

  private drop (reason: DropReason, fields: Record<string, unknown>, why: string): void {
    this.counters[reason]++
    if (reason !== 'duplicates') this.logDropped({ ...fields, reason }, `dropped a user event or query: ${why}`)
  }

  /** The checks, cheapest first; a signature is verified only for a message not seen yet. */
  private onMessage (message: PubsubMessage): void {
    if (!this.running) return
    const { data, via } = message
    if (data.byteLength > this.maxEnvelopeBytes) {
      this.drop('oversized', { via, bytes: data.byteLength }, `${data.byteLength} bytes is over the limit`)
      return
    }
    let envelope
    try {
      envelope = decodeEnvelope(data, this.maxEnvelopeBytes)
    } catch (err) {
      this.drop('unsigned', { via }, `not sealed by its sender (${(err as Error).message})`)
      return
    }
    let decoded: UserMessage
    try {
      decoded = decodeUserMessage(envelope.payload, this.limits)
    } catch (err) {
      this.drop(err instanceof EventTooLargeError ? 'oversized' : 'malformed', { via, from: envelope.author }, (err as Error).message)
      return
    }
    const from = envelope.author
    const key = seenKey(from, decoded.id)
    const now = Date.now()
    if (this.seen.has(key, now)) {
      this.drop('duplicates', {}, 'a duplicate')
      return
    }
    if (!this.net.verify(from, signingInput(this.topic, envelope.payload), envelope.signature)) {
      this.drop('badSignature', { via, from }, 'its seal does not verify against the PeerId it names')
      return
    }
    if (this.seen.isStale(decoded.at, now)) {
      this.drop('stale', { via, from, at: decoded.at }, `sent at ${decoded.at}, more than ${this.seen.maxAge} ms from this peer's clock`)
      return
    }
    this.seen.add(key, now)
    const buckets = decoded.kind === 'event' ? this.eventRate : this.queryRate
    if (!buckets.take(from, now)) {
      this.drop('rateLimited', { from, name: decoded.name }, 'its sender is over the rate')
      return
    }
    if (decoded.kind === 'event') {
      this.counters.eventsReceived++
      this.emit('user', { name: decoded.name, payload: decoded.payload, from, id: toHex(decoded.id), at: decoded.at })
    } else {
      this.counters.queriesReceived++
      void this.answer(from, decoded)
    }
  }

  private async answer (from: string, query: UserMessage): Promise<void> {
    const handler = this.handlers.get(query.name)
    if (handler === undefined) return
    if (this.answering >= this.maxConcurrentAnswers) {
      this.counters.busy++
      return
    }
    this.answering++
    // The asker's clock may differ from ours: the deadline counts from arrival.
    const deadline = Date.now() + query.timeout
    const signal = AbortSignal.any([AbortSignal.timeout(query.timeout), this.stopped.signal])
    try {
      const answer = await runHandler(handler, query.payload, { name: query.name, from, id: toHex(query.id), at: query.at, signal }, this.limits)
      const remaining = deadline - Date.now()
      if (answer === undefined || remaining <= 0 || !this.running) {
        this.counters.answersFailed++
        return
      }
      const addresses = this.members().find((m) => m.peerId === from)?.addresses ?? []
      const stream = await this.net.openStream(from, this.queryProtocol, { addresses, timeout: remaining, maxMessageBytes: this.maxEnvelopeBytes })
      stream.send(encodeQueryAnswer({ id: query.id, ...answer }))
      await stream.close()
      this.counters.answersSent++
    } catch (err) {
      this.counters.answersFailed++
      this.logDropped({ to: from, name: query.name, reason: (err as Error).message }, 'could not answer a query')
    } finally {
      this.answering--
    }
  }

  private async onAnswerStream (stream: MessageStream): Promise<void> {
    let bytes: Uint8Array | undefined
    try {
      bytes = await stream.next({ timeout: ANSWER_READ_TIMEOUT })
    } catch (err) {
      // Over the size limit (the stream's framing refused it), or nothing came in time.
      if ((err as { code?: string }).code === 'ERR_MESSAGE_TOO_LARGE') this.counters.oversized++
      stream.abort()
      return
    }
    if (bytes === undefined) {
      stream.abort()
      return
    }
    let answer
    try {
      answer = decodeQueryAnswer(bytes, this.limits)
    } catch (err) {
      this.drop(err instanceof EventTooLargeError ? 'oversized' : 'malformed', { from: stream.remotePeer }, (err as Error).message)
      stream.abort()
      return
    }
    const collector = this.pending.get(toHex(answer.id))
    if (collector === undefined) this.counters.answersLate++
    else {
      const outcome = collector.add(remoteResponse(stream.remotePeer, answer))
      if (outcome === 'added') this.counters.answersReceived++
      else if (outcome === 'duplicate') this.counters.duplicates++
    }
    await stream.close()
  }
}

/**
 * Runs a handler until it answers or `signal` aborts: its result as checked JSON text, its
 * failure as an error message, or undefined when the asker stopped waiting first.
 */
async function runHandler (handler: QueryHandler, payload: Json, context: QueryContext, limits: Required<PayloadLimits>): Promise<{ payload: string } | { error: string } | undefined> {
  const { signal } = context
  if (signal.aborted) return undefined
  let onAbort: (() => void) | undefined
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => { resolve(undefined) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  const answered = (async () => {
    try {
      const result = await handler(payload, context)
      try {
        return { payload: encodePayload(result, limits.maxPayloadBytes, limits.maxPayloadDepth) }
      } catch (err) {
        return { error: `the handler's answer was refused: ${(err as Error).message}` }
      }
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) }
    }
  })()
  try {
    return await Promise.race([answered, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

/** A local handler's answer (JSON text, already checked) as the asker returns it. */
function localResponse (peerId: string, answer: { payload: string } | { error: string }): QueryResponse {
  return 'error' in answer ? { peerId, error: answer.error } : { peerId, payload: JSON.parse(answer.payload) as Json }
}

/** A decoded answer from the network as the asker returns it. */
function remoteResponse (peerId: string, answer: QueryAnswer): QueryResponse {
  return 'error' in answer ? { peerId, error: answer.error } : { peerId, payload: answer.payload }
}

function seenKey (from: string, id: Uint8Array): string {
  return `${from}/${toHex(id)}`
}

function toHex (id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')
}

function positiveInteger (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`events.${name} must be a positive whole number, not ${value}`)
  return value
}

function checkTimeout (timeout: unknown): number {
  if (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout < 1 || timeout > MAX_QUERY_TIMEOUT) {
    throw new InvalidQueryTimeoutError(timeout, MAX_QUERY_TIMEOUT)
  }
  return timeout
}
