import { HearsayError } from '../errors.js'

/**
 * One class per failure, each with a stable `code` the HTTP layer maps to a status and the
 * README lists. Messages say what to do about it.
 */

/** Base of the replica's errors: a HearsayError whose code is the subclass's static `code`. */
export abstract class ReplicaError extends HearsayError {
  constructor (message: string, options?: { cause?: unknown }) {
    super((new.target as unknown as { readonly code: string }).code, message, options)
  }
}

export class InvalidKeyError extends ReplicaError {
  static readonly code = 'ERR_INVALID_KEY'
  override readonly code = InvalidKeyError.code
  override name = 'InvalidKeyError'
}

export class KeyTooLongError extends ReplicaError {
  static readonly code = 'ERR_KEY_TOO_LONG'
  override readonly code = KeyTooLongError.code
  override name = 'KeyTooLongError'
}

export class InvalidValueError extends ReplicaError {
  static readonly code = 'ERR_INVALID_VALUE'
  override readonly code = InvalidValueError.code
  override name = 'InvalidValueError'
}

export class ValueTooLargeError extends ReplicaError {
  static readonly code = 'ERR_VALUE_TOO_LARGE'
  override readonly code = ValueTooLargeError.code
  override name = 'ValueTooLargeError'
}

export class InvalidAmountError extends ReplicaError {
  static readonly code = 'ERR_INVALID_AMOUNT'
  override readonly code = InvalidAmountError.code
  override name = 'InvalidAmountError'
}

/** A counter or set operation on a key that currently holds another type. */
export class WrongTypeError extends ReplicaError {
  static readonly code = 'ERR_WRONG_TYPE'
  override readonly code = WrongTypeError.code
  override name = 'WrongTypeError'
}

/** A write would supersede more records than any decoder accepts in one record. */
export class TooManyRemovesError extends ReplicaError {
  static readonly code = 'ERR_TOO_MANY_REMOVES'
  override readonly code = TooManyRemovesError.code
  override name = 'TooManyRemovesError'
}

/** A record that breaks a structural rule (bad dot, clock, removes, HLC, signature...). */
export class InvalidRecordError extends ReplicaError {
  static readonly code = 'ERR_INVALID_RECORD'
  override readonly code = InvalidRecordError.code
  override name = 'InvalidRecordError'
}

/** A GC horizon was to be adopted by a replica that lacks records at or below it. */
export class HorizonNotCoveredError extends ReplicaError {
  static readonly code = 'ERR_HORIZON_NOT_COVERED'
  override readonly code = HorizonNotCoveredError.code
  override name = 'HorizonNotCoveredError'
}

/** The checkpoint at the head of a compacted replica log does not decode: the peer refuses to start rather than risk reusing a seq. */
export class MalformedCheckpointError extends ReplicaError {
  static readonly code = 'ERR_MALFORMED_CHECKPOINT'
  override readonly code = MalformedCheckpointError.code
  override name = 'MalformedCheckpointError'
}

/** Base of every error the wire decoder throws: catch this one to drop and count garbage. */
export abstract class CodecError extends ReplicaError {}

/** Bytes that are not a protobuf batch/record of this protocol. */
export class MalformedMessageError extends CodecError {
  static readonly code = 'ERR_MALFORMED_MESSAGE'
  override readonly code = MalformedMessageError.code
  override name = 'MalformedMessageError'
}

/** A message over one of the decoder's size limits (bytes, records, removes, clock entries). */
export class MessageTooLargeError extends CodecError {
  static readonly code = 'ERR_MESSAGE_TOO_LARGE'
  override readonly code = MessageTooLargeError.code
  override name = 'MessageTooLargeError'
}

/** Well-formed protobuf carrying a record that breaks a rule; `cause` is the rule's own error. */
export class InvalidMessageError extends CodecError {
  static readonly code = 'ERR_INVALID_MESSAGE'
  override readonly code = InvalidMessageError.code
  override name = 'InvalidMessageError'
}

/** A local write on a peer whose network restricts writers to a list it is not on. */
export class NotAWriterError extends ReplicaError {
  static readonly code = 'ERR_NOT_A_WRITER'
  override readonly code = NotAWriterError.code
  override name = 'NotAWriterError'
}

/** A peer broke the anti-entropy protocol (a frame out of order): the session ends and the next round starts afresh. */
export class SyncProtocolError extends ReplicaError {
  static readonly code = 'ERR_SYNC_PROTOCOL'
  override readonly code = SyncProtocolError.code
  override name = 'SyncProtocolError'
}

/** A write on a durable replica that is not running: with no log open it could not be made durable. */
export class ReplicaNotStartedError extends ReplicaError {
  static readonly code = 'ERR_NOT_STARTED'
  override readonly code = ReplicaNotStartedError.code
  override name = 'ReplicaNotStartedError'
}

/**
 * A conditional write (`ifVersion` / `ifAbsent`) found the key elsewhere. A local check: two
 * peers can both accept concurrent conditional writes, which then become siblings.
 */
export class VersionMismatchError extends ReplicaError {
  static readonly code = 'ERR_VERSION_MISMATCH'
  override readonly code = VersionMismatchError.code
  override name = 'VersionMismatchError'
  /** The key's current version here (`<author>/<seq>` of its winner), or undefined when it has none. */
  readonly current: string | undefined

  constructor (message: string, current: string | undefined) {
    super(message)
    this.current = current
  }
}

/** A version that is not `<author>/<seq>`. */
export class InvalidVersionError extends ReplicaError {
  static readonly code = 'ERR_INVALID_VERSION'
  override readonly code = InvalidVersionError.code
  override name = 'InvalidVersionError'
}
