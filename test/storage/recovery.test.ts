import { appendFile, readFile, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openLog } from '../../src/storage/index.js'
import { encodeRecords } from '../../src/storage/framing.js'
import { bytes, sampleRecords, skipRecorder, tempDir, text } from './helpers.js'

const MAX = 4 * 1024 * 1024

/** A log file holding `records`, written through the log itself. */
async function writtenLog (dir: string, records: Uint8Array[]): Promise<string> {
  const log = await openLog(dir, 'main', { sync: 'none' })
  await log.append(records)
  await log.close()
  return log.path
}

describe('recovery at open', () => {
  it('a torn last record, cut at every byte offset: every earlier record survives and the cut is reported', async () => {
    const dir = await tempDir()
    const records = [...sampleRecords(12), bytes('the last record, torn by a crash')]
    const path = await writtenLog(dir, records)
    const whole = await readFile(path)
    const lastStart = encodeRecords(records.slice(0, -1), MAX).length
    expect(whole.length - lastStart).toBe(8 + 32)

    for (let cut = lastStart; cut < whole.length; cut++) {
      await writeFile(path, whole.subarray(0, cut))
      const { skips, onSkip } = skipRecorder()
      const log = await openLog(dir, 'main', { onSkip })
      expect((await log.readAll()).map(text), `cut at ${cut}`).toEqual(records.slice(0, -1).map(text))
      const torn = cut - lastStart
      if (torn === 0) {
        expect(skips).toEqual([])
      } else {
        expect(skips).toEqual([{
          file: path,
          offset: lastStart,
          bytes: torn,
          kind: torn < 8 ? 'torn-header' : 'torn-record',
          reason: expect.stringMatching(/torn record/)
        }])
      }
      expect(log.stats()).toMatchObject({ recoveredSkippedBytes: torn, records: records.length - 1, bytes: lastStart })
      expect((await stat(path)).size).toBe(lastStart)

      // The log goes on from the intact prefix, and the next open finds nothing to repair.
      await log.append([bytes('after recovery')])
      await log.close()
      const again = await openLog(dir, 'main', { onSkip })
      expect((await again.readAll()).map(text).at(-1)).toBe('after recovery')
      expect(again.stats().recoveredSkippedBytes).toBe(0)
      await again.close()
      expect(skips.length).toBe(torn === 0 ? 0 : 1)
    }
  })

  it('a flipped byte in a middle record truncates the log there and reports it, without throwing', async () => {
    const dir = await tempDir()
    const records = sampleRecords(30)
    const path = await writtenLog(dir, records)
    const original = await readFile(path)
    const tenthStart = encodeRecords(records.slice(0, 10), MAX).length
    const corrupt = Buffer.from(original)
    const at = tenthStart + 8 + Math.floor((records[10]?.length ?? 0) / 2)
    corrupt[at] = (corrupt[at] ?? 0) ^ 0x40
    await writeFile(path, corrupt)

    const { skips, onSkip } = skipRecorder()
    const log = await openLog(dir, 'main', { onSkip })
    expect((await log.readAll()).map(text)).toEqual(records.slice(0, 10).map(text))
    expect(skips).toEqual([expect.objectContaining({ file: path, offset: tenthStart, bytes: original.length - tenthStart, kind: 'checksum' })])
    expect(log.stats().recoveredSkippedBytes).toBe(original.length - tenthStart)
    expect((await stat(path)).size).toBe(tenthStart)
    await log.close()
  })

  it('a corrupt length field in the middle is caught by the checksum or the limit', async () => {
    const dir = await tempDir()
    const records = sampleRecords(10)
    const path = await writtenLog(dir, records)
    const file = await readFile(path)
    const fifthStart = encodeRecords(records.slice(0, 5), MAX).length
    const corrupt = Buffer.from(file)
    corrupt.writeUInt32LE((corrupt.readUInt32LE(fifthStart) + 1) >>> 0, fifthStart)
    await writeFile(path, corrupt)
    const { skips, onSkip } = skipRecorder()
    const log = await openLog(dir, 'main', { onSkip })
    expect(await log.readAll()).toHaveLength(5)
    expect(skips).toEqual([expect.objectContaining({ offset: fifthStart, kind: 'checksum' })])
    await log.close()

    corrupt.writeUInt32LE(0xFFFF_FFF0, fifthStart)
    await writeFile(path, corrupt)
    const huge = skipRecorder()
    const again = await openLog(dir, 'main', { onSkip: huge.onSkip })
    expect(await again.readAll()).toHaveLength(5)
    expect(huge.skips).toEqual([expect.objectContaining({ offset: fifthStart, kind: 'too-large' })])
    await again.close()
  })

  it('garbage after the last record is dropped and reported', async () => {
    const dir = await tempDir()
    const records = sampleRecords(8)
    const path = await writtenLog(dir, records)
    const size = (await stat(path)).size
    await appendFile(path, Buffer.from('this is not a record, it is garbage from somewhere else'))
    const { skips, onSkip } = skipRecorder()
    const log = await openLog(dir, 'main', { onSkip })
    expect((await log.readAll()).map(text)).toEqual(records.map(text))
    expect(skips).toEqual([expect.objectContaining({ offset: size, bytes: 55 })])
    await log.close()
  })

  it('a zero-filled tail (size extended, blocks never written) is dropped', async () => {
    const dir = await tempDir()
    const records = sampleRecords(5)
    const path = await writtenLog(dir, records)
    const size = (await stat(path)).size
    await truncate(path, size + 4096)
    const { skips, onSkip } = skipRecorder()
    const log = await openLog(dir, 'main', { onSkip })
    expect(await log.readAll()).toHaveLength(5)
    expect(skips).toEqual([expect.objectContaining({ offset: size, bytes: 4096, kind: 'checksum' })])
    await log.close()
  })

  it('a file of pure garbage opens as an empty log', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'main.log'), Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 97 + 13) & 0xFF)))
    const { skips, onSkip } = skipRecorder()
    const log = await openLog(dir, 'main', { onSkip })
    expect(await log.readAll()).toEqual([])
    expect(skips).toEqual([expect.objectContaining({ offset: 0, bytes: 1000 })])
    await log.append([bytes('fresh')])
    expect((await log.readAll()).map(text)).toEqual(['fresh'])
    await log.close()
  })

  it('a record over a lowered maxRecordBytes ends the log (the limit is believed at open)', async () => {
    const dir = await tempDir()
    await writtenLog(dir, [bytes('small'), new Uint8Array(500), bytes('after')])
    const { skips, onSkip } = skipRecorder()
    const log = await openLog(dir, 'main', { maxRecordBytes: 100, onSkip })
    expect((await log.readAll()).map(text)).toEqual(['small'])
    expect(skips).toEqual([expect.objectContaining({ kind: 'too-large', reason: expect.stringMatching(/maxRecordBytes 100/) })])
    await log.close()
  })

  it('without onSkip, recovery still says what it dropped (a process warning)', async () => {
    const dir = await tempDir()
    const path = await writtenLog(dir, sampleRecords(3))
    await appendFile(path, Buffer.from([1, 2, 3]))
    const warnings: Error[] = []
    const listener = (warning: Error): void => { warnings.push(warning) }
    process.on('warning', listener)
    try {
      const log = await openLog(dir, 'main')
      await new Promise(resolve => setImmediate(resolve))
      await log.close()
    } finally {
      process.off('warning', listener)
    }
    expect(warnings).toEqual([expect.objectContaining({ code: 'HEARSAY_LOG_RECOVERY', message: expect.stringContaining(path) })])
  })

  it('replay refuses (typed) a record that went bad after open instead of returning it', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'main')
    await log.append(sampleRecords(4))
    const file = await readFile(log.path)
    file[file.length - 1] = (file[file.length - 1] ?? 0) ^ 1
    await writeFile(log.path, file)
    await expect(log.readAll()).rejects.toMatchObject({ code: 'ERR_LOG_CORRUPTED' })
    await log.close()
  })
})
