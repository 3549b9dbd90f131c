import { codedError, malformedError } from '../errors.js'

/** Bytes that are not a membership message, or break one of MEMBERSHIP_LIMITS: dropped and counted. */
export class MalformedMembershipMessageError extends malformedError('ERR_MALFORMED_MEMBERSHIP_MESSAGE', 'membership message') {}

/**
 * Thrown by `MemberTable` when the local node describes itself with values the rest of the
 * network would reject (an empty PeerId, an incarnation that is not a small enough
 * non-negative integer, a non-finite priority, addresses or tags that are not strings).
 * Updates heard from the network never throw: they are ignored instead.
 */
export class InvalidSelfError extends codedError('ERR_INVALID_SELF') {}

/** Tags that break the limits every member applies (count, length, text). */
export class InvalidTagsError extends codedError('ERR_INVALID_TAGS') {}
