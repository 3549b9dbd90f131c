import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { HearsayError } from '../errors.js'

export const LOCK_FILE = 'LOCK'

export class DataDirLockedError extends HearsayError {
  constructor (dir: string, pid: number) {
    super('ERR_DATA_DIR_LOCKED', `the data dir ${dir} is in use by process ${pid}; give this peer its own directory with --data DIR (or --memory)`)
  }
}

export interface DataDirLock {
  release (): Promise<void>
}

/** Locks held by this process, so a second peer in the same process is refused too. */
const heldHere = new Set<string>()

/**
 * One peer per data dir: two peers sharing a key and a log would corrupt both. The lock
 * file names the holder's pid; a lock left by a process that no longer runs (kill -9) is
 * taken over.
 */
export async function lockDataDir (dir: string): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE)
  if (heldHere.has(path)) throw new DataDirLockedError(dir, process.pid)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600)
      await handle.writeFile(String(process.pid))
      await handle.close()
      heldHere.add(path)
      let released = false
      return {
        async release () {
          if (released) return
          released = true
          heldHere.delete(path)
          await unlink(path).catch(() => {})
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
      if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
        throw new DataDirLockedError(dir, holder)
      }
      // Stale: its holder is gone (or it is ours from an instance that was never released).
      await unlink(path).catch(() => {})
    }
  }
  throw new DataDirLockedError(dir, process.pid)
}

function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
