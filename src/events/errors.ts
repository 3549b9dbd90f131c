import { HearsayError } from '../errors.js'
import { EVENT_LIMITS } from './constants.js'

/** An event, query or answer from the network that does not decode or breaks a limit: dropped, and counted. */
export class MalformedEventError extends HearsayError {
  static readonly code = 'ERR_MALFORMED_EVENT'

  constructor (detail: string, options?: { cause?: unknown }) {
    super(MalformedEventError.code, `malformed user event or query: ${detail}`, options)
  }
}

/** A payload (or a whole message) over the size limit: refused when sent, dropped and counted when received. */
export class EventTooLargeError extends HearsayError {
  static readonly code = 'ERR_EVENT_TOO_LARGE'
  readonly bytes: number
  readonly limit: number

  constructor (bytes: number, limit: number) {
    super(EventTooLargeError.code,
      `the payload is ${bytes} bytes of JSON, over the limit of ${limit}: send less (a reference to data in the store, say), or raise events.maxPayloadBytes on every peer`)
    this.bytes = bytes
    this.limit = limit
  }
}

export class InvalidEventNameError extends HearsayError {
  static readonly code = 'ERR_INVALID_EVENT_NAME'

  constructor (name: unknown) {
    super(InvalidEventNameError.code,
      `${JSON.stringify(typeof name === 'string' ? name.slice(0, 80) : name) ?? String(name)} is not an event or query name: use 1-${EVENT_LIMITS.maxNameLength} ` +
      'letters, digits or "_ . : @ + -", starting with a letter, a digit or "_"')
  }
}

/** A payload that is not plain JSON (a function, NaN, a class instance, too deep, ...). */
export class InvalidPayloadError extends HearsayError {
  static readonly code = 'ERR_INVALID_PAYLOAD'

  constructor (detail: string) {
    super(InvalidPayloadError.code, `the payload ${detail}`)
  }
}

/** This peer sent more events or queries than the rate allows; the others would drop them. */
export class RateLimitedError extends HearsayError {
  static readonly code = 'ERR_RATE_LIMITED'

  constructor (what: 'events' | 'queries', perSecond: number, burst: number) {
    super(RateLimitedError.code,
      `too many ${what}: every peer accepts ${perSecond} a second from one sender (bursts of ${burst}); wait a moment and send again`)
  }
}

export class InvalidQueryTimeoutError extends HearsayError {
  static readonly code = 'ERR_INVALID_QUERY_TIMEOUT'

  constructor (timeout: unknown, max: number) {
    super(InvalidQueryTimeoutError.code, `query timeout ${String(timeout)} is not a whole number of ms between 1 and ${max}`)
  }
}
