import { codedError, malformedError } from '../errors.js'

/** Thrown when election timers are missing, non-positive or inconsistent with each other. */
export class InvalidElectionOptionsError extends codedError('ERR_INVALID_ELECTION_OPTIONS') {}

/** Thrown when the election is created with an unusable identity, priority or persisted term. */
export class InvalidElectionInitError extends codedError('ERR_INVALID_ELECTION_INIT') {}

/** Bytes that are not an election message: dropped and counted by the service. */
export class MalformedElectionMessageError extends malformedError('ERR_MALFORMED_ELECTION_MESSAGE', 'election message') {}
