import { HearsayError } from '../errors.js'

/**
 * Thrown by `MemberTable` when the local node describes itself with values the rest of the
 * network would reject (an empty PeerId, an incarnation that is not a small enough
 * non-negative integer, a non-finite priority, addresses or tags that are not strings).
 * Updates heard from the network never throw: they are ignored instead.
 */
/** Bytes that are not a membership message, or break one of MEMBERSHIP_LIMITS: dropped and counted. */
export class MalformedMembershipMessageError extends HearsayError {
  static readonly code = 'ERR_MALFORMED_MEMBERSHIP_MESSAGE'

  constructor (detail: string, options?: { cause?: unknown }) {
    super(MalformedMembershipMessageError.code, `malformed membership message: ${detail}`, options)
  }
}

export class InvalidSelfError extends HearsayError {
  static readonly code = 'ERR_INVALID_SELF'

  constructor (message: string) {
    super(InvalidSelfError.code, message)
  }
}
