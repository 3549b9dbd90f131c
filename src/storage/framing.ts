import zlib from 'node:zlib'
import { InvalidLogRecordError, RecordTooLargeError } from './errors.js'
import { READ_CHUNK_BYTES, RECORD_HEADER_BYTES } from './constants.js'

/*
 * On-disk record: [u32 length][u32 crc32][payload], little-endian.
 *
 * The checksum covers the length field as well as the payload. With a payload-only CRC a
 * zero-filled tail (what some file systems show after a power loss: the size was extended
 * but the blocks never written) would read as an endless run of valid empty records, since
 * crc32 of nothing is 0. crc32 of four zero bytes is not 0, so zeros end the intact prefix.
 */

const CRC_TABLE = makeCrcTable()

function makeCrcTable (): Uint32Array {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
}

/** CRC-32 (IEEE, as zlib), continuing from `crc`. The fallback for Node < 22.2. */
export function crc32Table (data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0
  for (const byte of data) c = (CRC_TABLE[(c ^ byte) & 0xFF] ?? 0) ^ (c >>> 8)
  return ~c >>> 0
}

const nativeCrc32 = typeof zlib.crc32 === 'function' ? zlib.crc32 : undefined

/**
 * CRC-32 (IEEE), native where Node has it (the table is ~10x slower on big records). Empty
 * input returns `crc` itself: the native one returns 0 for an empty array whose ArrayBuffer
 * is empty too (zlib's crc32(crc, NULL, 0) resets), which would fail every empty record.
 */
export function crc32 (data: Uint8Array, crc = 0): number {
  if (data.length === 0) return crc
  return nativeCrc32 === undefined ? crc32Table(data, crc) : nativeCrc32(data, crc)
}

function frameChecksum (lengthField: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(lengthField))
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object'
  return typeof value
}

/** Size of `records` once framed, after checking each; throws before anything is written. */
export function framedSize (records: readonly Uint8Array[], maxRecordBytes: number): number {
  let total = 0
  for (const record of records) {
    if (!(record instanceof Uint8Array)) throw new InvalidLogRecordError(describe(record))
    if (record.byteLength > maxRecordBytes) throw new RecordTooLargeError(record.byteLength, maxRecordBytes)
    total += RECORD_HEADER_BYTES + record.byteLength
  }
  return total
}

/** Frame `records` into one buffer (one `write` for the lot). Copies, so callers may reuse theirs. */
export function encodeRecords (records: readonly Uint8Array[], maxRecordBytes: number): Buffer {
  const out = Buffer.allocUnsafe(framedSize(records, maxRecordBytes))
  let offset = 0
  for (const record of records) {
    out.writeUInt32LE(record.byteLength, offset)
    out.set(record, offset + RECORD_HEADER_BYTES)
    const crc = frameChecksum(out.subarray(offset, offset + 4), record)
    out.writeUInt32LE(crc, offset + 4)
    offset += RECORD_HEADER_BYTES + record.byteLength
  }
  return out
}

/** Why a scan stopped before the end of the file. */
export type BadFrameKind = 'torn-header' | 'torn-record' | 'too-large' | 'checksum'

export type Frame =
  | { kind: 'record', offset: number, end: number, payload: Uint8Array }
  | { kind: 'bad', offset: number, bad: BadFrameKind, reason: string }

/**
 * Reads into `target` from file `position` until it is full or the file ends; returns the
 * bytes read. Abstracted so framing can be tested on buffers.
 */
export type ReadAt = (target: Uint8Array, position: number) => Promise<number>

export function readAtBuffer (source: Uint8Array): ReadAt {
  return async (target, position) => {
    const bytes = source.subarray(position, position + target.length)
    target.set(bytes)
    return bytes.length
  }
}

function u32 (bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true)
}

/**
 * Every frame from `start` to `end`, in order. Stops at the first bad frame, which is yielded
 * last: nothing after a bad frame can be trusted, because its length told us where the next
 * one starts. With `copy` false the payloads are views into a shared read chunk (enough for
 * recovery, which only counts them; a kept view would pin up to a whole chunk).
 */
export async function * readFrames (readAt: ReadAt, start: number, end: number, maxRecordBytes: number, copy: boolean): AsyncGenerator<Frame> {
  let buffer = new Uint8Array(0)
  let bufferAt = start

  // A view of `n` bytes at `offset`, or undefined when the file ends first.
  async function window (offset: number, n: number): Promise<Uint8Array | undefined> {
    if (offset >= bufferAt && offset + n <= bufferAt + buffer.length) {
      return buffer.subarray(offset - bufferAt, offset - bufferAt + n)
    }
    if (offset + n > end) return undefined
    const size = Math.min(Math.max(n, READ_CHUNK_BYTES), end - offset)
    const fresh = new Uint8Array(size)
    const got = await readAt(fresh, offset)
    buffer = fresh.subarray(0, got)
    bufferAt = offset
    return got < n ? undefined : buffer.subarray(0, n)
  }

  let offset = start
  while (offset < end) {
    const header = await window(offset, RECORD_HEADER_BYTES)
    if (header === undefined) {
      yield { kind: 'bad', offset, bad: 'torn-header', reason: `torn record header (${end - offset} of ${RECORD_HEADER_BYTES} bytes)` }
      return
    }
    const length = u32(header, 0)
    if (length > maxRecordBytes) {
      yield { kind: 'bad', offset, bad: 'too-large', reason: `record length ${length} is over maxRecordBytes ${maxRecordBytes} (corrupt, or written with a larger limit)` }
      return
    }
    const whole = await window(offset, RECORD_HEADER_BYTES + length)
    if (whole === undefined) {
      yield { kind: 'bad', offset, bad: 'torn-record', reason: `torn record (${end - offset - RECORD_HEADER_BYTES} of ${length} payload bytes)` }
      return
    }
    const payload = whole.subarray(RECORD_HEADER_BYTES)
    if (frameChecksum(whole.subarray(0, 4), payload) !== u32(whole, 4)) {
      yield { kind: 'bad', offset, bad: 'checksum', reason: `checksum mismatch in a record of ${length} bytes` }
      return
    }
    const next = offset + RECORD_HEADER_BYTES + length
    yield { kind: 'record', offset, end: next, payload: copy ? payload.slice() : payload }
    offset = next
  }
}
