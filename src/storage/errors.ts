import { HearsayError } from '../errors.js'

/** What to do about the usual errno codes, so the message is actionable without a manual. */
function hintFor (code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'give the user running hearsay read and write access to it, or choose another data dir'
    case 'ENOSPC':
    case 'EDQUOT':
      return 'free some disk space (or raise the quota) and restart the peer'
    case 'EROFS':
      return 'the file system is read-only: remount it read-write or choose another data dir'
    case 'ENOTDIR':
    case 'EEXIST':
      return 'a file is in the way where a directory is expected: move it or choose another data dir'
    case 'EISDIR':
      return 'a directory is in the way where the log file is expected: move it or choose another data dir'
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files: raise the limit (ulimit -n)'
    case 'EIO':
      return 'the disk reported an error: check it (dmesg) before trusting this data dir'
    default:
      return 'check the path, its permissions and the disk'
  }
}

/**
 * A real I/O failure (permissions, full disk, disk error) — never thrown for a corrupt
 * file, which recovery repairs instead. `errno` is the system code, e.g. `EACCES`.
 */
export class StorageIOError extends HearsayError {
  static readonly code = 'ERR_STORAGE_IO'
  readonly path: string
  readonly errno: string | undefined

  constructor (path: string, action: string, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code
    const detail = cause instanceof Error ? cause.message : String(cause)
    super(StorageIOError.code, `cannot ${action} ${path} (${detail}): ${hintFor(errno)}`, { cause })
    this.path = path
    this.errno = errno
  }
}

/** `append` or `rewrite` got a record over `maxRecordBytes`; nothing was written. */
export class RecordTooLargeError extends HearsayError {
  static readonly code = 'ERR_RECORD_TOO_LARGE'

  constructor (bytes: number, limit: number) {
    super(RecordTooLargeError.code, `a log record of ${bytes} bytes is over the limit of ${limit} bytes; nothing was written (raise maxRecordBytes or write less at once)`)
  }
}

/** A record that is not a `Uint8Array` (only possible from untyped callers). */
export class InvalidLogRecordError extends HearsayError {
  static readonly code = 'ERR_INVALID_LOG_RECORD'

  constructor (what: string) {
    super(InvalidLogRecordError.code, `a log record must be a Uint8Array, got ${what}; nothing was written`)
  }
}

/** `openLog` was given a name or options it cannot use. */
export class InvalidLogOptionsError extends HearsayError {
  static readonly code = 'ERR_INVALID_LOG_OPTIONS'

  constructor (message: string) {
    super(InvalidLogOptionsError.code, message)
  }
}

/** The log was used after `close()`. */
export class LogClosedError extends HearsayError {
  static readonly code = 'ERR_LOG_CLOSED'

  constructor (path: string) {
    super(LogClosedError.code, `the log ${path} is closed; open it again with openLog`)
  }
}

/** Two open logs on one file would interleave their appends and corrupt each other. */
export class LogInUseError extends HearsayError {
  static readonly code = 'ERR_LOG_IN_USE'

  constructor (path: string) {
    super(LogInUseError.code, `the log ${path} is already open in this process; close it first or give this peer its own data dir`)
  }
}

/**
 * An earlier write or fsync failed. After a failed fsync the kernel may have dropped the dirty
 * pages, so retrying could acknowledge data that is not on disk: the log refuses everything
 * until it is closed and opened again, which recovers the intact prefix from the file.
 */
export class LogFailedError extends HearsayError {
  static readonly code = 'ERR_LOG_FAILED'

  constructor (path: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause)
    super(LogFailedError.code, `the log ${path} failed earlier and accepts no more writes (${detail}); fix the cause, then close and reopen it`, { cause })
  }
}

/**
 * Replay found a bad record inside the prefix that recovery checked at open: the file changed
 * under the open log (another process, or the disk). Not repaired while open, since appends
 * may be in flight; reopening the log recovers the intact prefix.
 */
export class LogCorruptedError extends HearsayError {
  static readonly code = 'ERR_LOG_CORRUPTED'

  constructor (path: string, offset: number, reason: string) {
    super(LogCorruptedError.code, `the log ${path} changed since it was opened: ${reason} at byte ${offset}; make sure no other process writes it, then reopen it to recover`)
  }
}
