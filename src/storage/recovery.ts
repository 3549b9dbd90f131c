/**
 * Opening a log after a crash: a rewrite that was interrupted left only its temporary file
 * (the log itself was never touched), and a torn or corrupt record ends the log, which is cut
 * there. Both are reported through `onSkip`, never thrown.
 */
import { open, stat, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { LOG_FILE_MODE, REWRITE_FILE_SUFFIX } from './constants.js'
import { StorageIOError } from './errors.js'
import { readFrames, type Frame } from './framing.js'
import { ensureDir, errnoOf, fsyncDir, readerFor, toStorageError } from './io.js'
import type { SkipInfo } from './log.js'

export interface RecoveredFile {
  handle: FileHandle
  /** Bytes of whole records kept. */
  size: number
  records: number
  /** Bytes cut off the end. */
  skipped: number
}

/** Opens (or creates) the log file at `path` and cuts it after its last whole record. */
export async function recoverFile (dir: string, path: string, maxRecordBytes: number, onSkip: (info: SkipInfo) => void): Promise<RecoveredFile> {
  await ensureDir(dir)
  await removeLeftover(path + REWRITE_FILE_SUFFIX, onSkip)
  const { handle, created } = await openOrCreate(path)
  try {
    const info = await handle.stat()
    if ((info.mode & 0o777) !== LOG_FILE_MODE) await handle.chmod(LOG_FILE_MODE)
    let records = 0
    let bad: Extract<Frame, { kind: 'bad' }> | undefined
    for await (const frame of readFrames(readerFor(handle), 0, info.size, maxRecordBytes, false)) {
      if (frame.kind === 'bad') bad = frame
      else records++
    }
    let skipped = 0
    if (bad !== undefined) {
      // Even a bad record in the middle ends the log: its length is what located the next
      // record, so nothing past it can be trusted to be a record at all.
      skipped = info.size - bad.offset
      await handle.truncate(bad.offset)
      await handle.sync()
    }
    if (created) await fsyncDir(dir)
    if (bad !== undefined) onSkip({ file: path, offset: bad.offset, bytes: skipped, reason: bad.reason, kind: bad.bad })
    return { handle, size: info.size - skipped, records, skipped }
  } catch (err) {
    await handle.close().catch(() => {})
    throw toStorageError(err, path, 'recover the log')
  }
}

/** Drop the remains of a rewrite that a crash interrupted: the log itself was never touched. */
async function removeLeftover (tmpPath: string, onSkip: (info: SkipInfo) => void): Promise<void> {
  let bytes: number
  try {
    bytes = (await stat(tmpPath)).size
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return
    throw new StorageIOError(tmpPath, 'inspect', err)
  }
  try {
    await unlink(tmpPath)
  } catch (err) {
    throw new StorageIOError(tmpPath, 'remove the leftover rewrite file', err)
  }
  onSkip({ file: tmpPath, offset: 0, bytes, reason: 'leftover of a rewrite interrupted by a crash; the log was kept as it was', kind: 'rewrite-leftover' })
}

async function openOrCreate (path: string): Promise<{ handle: FileHandle, created: boolean }> {
  try {
    return { handle: await open(path, 'r+'), created: false }
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw new StorageIOError(path, 'open the log', err)
  }
  try {
    return { handle: await open(path, 'wx+', LOG_FILE_MODE), created: true }
  } catch (err) {
    throw new StorageIOError(path, 'create the log', err)
  }
}
