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
