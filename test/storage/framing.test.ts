import { describe, expect, it } from 'vitest'
import { crc32, crc32Table, encodeRecords, readAtBuffer, readFrames } from '../../src/storage/framing.js'
import type { Frame } from '../../src/storage/framing.js'
import { InvalidLogRecordError, RecordTooLargeError } from '../../src/storage/index.js'
import { bytes, sampleRecords, text } from './helpers.js'

async function frames (file: Uint8Array, max = 1024): Promise<Frame[]> {
  const out: Frame[] = []
  for await (const frame of readFrames(readAtBuffer(file), 0, file.length, max, true)) out.push(frame)
  return out
}

describe('framing', () => {
  it('crc32 is the IEEE CRC-32 (check value of "123456789")', () => {
    expect(crc32(bytes('123456789'))).toBe(0xCBF43926)
    expect(crc32Table(bytes('123456789'))).toBe(0xCBF43926)
  })

  it('the table CRC agrees with the native one, also when continued', () => {
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xFF)
    expect(crc32Table(data)).toBe(crc32(data))
    expect(crc32Table(data.subarray(100), crc32Table(data.subarray(0, 100)))).toBe(crc32(data))
  })

  it('crc32 of nothing continues the running value, whatever backs the empty array', () => {
    expect(crc32(new TextEncoder().encode(''), 1234)).toBe(1234)
    expect(crc32(new Uint8Array(new ArrayBuffer(0)), 1234)).toBe(1234)
    expect(crc32Table(new Uint8Array(0), 1234)).toBe(1234)
  })

  it('frames round trip: [u32 length][u32 crc][payload], little-endian', async () => {
    const records = sampleRecords(50)
    const file = encodeRecords(records, 1024)
    expect(file.readUInt32LE(0)).toBe(records[0]?.length)
    const read = await frames(file)
    expect(read.every(frame => frame.kind === 'record')).toBe(true)
    expect(read.map(frame => frame.kind === 'record' ? text(frame.payload) : '')).toEqual(records.map(text))
  })

  it('a zero-filled tail is not a run of empty records', async () => {
    const file = Buffer.concat([encodeRecords([bytes('a'), new Uint8Array(0)], 1024), Buffer.alloc(64)])
    const read = await frames(file)
    expect(read.map(frame => frame.kind)).toEqual(['record', 'record', 'bad'])
    expect(read[2]).toMatchObject({ kind: 'bad', bad: 'checksum', offset: 17 })
  })

  it('refuses a record over the limit and anything that is not bytes, before framing any', () => {
    expect(() => encodeRecords([bytes('ok'), new Uint8Array(11)], 10)).toThrow(RecordTooLargeError)
    expect(() => encodeRecords(['text' as unknown as Uint8Array], 10)).toThrow(InvalidLogRecordError)
  })

  it('a length over the limit stops the scan without reading the payload', async () => {
    const file = encodeRecords([bytes('x'.repeat(100))], 1024)
    const read = await frames(file, 99)
    expect(read).toEqual([expect.objectContaining({ kind: 'bad', bad: 'too-large', offset: 0 })])
  })
})
