import { mkdir, open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { HearsayError } from '../errors.js'
import { StorageIOError } from './errors.js'
import type { ReadAt } from './framing.js'

export function errnoOf (err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * System errors become `StorageIOError` naming the path; our own errors and the caller's
 * (an `onSkip` or a records iterator that throws) pass through unchanged.
 */
export function toStorageError (err: unknown, path: string, action: string): Error {
  if (err instanceof HearsayError) return err
  if (errnoOf(err) !== undefined) return new StorageIOError(path, action, err)
  return err instanceof Error ? err : new Error(String(err))
}

/** pwrite until every byte is written: a regular file can still return a short count. */
export async function writeFully (handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done)
    if (bytesWritten === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' })
    done += bytesWritten
  }
}

export function readerFor (handle: FileHandle): ReadAt {
  return async (target, position) => {
    let done = 0
    while (done < target.length) {
      const { bytesRead } = await handle.read(target, done, target.length - done, position + done)
      if (bytesRead === 0) break
      done += bytesRead
    }
    return done
  }
}

/**
 * A new or renamed file is only durable once the directory entry is: fsync the directory.
 * Some file systems refuse fsync on a directory (EINVAL) and some platforms cannot open one
 * (EISDIR); there is nothing better to do there, so those are not errors.
 */
export async function fsyncDir (dir: string): Promise<void> {
  let handle: FileHandle
  try {
    handle = await open(dir, 'r')
  } catch (err) {
    if (errnoOf(err) === 'EISDIR') return
    throw new StorageIOError(dir, 'open the directory', err)
  }
  try {
    await handle.sync()
  } catch (err) {
    if (errnoOf(err) !== 'EINVAL') throw new StorageIOError(dir, 'fsync the directory', err)
  } finally {
    await handle.close()
  }
}

/** Create `dir` (owner-only) if missing, and make each new level durable in its parent. */
export async function ensureDir (dir: string): Promise<void> {
  let created: string | undefined
  try {
    created = await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new StorageIOError(dir, 'create the directory', err)
  }
  if (created === undefined) return
  for (let level = dir; ; level = dirname(level)) {
    await fsyncDir(dirname(level))
    if (level === created || dirname(level) === level) break
  }
}
