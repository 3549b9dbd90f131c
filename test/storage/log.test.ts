import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import {
  InvalidLogOptionsError, LogClosedError, LogInUseError, RecordTooLargeError, StorageIOError, openLog
} from '../../src/storage/index.js'
import { bytes, sampleRecords, skipRecorder, tempDir, text } from './helpers.js'

describe('durable log', () => {
  it('append → replay round trip, also after reopening', async () => {
    const dir = await tempDir()
    const records = [...sampleRecords(40), new Uint8Array(0), Uint8Array.from({ length: 70_000 }, (_, i) => i & 0xFF)]
    const log = await openLog(dir, 'main')
    expect(await log.readAll()).toEqual([])
    await log.append(records.slice(0, 10))
    for (const record of records.slice(10)) await log.append([record])
    const replayed: Uint8Array[] = []
    for await (const record of log.replay()) replayed.push(record)
    expect(replayed).toEqual(records)
    expect(log.stats()).toMatchObject({ appends: 33, records: records.length, recoveredSkippedBytes: 0 })
    await log.close()

    const again = await openLog(dir, 'main', skipRecorder())
    expect(await again.readAll()).toEqual(records)
    expect(again.stats()).toMatchObject({ records: records.length, appends: 0, bytes: (await stat(again.path)).size })
    await again.close()
  })

  it('the caller may reuse its buffer once append has returned', async () => {
    const log = await openLog(await tempDir(), 'main')
    const buffer = bytes('first')
    const done = log.append([buffer])
    buffer.fill(0x21)
    await done
    expect((await log.readAll()).map(text)).toEqual(['first'])
    await log.close()
  })

  it('keeps the order of the calls across concurrent appends', async () => {
    const log = await openLog(await tempDir(), 'main')
    await Promise.all(Array.from({ length: 300 }, async (_, i) => { await log.append([bytes(`a${i}`), bytes(`b${i}`)]) }))
    const expected = Array.from({ length: 300 }, (_, i) => [`a${i}`, `b${i}`]).flat()
    expect((await log.readAll()).map(text)).toEqual(expected)
    await log.close()
  })

  it('always: group commit — 500 concurrent appends share far fewer fsyncs', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'main')
    const resolved: number[] = []
    await Promise.all(Array.from({ length: 500 }, async (_, i) => {
      await log.append([bytes(String(i))])
      resolved.push(i)
    }))
    expect(resolved).toHaveLength(500)
    const { fsyncs, appends } = log.stats()
    expect(appends).toBe(500)
    expect(fsyncs).toBeGreaterThanOrEqual(1)
    expect(fsyncs).toBeLessThan(50)
    await log.close()
    const reopened = await openLog(dir, 'main')
    expect((await reopened.readAll()).map(text)).toEqual(Array.from({ length: 500 }, (_, i) => String(i)))
    await reopened.close()
  })

  it('always: a group is capped at 16 MiB, so big concurrent appends take several rounds', async () => {
    const log = await openLog(await tempDir(), 'main')
    const big = Array.from({ length: 10 }, (_, i) => new Uint8Array(3 * 1024 * 1024).fill(i))
    await Promise.all(big.map(async record => { await log.append([record]) }))
    // The first goes alone (nothing else was queued yet); then 5 (15 MiB) and 4.
    expect(log.stats().fsyncs).toBe(3)
    const replayed = await log.readAll()
    expect(replayed.map(record => [record.length, record[0]])).toEqual(big.map((_, i) => [3 * 1024 * 1024, i]))
    await log.close()
  })

  it('always: a writer awaiting each append gets one fsync per append', async () => {
    const log = await openLog(await tempDir(), 'main', { sync: 'always' })
    for (let i = 0; i < 10; i++) await log.append([bytes(String(i))])
    expect(log.stats().fsyncs).toBe(10)
    expect(log.stats().lastFsyncMs).toBeGreaterThan(0)
    await log.append([])
    expect(log.stats().fsyncs).toBe(10)
    await log.close()
  })

  it('interval: appends resolve after write; a timer fsyncs; close fsyncs the rest', async () => {
    const log = await openLog(await tempDir(), 'main', { sync: 'interval', syncInterval: 20 })
    for (let i = 0; i < 20; i++) await log.append([bytes(String(i))])
    expect(log.stats().fsyncs).toBe(0)
    await vi.waitFor(() => { expect(log.stats().fsyncs).toBe(1) }, { timeout: 5_000 })
    await log.append([bytes('late')])
    await log.close()
    expect(log.stats().fsyncs).toBe(2)
  })

  it('interval: a steady stream of appends does not starve the timer', async () => {
    const log = await openLog(await tempDir(), 'main', { sync: 'interval', syncInterval: 10 })
    // Starved, the writers would run into the deadline with no fsync at all.
    const deadline = Date.now() + 5_000
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (log.stats().fsyncs < 3 && Date.now() < deadline) await log.append([bytes('x')])
    }))
    expect(log.stats().fsyncs).toBeGreaterThanOrEqual(3)
    await log.close()
  })

  it('none: never fsyncs, not even at close, unless sync() is called', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'main', { sync: 'none' })
    await Promise.all(Array.from({ length: 50 }, async (_, i) => { await log.append([bytes(String(i))]) }))
    expect(log.stats().fsyncs).toBe(0)
    await log.sync()
    expect(log.stats().fsyncs).toBe(1)
    await log.sync()
    expect(log.stats().fsyncs).toBe(1)
    await log.append([bytes('50')])
    await log.close()
    expect(log.stats().fsyncs).toBe(1)
    const reopened = await openLog(dir, 'main')
    expect(await reopened.readAll()).toHaveLength(51)
    await reopened.close()
  })

  it('refuses a record over maxRecordBytes with a typed error and writes nothing', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'main', { maxRecordBytes: 100 })
    await log.append([bytes('before')])
    const size = (await stat(log.path)).size
    const refused = log.append([bytes('fine'), new Uint8Array(101)])
    await expect(refused).rejects.toBeInstanceOf(RecordTooLargeError)
    await expect(refused).rejects.toMatchObject({ code: 'ERR_RECORD_TOO_LARGE' })
    expect((await stat(log.path)).size).toBe(size)
    await log.append([new Uint8Array(100)])
    expect((await log.readAll()).map(record => record.length)).toEqual([6, 100])
    expect(log.stats()).toMatchObject({ appends: 2, records: 2 })
    await log.close()
  })

  it('creates the directory and a file only its owner can read', async () => {
    const dir = join(await tempDir(), 'nested', 'data')
    const log = await openLog(dir, 'replica')
    expect(log.path).toBe(join(dir, 'replica.log'))
    expect((await stat(log.path)).mode & 0o777).toBe(0o600)
    expect((await stat(dir)).isDirectory()).toBe(true)
    await log.close()
  })

  it('tightens the mode of an existing log file to 0600', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'main.log'), new Uint8Array(0), { mode: 0o644 })
    const log = await openLog(dir, 'main')
    expect((await stat(log.path)).mode & 0o777).toBe(0o600)
    await log.close()
  })

  it('after close: append, rewrite and replay are refused; close is idempotent', async () => {
    const log = await openLog(await tempDir(), 'main')
    await log.close()
    await log.close()
    await expect(log.append([bytes('x')])).rejects.toBeInstanceOf(LogClosedError)
    await expect(log.rewrite([])).rejects.toBeInstanceOf(LogClosedError)
    await expect(log.readAll()).rejects.toBeInstanceOf(LogClosedError)
  })

  it('close waits for the appends queued before it', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'main')
    const appends = Array.from({ length: 20 }, async (_, i) => { await log.append([bytes(String(i))]) })
    await log.close()
    await Promise.all(appends)
    const reopened = await openLog(dir, 'main')
    expect(await reopened.readAll()).toHaveLength(20)
    await reopened.close()
  })

  it('a second open of the same log in this process is refused until the first closes', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'main')
    await expect(openLog(dir, 'main')).rejects.toBeInstanceOf(LogInUseError)
    await log.close()
    const again = await openLog(dir, 'main')
    await again.close()
  })

  it('refuses bad names and options with a typed error', async () => {
    const dir = await tempDir()
    for (const name of ['', '../escape', 'a/b', '.hidden']) {
      await expect(openLog(dir, name)).rejects.toBeInstanceOf(InvalidLogOptionsError)
    }
    await expect(openLog(dir, 'x', { sync: 'sometimes' as 'none' })).rejects.toBeInstanceOf(InvalidLogOptionsError)
    await expect(openLog(dir, 'x', { syncInterval: 0 })).rejects.toBeInstanceOf(InvalidLogOptionsError)
    await expect(openLog(dir, 'x', { maxRecordBytes: 2 ** 32 })).rejects.toBeInstanceOf(InvalidLogOptionsError)
    await expect(openLog(dir, 'x', { maxRecordBytes: 1.5 })).rejects.toBeInstanceOf(InvalidLogOptionsError)
  })

  it('a real I/O error throws StorageIOError naming the path and what to do', async () => {
    const base = await tempDir()
    const file = join(base, 'not-a-dir')
    await writeFile(file, 'x')
    const err: unknown = await openLog(join(file, 'data'), 'main').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageIOError)
    expect(err).toMatchObject({ code: 'ERR_STORAGE_IO', errno: 'ENOTDIR' })
    expect((err as Error).message).toContain(file)
    expect((err as Error).message).toMatch(/choose another data dir/)
  })

  it('the file holds exactly the framed records, one group after another', async () => {
    const log = await openLog(await tempDir(), 'main')
    await log.append([bytes('ab'), bytes('c')])
    const file = await readFile(log.path)
    expect(file.length).toBe(8 + 2 + 8 + 1)
    expect(file.readUInt32LE(0)).toBe(2)
    expect(file.subarray(8, 10).toString()).toBe('ab')
    expect(file.readUInt32LE(10)).toBe(1)
    expect(log.stats().bytes).toBe(19)
    await log.close()
  })
})
