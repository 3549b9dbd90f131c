export { writeFileDurably } from './files.js'
export { lockDataDir, DataDirLockedError, LOCK_FILE } from './lock.js'
export type { DataDirLock } from './lock.js'
export { openLog } from './log.js'
export type { DurableLog, LogOptions, LogStats, SkipInfo, AppendOptions } from './log.js'
export type { SyncPolicy } from './constants.js'
export {
  DEFAULT_MAX_RECORD_BYTES, DEFAULT_SYNC_INTERVAL, DEFAULT_SYNC_POLICY, LOG_FILE_SUFFIX, REWRITE_FILE_SUFFIX, SYNC_POLICIES
} from './constants.js'
export {
  InvalidLogOptionsError, InvalidLogRecordError, LogClosedError, LogCorruptedError, LogFailedError, LogInUseError,
  RecordTooLargeError, StorageIOError
} from './errors.js'
