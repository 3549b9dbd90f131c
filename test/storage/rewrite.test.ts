import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RecordTooLargeError, openLog } from '../../src/storage/index.js'
import { encodeRecords } from '../../src/storage/framing.js'
import { bytes, sampleRecords, skipRecorder, tempDir, text } from './helpers.js'

describe('rewrite (compaction)', () => {
  it('replaces the whole log; the file is exactly the new records; appends go on after them', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'main')
    await log.append(sampleRecords(100))
    const compacted = [bytes('snapshot'), bytes('k1=v1'), bytes('k2=v2')]
    await log.rewrite(compacted)
    expect(await readFile(log.path)).toEqual(encodeRecords(compacted, 1024))
    expect(log.stats()).toMatchObject({ records: 3, bytes: (await stat(log.path)).size })
    expect((await stat(log.path)).mode & 0o777).toBe(0o600)
    await log.append([bytes('k3=v3')])
    expect((await log.readAll()).map(text)).toEqual(['snapshot', 'k1=v1', 'k2=v2', 'k3=v3'])
    await log.close()
    expect(await readdir(dir)).toEqual(['main.log'])

    const reopened = await openLog(dir, 'main', skipRecorder())
    expect((await reopened.readAll()).map(text)).toEqual(['snapshot', 'k1=v1', 'k2=v2', 'k3=v3'])
    await reopened.close()
  })

  it('takes its place in the order: appends queued before it are replaced, later ones follow it', async () => {
    const log = await openLog(await tempDir(), 'main')
    const before = log.append([bytes('before')])
    const rewrite = log.rewrite([bytes('new')])
    const after = log.append([bytes('after')])
    await Promise.all([before, rewrite, after])
    expect((await log.readAll()).map(text)).toEqual(['new', 'after'])
    await log.close()
  })

  it('a big rewrite (several write chunks) round trips', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'main', { sync: 'none' })
    const big = Array.from({ length: 3000 }, (_, i) => bytes(`${i}:`.padEnd(1000, 'x')))
    await log.rewrite(big.values())
    expect((await log.readAll()).map(text)).toEqual(big.map(text))
    await log.close()
  })

  it('a record over the limit fails the rewrite and leaves the old log as it was', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'main', { maxRecordBytes: 100 })
    await log.append([bytes('old 1'), bytes('old 2')])
    const before = await readFile(log.path)
    await expect(log.rewrite([bytes('new'), new Uint8Array(101)])).rejects.toBeInstanceOf(RecordTooLargeError)
    expect(await readFile(log.path)).toEqual(before)
    expect(await readdir(dir)).toEqual(['main.log'])
    await log.append([bytes('old 3')])
    expect((await log.readAll()).map(text)).toEqual(['old 1', 'old 2', 'old 3'])
    expect(log.stats().records).toBe(3)
    await log.close()
  })

  it('an iterator that throws fails the rewrite with its own error; the old log stays', async () => {
    const log = await openLog(await tempDir(), 'main')
    await log.append([bytes('kept')])
    function * broken (): Generator<Uint8Array> {
      yield bytes('partial')
      throw new Error('the snapshot source failed')
    }
    await expect(log.rewrite(broken())).rejects.toThrow('the snapshot source failed')
    expect((await log.readAll()).map(text)).toEqual(['kept'])
    await log.close()
  })

  it('a leftover from a rewrite cut short by a crash is removed at open and reported; the log is the old one', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'main')
    await log.append([bytes('old')])
    await log.close()
    // What a crash between writing and renaming leaves: a (possibly partial) new file beside the log.
    const leftover = join(dir, 'main.log.rewrite')
    await writeFile(leftover, encodeRecords([bytes('new, never renamed')], 1024).subarray(0, 13))

    const { skips, onSkip } = skipRecorder()
    const reopened = await openLog(dir, 'main', { onSkip })
    expect((await reopened.readAll()).map(text)).toEqual(['old'])
    expect(skips).toEqual([expect.objectContaining({ file: leftover, bytes: 13, kind: 'rewrite-leftover' })])
    expect(reopened.stats().recoveredSkippedBytes).toBe(0)
    expect(await readdir(dir)).toEqual(['main.log'])
    await reopened.close()
  })

  it('a replay started before a rewrite reads the old file to its end', async () => {
    const log = await openLog(await tempDir(), 'main')
    await log.append(sampleRecords(50))
    const iterator = log.replay()[Symbol.asyncIterator]()
    const first = await iterator.next()
    await log.rewrite([bytes('only')])
    let count = first.done === true ? 0 : 1
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) count++
    expect(count).toBe(50)
    expect((await log.readAll()).map(text)).toEqual(['only'])
    await log.close()
  })
})
