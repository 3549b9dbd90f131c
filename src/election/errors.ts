import { HearsayError } from '../errors.js'

/** Thrown when election timers are missing, non-positive or inconsistent with each other. */
export class InvalidElectionOptionsError extends HearsayError {
  static readonly code = 'ERR_INVALID_ELECTION_OPTIONS'

  constructor (message: string) {
    super(InvalidElectionOptionsError.code, message)
  }
}

/** Thrown when the election is created with an unusable identity, priority or persisted term. */
export class InvalidElectionInitError extends HearsayError {
  static readonly code = 'ERR_INVALID_ELECTION_INIT'

  constructor (message: string) {
    super(InvalidElectionInitError.code, message)
  }
}

/** Bytes that are not an election message: dropped and counted by the service. */
export class MalformedElectionMessageError extends HearsayError {
  static readonly code = 'ERR_MALFORMED_ELECTION_MESSAGE'

  constructor (detail: string, options?: { cause?: unknown }) {
    super(MalformedElectionMessageError.code, `malformed election message: ${detail}`, options)
  }
}
