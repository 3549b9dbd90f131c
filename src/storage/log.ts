import { open, rename, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  DEFAULT_MAX_RECORD_BYTES, DEFAULT_SYNC_INTERVAL, DEFAULT_SYNC_POLICY, LOG_FILE_MODE, LOG_FILE_SUFFIX,
  LOG_NAME_PATTERN, MAX_GROUP_BYTES, MAX_RECORD_BYTES_LIMIT, MAX_SYNC_INTERVAL, REWRITE_CHUNK_BYTES, REWRITE_FILE_SUFFIX, SYNC_POLICIES
} from './constants.js'
import type { SyncPolicy } from './constants.js'
import { InvalidLogOptionsError, LogClosedError, LogCorruptedError, LogFailedError, LogInUseError, StorageIOError } from './errors.js'
import { encodeRecords, readFrames } from './framing.js'
import type { BadFrameKind } from './framing.js'
import { fsyncDir, readerFor, toStorageError, writeFully } from './io.js'
import { recoverFile } from './recovery.js'

/** What recovery dropped at open. */
export interface SkipInfo {
  /** The file the bytes were in: the log, or the leftover of an interrupted rewrite. */
  file: string
  /** Where the dropped bytes started (bytes from the start of `file`). */
  offset: number
  /** How many bytes were dropped. */
  bytes: number
  /** For people: what was wrong. */
  reason: string
  /** For programs: which check failed, or `rewrite-leftover`. */
  kind: BadFrameKind | 'rewrite-leftover'
}

export interface LogOptions {
  /** When an append counts as durable; see `SyncPolicy`. @default 'always' */
  sync?: SyncPolicy
  /** Time between fsyncs under policy `interval`, and the longest a non-durable append waits under `always`. @default 100 (ms) */
  syncInterval?: number
  /** Largest record accepted by `append`/`rewrite` and believed by recovery. Do not lower it for an existing log: recovery would cut at the first larger record. @default 4 MiB (bytes) */
  maxRecordBytes?: number
  /** Told about everything recovery dropped, once per drop. @default a process warning (`HEARSAY_LOG_RECOVERY`) */
  onSkip?: (info: SkipInfo) => void
}

export interface LogStats {
  /** `append` calls that resolved since open. */
  appends: number
  /** Records in the log now: recovered at open, plus appended, or as of the last rewrite. */
  records: number
  /** fsyncs of the log file since open (one per group under `always`). */
  fsyncs: number
  /** Size of the log file (bytes). */
  bytes: number
  /** How long the last fsync took (ms; 0 before the first). */
  lastFsyncMs: number
  /** Bytes of the log that recovery dropped at open (a leftover rewrite file is not counted). */
  recoveredSkippedBytes: number
}

export interface DurableLog {
  /** The log file: `<dir>/<name>.log`. */
  readonly path: string
  /**
   * Append records (opaque byte strings) with one write. Resolves once durable per the policy.
   * Order is preserved across concurrent calls (the order of the calls, not of resolution).
   * A record over `maxRecordBytes` rejects the whole call with `RecordTooLargeError` and
   * writes nothing. `append([])` resolves once everything appended before it is durable.
   *
   * With `{ durable: false }` the records are written but the call does not wait for an
   * fsync of its own (under `always` they ride on the next durable append's fsync, or on one
   * within `syncInterval`): for data that can be fetched again after a crash.
   */
  append (records: Uint8Array[], options?: AppendOptions): Promise<void>
  /** fsync now whatever has been written (for `interval`/`none` before something critical). */
  sync (): Promise<void>
  /**
   * Every record from the start, in order, as of the moment iteration starts (appends made
   * before it and already queued are included). Reads through its own file handle, so it may
   * run alongside appends and rewrites. Normally called once, right after open.
   */
  replay (): AsyncIterable<Uint8Array>
  /** `replay` collected into an array. */
  readAll (): Promise<Uint8Array[]>
  /**
   * Replace the whole log with `records` atomically (compaction): write a new file, fsync,
   * rename over the log, fsync the directory. Runs after the appends queued before it, which
   * it replaces, so `records` must cover them; appends called after it follow the new
   * records. The iterable is consumed when the rewrite runs, not when it is called. On
   * failure the old log stays as it was. Always fsyncs, whatever the policy: a rename of
   * unsynced data can leave an empty log after a power loss.
   */
  rewrite (records: Iterable<Uint8Array>): Promise<void>
  /** Let queued appends finish, fsync (unless the policy is `none`), close. Idempotent. */
  close (): Promise<void>
  stats (): LogStats
}

interface Settings {
  policy: SyncPolicy
  interval: number
  maxRecordBytes: number
  onSkip: (info: SkipInfo) => void
}

export interface AppendOptions {
  /** Wait for an fsync (policy `always`). @default true */
  durable?: boolean
}

interface AppendOp {
  kind: 'append'
  data: Buffer
  records: number
  durable: boolean
  resolve: () => void
  reject: (err: Error) => void
}

/** Work that needs the file to itself (rewrite, fsync, a replay snapshot). */
interface TaskOp {
  kind: 'task'
  run: () => Promise<void>
  reject: (err: Error) => void
}

type Op = AppendOp | TaskOp

/** Logs open in this process, by path: a second writer on one file would corrupt it. */
const openPaths = new Set<string>()

function warnSkip (info: SkipInfo): void {
  process.emitWarning(`hearsay recovered ${info.file}: dropped ${info.bytes} bytes from byte ${info.offset} (${info.reason})`, { code: 'HEARSAY_LOG_RECOVERY' })
}

function settingsFrom (options: LogOptions): Settings {
  const policy = options.sync ?? DEFAULT_SYNC_POLICY
  if (!SYNC_POLICIES.includes(policy)) {
    throw new InvalidLogOptionsError(`sync ${JSON.stringify(policy)} is not one of ${SYNC_POLICIES.join(', ')}`)
  }
  const interval = options.syncInterval ?? DEFAULT_SYNC_INTERVAL
  if (typeof interval !== 'number' || !(interval > 0 && interval <= MAX_SYNC_INTERVAL)) {
    throw new InvalidLogOptionsError(`syncInterval must be a number of milliseconds between 1 and ${MAX_SYNC_INTERVAL}, got ${String(interval)}`)
  }
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES
  if (!Number.isSafeInteger(maxRecordBytes) || maxRecordBytes < 1 || maxRecordBytes > MAX_RECORD_BYTES_LIMIT) {
    throw new InvalidLogOptionsError(`maxRecordBytes must be a whole number of bytes between 1 and ${MAX_RECORD_BYTES_LIMIT}, got ${String(maxRecordBytes)}`)
  }
  if (options.onSkip !== undefined && typeof options.onSkip !== 'function') {
    throw new InvalidLogOptionsError('onSkip must be a function')
  }
  return { policy, interval, maxRecordBytes, onSkip: options.onSkip ?? warnSkip }
}

class FileLog implements DurableLog {
  readonly path: string
  private readonly dir: string
  private readonly tmpPath: string
  private readonly settings: Settings
  private handle: FileHandle
  /** End of the last complete write: where the next group goes (bytes). */
  private size: number
  private records: number
  private readonly queue: Op[] = []
  private pumping = false
  /** Written but not yet fsynced. */
  private dirty = false
  private syncTimer: NodeJS.Timeout | undefined
  private syncDue = false
  private failure: Error | undefined
  private closed = false
  private closing: Promise<void> | undefined
  private appends = 0
  private fsyncs = 0
  private lastFsyncMs = 0
  private readonly skippedBytes: number

  constructor (dir: string, path: string, handle: FileHandle, size: number, records: number, skippedBytes: number, settings: Settings) {
    this.dir = dir
    this.path = path
    this.tmpPath = path + REWRITE_FILE_SUFFIX
    this.handle = handle
    this.size = size
    this.records = records
    this.skippedBytes = skippedBytes
    this.settings = settings
  }

  async append (records: Uint8Array[], options: AppendOptions = {}): Promise<void> {
    this.assertUsable()
    // Framed (and size-checked) now, synchronously: a refused call queues nothing, and the
    // caller may reuse its buffers as soon as append returns.
    const data = encodeRecords(records, this.settings.maxRecordBytes)
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'append', data, records: records.length, durable: options.durable !== false, resolve, reject })
      this.kick()
    })
  }

  async sync (): Promise<void> {
    this.assertUsable()
    await this.exclusive(async () => {
      if (this.dirty) await this.fsyncOrFail()
    })
  }

  replay (): AsyncIterable<Uint8Array> {
    return this.replayFrom()
  }

  async readAll (): Promise<Uint8Array[]> {
    const records: Uint8Array[] = []
    for await (const record of this.replayFrom()) records.push(record)
    return records
  }

  async rewrite (records: Iterable<Uint8Array>): Promise<void> {
    this.assertUsable()
    await this.exclusive(async () => { await this.rewriteNow(records) })
  }

  async close (): Promise<void> {
    this.closing ??= this.closeNow()
    await this.closing
  }

  stats (): LogStats {
    return {
      appends: this.appends,
      records: this.records,
      fsyncs: this.fsyncs,
      bytes: this.size,
      lastFsyncMs: this.lastFsyncMs,
      recoveredSkippedBytes: this.skippedBytes
    }
  }

  private assertUsable (): void {
    if (this.closed) throw new LogClosedError(this.path)
    if (this.failure !== undefined) throw new LogFailedError(this.path, this.failure)
  }

  private async * replayFrom (): AsyncGenerator<Uint8Array> {
    this.assertUsable()
    // Taken in the queue, so the end offset and the file opened belong together even if a
    // rewrite swaps the file right after.
    const { reader, end } = await this.exclusive(async () => {
      try {
        return { reader: await open(this.path, 'r'), end: this.size }
      } catch (err) {
        throw new StorageIOError(this.path, 'open for replay', err)
      }
    })
    try {
      for await (const frame of readFrames(readerFor(reader), 0, end, this.settings.maxRecordBytes, true)) {
        if (frame.kind === 'bad') throw new LogCorruptedError(this.path, frame.offset, frame.reason)
        yield frame.payload
      }
    } catch (err) {
      throw toStorageError(err, this.path, 'replay')
    } finally {
      await reader.close()
    }
  }

  /** Run `task` with the file to itself, after everything queued before it. */
  private async exclusive<T> (task: () => Promise<T>): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      this.queue.push({
        kind: 'task',
        reject,
        run: async () => {
          try {
            resolve(await task())
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)))
          }
        }
      })
      this.kick()
    })
  }

  private kick (): void {
    if (this.pumping) return
    this.pumping = true
    void this.pump()
  }

  /**
   * The only code that writes or fsyncs the log. One pass takes every append queued so far
   * (up to MAX_GROUP_BYTES) as one group: one write, then (policy `always`) one fsync. Appends
   * arriving meanwhile wait for the next pass, which is what makes it group commit.
   */
  private async pump (): Promise<void> {
    for (;;) {
      if (this.failure !== undefined) {
        for (const op of this.queue.splice(0)) op.reject(new LogFailedError(this.path, this.failure))
        break
      }
      // Checked before the queue, so a steady stream of appends cannot starve `interval`.
      if (this.syncDue) {
        this.syncDue = false
        if (this.dirty && !this.closed) await this.fsyncOrFail().catch(() => {})
        continue
      }
      const head = this.queue[0]
      if (head === undefined) break
      if (head.kind === 'task') {
        this.queue.shift()
        await head.run()
        continue
      }
      let count = 1
      let bytes = head.data.length
      for (let op = this.queue[count]; op?.kind === 'append' && bytes + op.data.length <= MAX_GROUP_BYTES; op = this.queue[count]) {
        bytes += op.data.length
        count++
      }
      await this.commit(this.queue.splice(0, count) as AppendOp[])
    }
    this.pumping = false
  }

  private async commit (group: AppendOp[]): Promise<void> {
    const parts = group.map(op => op.data).filter(data => data.length > 0)
    const data = parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts)
    try {
      if (data.length > 0) {
        await writeFully(this.handle, data, this.size)
        this.size += data.length
        this.dirty = true
      }
      if (this.settings.policy === 'always' && this.dirty && group.some(op => op.durable)) await this.fsync()
    } catch (err) {
      this.fail(err, 'append to')
      for (const op of group) op.reject(this.failure ?? new LogFailedError(this.path, err))
      return
    }
    for (const op of group) {
      this.records += op.records
      this.appends++
      op.resolve()
    }
    // `interval`, and non-durable appends under `always`, reach the disk within syncInterval.
    if (this.settings.policy !== 'none' && this.dirty) this.scheduleSync()
  }

  private scheduleSync (): void {
    if (this.syncTimer !== undefined) return
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined
      if (this.closed) return
      this.syncDue = true
      this.kick()
    }, this.settings.interval)
    // Written data is already safe from a process exit; the timer must not keep one alive.
    this.syncTimer.unref()
  }

  private async fsync (): Promise<void> {
    const started = performance.now()
    // fdatasync: also flushes the file size, which an append changes, but skips mtime.
    await this.handle.datasync()
    this.lastFsyncMs = performance.now() - started
    this.fsyncs++
    this.dirty = false
  }

  private async fsyncOrFail (): Promise<void> {
    try {
      await this.fsync()
    } catch (err) {
      this.fail(err, 'fsync')
      throw this.failure ?? err
    }
  }

  /**
   * After a failed write or fsync nothing more is acknowledged: the kernel may have dropped
   * the dirty pages of a failed fsync, so a later fsync that succeeds proves nothing.
   */
  private fail (err: unknown, action: string): void {
    this.failure ??= toStorageError(err, this.path, action)
    clearTimeout(this.syncTimer)
    this.syncTimer = undefined
  }

  private async rewriteNow (records: Iterable<Uint8Array>): Promise<void> {
    let out: FileHandle | undefined
    let size = 0
    let count = 0
    try {
      out = await open(this.tmpPath, 'w+', LOG_FILE_MODE)
      let chunk: Buffer[] = []
      let chunkBytes = 0
      for (const record of records) {
        const framed = encodeRecords([record], this.settings.maxRecordBytes)
        chunk.push(framed)
        chunkBytes += framed.length
        count++
        if (chunkBytes >= REWRITE_CHUNK_BYTES) {
          await writeFully(out, Buffer.concat(chunk), size)
          size += chunkBytes
          chunk = []
          chunkBytes = 0
        }
      }
      if (chunkBytes > 0) await writeFully(out, Buffer.concat(chunk), size)
      size += chunkBytes
      await out.sync()
      await rename(this.tmpPath, this.path)
    } catch (err) {
      // Before the rename the old log is untouched, so this rewrite failed and the log goes on.
      await out?.close().catch(() => {})
      await unlink(this.tmpPath).catch(() => {})
      throw toStorageError(err, this.tmpPath, 'write the replacement log')
    }
    // The descriptor follows the renamed file: it becomes the log's handle.
    const old = this.handle
    this.handle = out
    this.size = size
    this.records = count
    this.dirty = false
    await old.close().catch(() => {})
    try {
      await fsyncDir(this.dir)
    } catch (err) {
      this.fail(err, 'fsync the directory of')
      throw this.failure ?? err
    }
  }

  private async closeNow (): Promise<void> {
    this.closed = true
    let error: unknown
    try {
      await this.exclusive(async () => {
        if (this.dirty && this.settings.policy !== 'none') await this.fsyncOrFail()
      })
    } catch (err) {
      error = err
    }
    clearTimeout(this.syncTimer)
    this.syncTimer = undefined
    try {
      await this.handle.close()
    } catch (err) {
      error ??= toStorageError(err, this.path, 'close')
    }
    openPaths.delete(this.path)
    if (error !== undefined) throw error
  }
}

async function recover (dir: string, path: string, settings: Settings): Promise<FileLog> {
  const found = await recoverFile(dir, path, settings.maxRecordBytes, settings.onSkip)
  return new FileLog(dir, path, found.handle, found.size, found.records, found.skipped, settings)
}

/**
 * Open (creating if missing) the log `<dir>/<name>.log`, recovering it first: a torn or
 * corrupt record ends the log, which is truncated there, fsynced and reported via `onSkip`.
 * A corrupt file never throws; a real I/O error throws `StorageIOError` naming the path.
 */
export async function openLog (dir: string, name: string, options: LogOptions = {}): Promise<DurableLog> {
  const settings = settingsFrom(options)
  if (typeof name !== 'string' || !LOG_NAME_PATTERN.test(name)) {
    throw new InvalidLogOptionsError(`log name ${JSON.stringify(name)} is not valid: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  }
  const directory = resolve(dir)
  const path = join(directory, name + LOG_FILE_SUFFIX)
  if (openPaths.has(path)) throw new LogInUseError(path)
  openPaths.add(path)
  try {
    return await recover(directory, path, settings)
  } catch (err) {
    openPaths.delete(path)
    throw err
  }
}
