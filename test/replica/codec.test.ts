import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HearsayError } from '../../src/errors.js'
import {
  CodecError, decodeBatch, decodeRecord, encodeBatch, encodeBatches, encodeRecord, InvalidMessageError,
  KeyTooLongError, MalformedMessageError, MessageTooLargeError, ReplicaState, signingBytes
} from '../../src/replica/index.js'
import { Batch, OpType, Record as PbRecord } from '../../src/replica/pb/replica.js'
import { writeRecord } from './arbitraries.js'
import type { WriteRecord } from '../../src/replica/index.js'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A valid wire record, for tests that break one field of it. */
function wire (overrides: Partial<PbRecord> = {}): PbRecord {
  return {
    replica: 'A',
    seq: 1,
    key: 'k',
    op: OpType.PUT,
    value: utf8('"v"'),
    p: 0,
    n: 0,
    wall: 1000,
    logical: 0,
    clock: [{ replica: 'A', seq: 1 }],
    removes: [],
    signature: new Uint8Array(0),
    ...overrides
  }
}

function batchOf (...records: PbRecord[]): Uint8Array {
  return Batch.encode({ records })
}

function decodeError (bytes: Uint8Array, limits = {}): CodecError {
  try {
    decodeBatch(bytes, limits)
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError)
    return err as CodecError
  }
  throw new Error('expected decodeBatch to throw')
}

describe('codec round trip', () => {
  it('property: decode(encode(record)) deep-equals the record, and re-encodes to the same bytes', () => {
    fc.assert(fc.property(writeRecord, (record) => {
      const bytes = encodeRecord(record)
      const decoded = decodeRecord(bytes)
      expect(decoded).toEqual(record)
      expect(encodeRecord(decoded)).toEqual(bytes)
      expect(signingBytes(decoded)).toEqual(signingBytes(record))
    }), { numRuns: 300 })
  })

  it('property: decodeBatch(encodeBatch(records)) deep-equals the records', () => {
    fc.assert(fc.property(fc.array(writeRecord, { maxLength: 8 }), (records) => {
      expect(decodeBatch(encodeBatch(records))).toEqual(records)
    }), { numRuns: 100 })
  })

  it('signingBytes leaves the signature out; encodeRecord keeps it', () => {
    const a = new ReplicaState('A')
    const record = a.put('k', { x: 1 })
    const signed: WriteRecord = { ...record, signature: new Uint8Array([1, 2, 3]) }
    expect(signingBytes(signed)).toEqual(encodeRecord(record))
    expect(decodeRecord(encodeRecord(signed)).signature).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('encodeBatches splits by size and count, keeps order, and every batch decodes', () => {
    const a = new ReplicaState('A')
    const records = Array.from({ length: 50 }, (_, i) => a.put(`key-${i}`, 'x'.repeat(100)))
    const bySize = encodeBatches(records, { maxBytes: 1000 })
    expect(bySize.length).toBeGreaterThan(5)
    for (const b of bySize) expect(b.byteLength).toBeLessThanOrEqual(1000)
    expect(bySize.flatMap((b) => decodeBatch(b))).toEqual(records)
    const byCount = encodeBatches(records, { maxRecords: 7 })
    expect(byCount).toHaveLength(8)
    expect(byCount.flatMap((b) => decodeBatch(b))).toEqual(records)
    expect(encodeBatches([])).toEqual([])
    expect(encodeBatch(records)).toEqual(encodeBatches(records)[0])
  })
})

describe('decoding untrusted input', () => {
  it('codec errors are HearsayErrors with a code (found by fuzzing)', () => {
    const err = decodeError(Uint8Array.of(0x0a))
    expect(err).toBeInstanceOf(HearsayError)
    expect(err.code).toBe('ERR_MALFORMED_MESSAGE')
    expect(new KeyTooLongError('x')).toMatchObject({ code: 'ERR_KEY_TOO_LONG', name: 'KeyTooLongError' })
    expect(new KeyTooLongError('x')).toBeInstanceOf(HearsayError)
  })

  it('property: random bytes decode or throw a CodecError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        for (const record of decodeBatch(bytes)) new ReplicaState('X').apply(record)
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError)
      }
    }), { numRuns: 2000 })
  })

  it('property: mutated valid encodings decode to valid records or throw a CodecError', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() })
    )
    fc.assert(fc.property(fc.array(writeRecord, { minLength: 1, maxLength: 4 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (records, mutations) => {
      let bytes = encodeBatch(records)
      for (const m of mutations) {
        if (bytes.length === 0) break
        const at = m.at % bytes.length
        if (m.kind === 'flip') {
          bytes = bytes.slice()
          bytes[at] = (bytes[at] as number) ^ m.bits
        } else if (m.kind === 'truncate') {
          bytes = bytes.slice(0, at)
        } else if (m.kind === 'insert') {
          bytes = new Uint8Array([...bytes.subarray(0, at), m.byte, ...bytes.subarray(at)])
        } else {
          bytes = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + 1)])
        }
      }
      let decoded: WriteRecord[]
      try {
        decoded = decodeBatch(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError)
        return
      }
      // Whatever decodes must be something the store accepts (or recognises as a duplicate).
      const state = new ReplicaState('X')
      for (const record of decoded) expect(['applied', 'duplicate']).toContain(state.apply(record))
    }), { numRuns: 1000 })
  })

  it('refuses a batch over maxBatchBytes before parsing it', () => {
    const err = decodeError(new Uint8Array(101), { maxBatchBytes: 100 })
    expect(err).toBeInstanceOf(MessageTooLargeError)
    expect(err.code).toBe('ERR_MESSAGE_TOO_LARGE')
  })

  it('refuses too many records, removes or clock entries', () => {
    expect(decodeError(batchOf(wire(), wire({ seq: 2, clock: [{ replica: 'A', seq: 2 }] })), { maxRecords: 1 })).toBeInstanceOf(MessageTooLargeError)
    const removes = Array.from({ length: 3 }, (_, i) => ({ replica: 'B', seq: i + 1 }))
    expect(decodeError(batchOf(wire({ removes })), { maxRemoves: 2 })).toBeInstanceOf(MessageTooLargeError)
    const clock = [{ replica: 'A', seq: 1 }, { replica: 'B', seq: 1 }, { replica: 'C', seq: 1 }]
    expect(decodeError(batchOf(wire({ clock })), { maxClockEntries: 2 })).toBeInstanceOf(MessageTooLargeError)
    expect(decodeBatch(batchOf(wire({ clock })), { maxClockEntries: 3 })).toHaveLength(1)
  })

  it('decodes and checks records one at a time: garbage after a bad record is never parsed', () => {
    // What made a 4 MiB batch of empty `removes` entries cost ~100 MiB and 0.7 s before any
    // record was checked: now the first bad record ends it, before the rest is looked at.
    const bad = PbRecord.encode(wire({ op: OpType.OP_UNSPECIFIED }))
    const framed = new Uint8Array([0x0a, bad.byteLength, ...bad, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])
    expect(decodeError(framed)).toBeInstanceOf(InvalidMessageError)
    // The same truncated tail after a good record is malformed protobuf.
    const good = PbRecord.encode(wire())
    expect(decodeError(new Uint8Array([0x0a, good.byteLength, ...good, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toBeInstanceOf(MalformedMessageError)
    // Fields other than records are skipped, as the generated Batch decoder does.
    expect(decodeBatch(new Uint8Array([0x10, 0x05, 0x0a, good.byteLength, ...good]))).toHaveLength(1)
  })

  it('refuses a value over maxValueBytes and a key over maxKeyBytes', () => {
    expect(decodeError(batchOf(wire({ value: utf8('"' + 'x'.repeat(100) + '"') })), { maxValueBytes: 50 })).toBeInstanceOf(MessageTooLargeError)
    const err = decodeError(batchOf(wire({ key: 'k'.repeat(1025) })))
    expect(err).toBeInstanceOf(InvalidMessageError)
    expect(err.cause).toBeInstanceOf(KeyTooLongError)
  })

  it('refuses values that are not UTF-8 or not JSON, or JSON numbers out of range', () => {
    expect(decodeError(batchOf(wire({ value: new Uint8Array([0x22, 0xff, 0x22]) })))).toBeInstanceOf(MalformedMessageError)
    expect(decodeError(batchOf(wire({ value: utf8('{oops') })))).toBeInstanceOf(MalformedMessageError)
    expect(decodeError(batchOf(wire({ value: utf8('1e400') })))).toBeInstanceOf(InvalidMessageError)
    expect(decodeError(batchOf(wire({ value: new Uint8Array(0) })))).toBeInstanceOf(InvalidMessageError)
  })

  it('refuses JSON nested too deep without overflowing the stack', () => {
    const deep = utf8('['.repeat(500_000) + ']'.repeat(500_000))
    expect(decodeError(batchOf(wire({ value: deep })))).toBeInstanceOf(CodecError)
  })

  it('refuses records that break a structural rule', () => {
    const bad: Array<Partial<PbRecord>> = [
      { op: OpType.OP_UNSPECIFIED },
      { seq: 0, clock: [] },
      { replica: '' },
      { replica: 'r'.repeat(129), clock: [{ replica: 'r'.repeat(129), seq: 1 }] },
      { key: '' },
      { clock: [] },
      { clock: [{ replica: 'A', seq: 1 }, { replica: 'A', seq: 1 }] },
      { clock: [{ replica: 'A', seq: 1 }, { replica: 'B', seq: 0 }] },
      { removes: [{ replica: 'A', seq: 1 }] },
      { removes: [{ replica: 'B', seq: 0 }] },
      { op: OpType.DELETE },
      { op: OpType.COUNTER, p: 1 },
      { op: OpType.COUNTER, value: new Uint8Array(0), p: -1 },
      { op: OpType.COUNTER, value: new Uint8Array(0), p: Number.NaN },
      { op: OpType.COUNTER, value: new Uint8Array(0), n: Number.POSITIVE_INFINITY },
      { p: 3 },
      { signature: new Uint8Array(2000) }
    ]
    for (const overrides of bad) {
      expect(decodeError(batchOf(wire(overrides))), JSON.stringify(Object.keys(overrides))).toBeInstanceOf(CodecError)
    }
  })

  it('refuses a seq above 2^53 (the encoder cannot even write one)', () => {
    const varint = (n: bigint): number[] => {
      const out: number[] = []
      while (n >= 0x80n) {
        out.push(Number(n & 0x7fn) | 0x80)
        n >>= 7n
      }
      return [...out, Number(n)]
    }
    for (const big of [2n ** 53n, 2n ** 60n, 2n ** 64n - 1n, 2n ** 70n]) {
      // Record { replica: "A", seq: big }, framed as the batch's field 1.
      const record = [0x0a, 0x01, 0x41, 0x10, ...varint(big)]
      expect(decodeError(new Uint8Array([0x0a, record.length, ...record]))).toBeInstanceOf(CodecError)
    }
  })

  it('never returns a partial batch: one bad record fails the whole batch', () => {
    expect(decodeBatch(batchOf(wire(), wire({ seq: 2, clock: [{ replica: 'A', seq: 2 }] })))).toHaveLength(2)
    expect(decodeError(batchOf(wire(), wire({ seq: 0 })))).toBeInstanceOf(InvalidMessageError)
  })

  it('turns a JSON -0 into 0, as every peer that re-encodes it would', () => {
    const [record] = decodeBatch(batchOf(wire({ value: utf8('{"a":[-0,-1e-400],"__proto__":{"b":-0.0}}') })))
    const value = (record?.op as { value: unknown }).value as Record<string, unknown>
    expect(Object.is((value.a as number[])[0], 0)).toBe(true)
    expect(Object.is((value.a as number[])[1], 0)).toBe(true)
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect(Object.keys(value)).toEqual(['a', '__proto__'])
    expect(Object.is((Object.getOwnPropertyDescriptor(value, '__proto__')?.value as { b: number }).b, 0)).toBe(true)
  })

  it('the decoded signature does not hold on to the batch buffer', () => {
    const bytes = batchOf(wire({ signature: new Uint8Array([9, 9, 9]) }))
    const [record] = decodeBatch(bytes)
    expect(record?.signature?.buffer).not.toBe(bytes.buffer)
  })
})
