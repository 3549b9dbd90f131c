import { HearsayError } from '../errors.js'

/** Thrown when election timers are missing, non-positive or inconsistent with each other. */
export class InvalidElectionOptionsError extends Error {
  static readonly code = 'ERR_INVALID_ELECTION_OPTIONS'
  readonly code = InvalidElectionOptionsError.code

  constructor (message: string) {
    super(message)
    this.name = 'InvalidElectionOptionsError'
  }
}

/** Thrown when the election is created with an unusable identity, priority or persisted term. */
export class InvalidElectionInitError extends Error {
  static readonly code = 'ERR_INVALID_ELECTION_INIT'
  readonly code = InvalidElectionInitError.code

  constructor (message: string) {
    super(message)
    this.name = 'InvalidElectionInitError'
  }
}

/** Bytes that are not an election message: dropped and counted by the service. */
export class MalformedElectionMessageError extends HearsayError {
  static readonly code = 'ERR_MALFORMED_ELECTION_MESSAGE'

  constructor (detail: string, options?: { cause?: unknown }) {
    super(MalformedElectionMessageError.code, `malformed election message: ${detail}`, options)
  }
}
