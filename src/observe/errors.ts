import { HearsayError } from '../errors.js'

/** A beacon or trace message that does not decode or breaks a limit: dropped, and counted. */
export class MalformedObserveMessageError extends HearsayError {
  static readonly code = 'ERR_MALFORMED_OBSERVE_MESSAGE'

  constructor (detail: string, options?: { cause?: unknown }) {
    super(MalformedObserveMessageError.code, `malformed observe message: ${detail}`, options)
  }
}

/** A trace asked about more writes than one request may carry. */
export class TooManyTracesError extends HearsayError {
  static readonly code = 'ERR_TOO_MANY_TRACES'

  constructor (asked: number, limit: number) {
    super(TooManyTracesError.code, `a trace may ask about at most ${limit} writes at once, not ${asked}: ask for fewer`)
  }
}
