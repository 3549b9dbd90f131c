/**
 * Encoders and strict decoders of user events, queries and answers. Decoders refuse anything
 * over a limit or out of range: EventTooLargeError for a payload (or message) over the size
 * limit, MalformedEventError for everything else. Nothing half-decoded escapes.
 */
import { QueryAnswer as WireAnswer, UserMessage as WireMessage } from './pb/events.js'
import type { Json } from '../replica/index.js'
import { isWellFormed } from '../text.js'
import { DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PAYLOAD_DEPTH, EVENT_LIMITS, MAX_QUERY_TIMEOUT } from './constants.js'
import { EventTooLargeError, MalformedEventError } from './errors.js'
import { decodePayload, isEventName } from './payload.js'

export type UserMessageKind = 'event' | 'query'

/** An event or a query as it travels inside its sender's sealed envelope. */
export interface UserMessage {
  kind: UserMessageKind
  /** 16 bytes, chosen at random by the sender. */
  id: Uint8Array
  name: string
  payload: Json
  /** The sender's clock when it sent it (ms since the epoch). */
  at: number
  /** Queries: how long the asker waits (ms, 1 to 60,000); 0 for events. */
  timeout: number
}

/** One member's answer to a query: its handler's result, or why the handler failed. */
export type QueryAnswer =
  | { id: Uint8Array, payload: Json }
  | { id: Uint8Array, error: string }

export interface PayloadLimits {
  /** @default 65_536 (bytes) */
  maxPayloadBytes?: number
  /** @default 64 */
  maxPayloadDepth?: number
}

const KIND_TO_WIRE: Record<UserMessageKind, WireMessage.Kind> = { event: WireMessage.Kind.EVENT, query: WireMessage.Kind.QUERY }

function limitsOf (limits: PayloadLimits): { maxBytes: number, maxDepth: number } {
  return { maxBytes: limits.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, maxDepth: limits.maxPayloadDepth ?? DEFAULT_MAX_PAYLOAD_DEPTH }
}

/** Largest encoded message a decoder looks at with these limits. */
export function maxMessageBytes (limits: PayloadLimits = {}): number {
  return limitsOf(limits).maxBytes + EVENT_LIMITS.overheadBytes
}

function wrap<T> (decode: () => T): T {
  try {
    return decode()
  } catch (err) {
    if (err instanceof MalformedEventError || err instanceof EventTooLargeError) throw err
    throw new MalformedEventError((err as Error).message, { cause: err })
  }
}

function checkId (id: Uint8Array): Uint8Array {
  if (id.byteLength !== EVENT_LIMITS.idBytes) throw new MalformedEventError(`an id is ${EVENT_LIMITS.idBytes} bytes, not ${id.byteLength}`)
  return id
}

/** The payload is passed as JSON text already checked by `encodePayload`, so it is encoded once. */
export function encodeUserMessage (message: Omit<UserMessage, 'payload'> & { payload: string }): Uint8Array {
  return WireMessage.encode({
    kind: KIND_TO_WIRE[message.kind],
    id: message.id,
    name: message.name,
    payload: message.payload,
    at: message.at,
    timeout: message.timeout
  })
}

export function decodeUserMessage (bytes: Uint8Array, limits: PayloadLimits = {}): UserMessage {
  const { maxBytes, maxDepth } = limitsOf(limits)
  if (bytes.byteLength > maxBytes + EVENT_LIMITS.overheadBytes) throw new EventTooLargeError(bytes.byteLength, maxBytes)
  return wrap(() => {
    const wire = WireMessage.decode(bytes)
    const kind = wire.kind === WireMessage.Kind.EVENT ? 'event' : wire.kind === WireMessage.Kind.QUERY ? 'query' : undefined
    if (kind === undefined) throw new MalformedEventError('unknown kind')
    checkId(wire.id)
    if (!isEventName(wire.name)) throw new MalformedEventError('bad name')
    if (!Number.isSafeInteger(wire.at) || wire.at <= 0) throw new MalformedEventError('bad time')
    if (kind === 'query' ? wire.timeout < 1 || wire.timeout > MAX_QUERY_TIMEOUT : wire.timeout !== 0) throw new MalformedEventError('bad timeout')
    if (!isWellFormed(wire.payload)) throw new MalformedEventError('the payload is not UTF-8')
    const payload = decodePayload(wire.payload, maxBytes, maxDepth)
    return { kind, id: wire.id, name: wire.name, payload, at: wire.at, timeout: wire.timeout }
  })
}

/** `payload` is JSON text already checked by `encodePayload`; an error is cut to its limit. */
export function encodeQueryAnswer (answer: { id: Uint8Array, payload: string } | { id: Uint8Array, error: string }): Uint8Array {
  if ('payload' in answer) return WireAnswer.encode({ id: answer.id, payload: answer.payload })
  return WireAnswer.encode({ id: answer.id, error: cutError(answer.error) })
}

export function decodeQueryAnswer (bytes: Uint8Array, limits: PayloadLimits = {}): QueryAnswer {
  const { maxBytes, maxDepth } = limitsOf(limits)
  if (bytes.byteLength > maxBytes + EVENT_LIMITS.overheadBytes) throw new EventTooLargeError(bytes.byteLength, maxBytes)
  return wrap(() => {
    const wire = WireAnswer.decode(bytes)
    const id = checkId(wire.id)
    if ((wire.payload === undefined) === (wire.error === undefined)) throw new MalformedEventError('an answer carries exactly one of payload and error')
    if (wire.error !== undefined) {
      if (wire.error.length > EVENT_LIMITS.maxErrorLength || !isWellFormed(wire.error)) throw new MalformedEventError('bad error message')
      return { id, error: wire.error }
    }
    const text = wire.payload as string
    if (!isWellFormed(text)) throw new MalformedEventError('the payload is not UTF-8')
    return { id, payload: decodePayload(text, maxBytes, maxDepth) }
  })
}

/** An error message within the limit, well-formed (lone surrogates become U+FFFD), cut with an ellipsis when too long. */
export function cutError (message: string): string {
  const whole = message.replace(/\p{Surrogate}/gu, '\uFFFD')
  if (whole.length <= EVENT_LIMITS.maxErrorLength) return whole
  // Cut before a high surrogate whose pair would be cut off.
  let end = EVENT_LIMITS.maxErrorLength - 1
  const last = whole.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return whole.slice(0, end) + '…'
}
