export { writeFileDurably } from './files.js'
export { lockDataDir, DataDirLockedError, LOCK_FILE } from './lock.js'
export type { DataDirLock } from './lock.js'
