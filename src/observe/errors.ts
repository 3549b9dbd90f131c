import { HearsayError, codedError, malformedError } from '../errors.js'

/** A beacon or trace message that does not decode or breaks a limit: dropped, and counted. */
export class MalformedObserveMessageError extends malformedError('ERR_MALFORMED_OBSERVE_MESSAGE', 'observe message') {}

/** An observer option it cannot use (beacon timers, trace buffer, OTLP endpoint): the message names it. */
export class InvalidObserveOptionsError extends codedError('ERR_INVALID_OBSERVE_OPTIONS') {}

/** A member closed a trace request's stream without answering. */
export class NoTraceAnswerError extends HearsayError {
  static readonly code = 'ERR_NO_TRACE_ANSWER'

  constructor () {
    super(NoTraceAnswerError.code, 'it closed the stream without an answer')
  }
}

/** A trace asked about more writes than one request may carry. */
export class TooManyTracesError extends HearsayError {
  static readonly code = 'ERR_TOO_MANY_TRACES'

  constructor (asked: number, limit: number) {
    super(TooManyTracesError.code, `a trace may ask about at most ${limit} writes at once, not ${asked}: ask for fewer`)
  }
}
