import { DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_RECORDS, DEFAULT_TARGET_BATCH_BYTES } from './constants.js'
import { InvalidMessageError, MalformedMessageError, MessageTooLargeError, ReplicaError, CodecError } from './errors.js'
import { reader as createReader } from 'protons-runtime'
import { OpType as PbOpType, Record as PbRecord } from './pb/replica.js'
import { resolveRecordLimits, validateRecord } from './validate.js'
import type { ResolvedRecordLimits, RecordLimits } from './validate.js'
import type { Json, Op, WriteRecord } from './types.js'

/** Limits of the decoder, on top of the per-record limits the store also applies. */
export interface CodecLimits extends RecordLimits {
  /** Checked before any parsing. @default 4_194_304 (bytes) */
  maxBatchBytes?: number
  /** @default 4096 (records) */
  maxRecords?: number
}

export interface BatchSplit {
  /** Target size of each batch; a single record larger than this still gets a batch of its own. @default 1_047_552 (bytes) */
  maxBytes?: number
  /** @default 4096 (records) */
  maxRecords?: number
}

const encoder = new TextEncoder()
const EMPTY = new Uint8Array(0)

const TO_WIRE: Record<Op['type'], PbOpType> = {
  put: PbOpType.PUT,
  delete: PbOpType.DELETE,
  counter: PbOpType.COUNTER,
  'set-add': PbOpType.SET_ADD,
  'set-remove': PbOpType.SET_REMOVE
}

function toWire (record: WriteRecord, withSignature: boolean): PbRecord {
  const { op } = record
  let value = EMPTY
  if (op.type === 'put') value = encoder.encode(JSON.stringify(op.value))
  else if (op.type === 'set-add' || op.type === 'set-remove') value = encoder.encode(JSON.stringify(op.element))
  return {
    replica: record.dot.replica,
    seq: record.dot.seq,
    key: record.key,
    op: TO_WIRE[op.type],
    value,
    p: op.type === 'counter' ? op.p : 0,
    n: op.type === 'counter' ? op.n : 0,
    wall: record.hlc.wall,
    logical: record.hlc.logical,
    // Sorted so that equal records always encode to equal bytes (signatures depend on it).
    clock: Object.entries(record.clock).sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0).map(([replica, seq]) => ({ replica, seq })),
    removes: record.removes.map((d) => ({ replica: d.replica, seq: d.seq })),
    signature: withSignature ? record.signature ?? EMPTY : EMPTY
  }
}

/** One record, signature included. */
export function encodeRecord (record: WriteRecord): Uint8Array {
  return PbRecord.encode(toWire(record, true))
}

/**
 * The bytes an author signs and a receiver verifies: the record encoded without its
 * signature. Deterministic, so a record relayed by anyone verifies against the same bytes.
 */
export function signingBytes (record: WriteRecord): Uint8Array {
  return PbRecord.encode(toWire(record, false))
}

export function encodeBatch (records: Iterable<WriteRecord>): Uint8Array {
  const parts = [...records].map(encodeRecord)
  return frame(parts)
}

/**
 * Encodes records into as few batches as fit the given size and count, for gossip
 * messages and sync chunks. Order is kept.
 */
export function encodeBatches (records: Iterable<WriteRecord>, split: BatchSplit = {}): Uint8Array[] {
  const maxBytes = split.maxBytes ?? DEFAULT_TARGET_BATCH_BYTES
  const maxRecords = split.maxRecords ?? DEFAULT_MAX_BATCH_RECORDS
  const batches: Uint8Array[] = []
  let parts: Uint8Array[] = []
  let size = 0
  for (const record of records) {
    const bytes = encodeRecord(record)
    const framed = framedLength(bytes.byteLength)
    if (parts.length > 0 && (size + framed > maxBytes || parts.length >= maxRecords)) {
      batches.push(frame(parts))
      parts = []
      size = 0
    }
    parts.push(bytes)
    size += framed
  }
  if (parts.length > 0) batches.push(frame(parts))
  return batches
}

/**
 * Decodes a batch of untrusted bytes. Either every record is returned, each valid by the
 * same rules the store applies, or a `CodecError` is thrown: never a partial result,
 * never another kind of error. Records are decoded and checked one at a time, so garbage
 * costs no more than its first bad record: decoding the whole batch first let 4 MiB of
 * empty `removes` entries become some 100 MiB of objects before any was looked at.
 */
export function decodeBatch (bytes: Uint8Array, limits: CodecLimits = {}): WriteRecord[] {
  const maxBatchBytes = limits.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES
  if (!(bytes instanceof Uint8Array)) throw new MalformedMessageError('a batch must be a Uint8Array')
  if (bytes.byteLength > maxBatchBytes) {
    throw new MessageTooLargeError(`batch of ${bytes.byteLength} bytes is over the limit of ${maxBatchBytes}`)
  }
  const maxRecords = limits.maxRecords ?? DEFAULT_MAX_BATCH_RECORDS
  const recordLimits = resolveRecordLimits(limits)
  const records: WriteRecord[] = []
  // The Batch message by hand, as the generated decoder reads it: field 1 is a record,
  // any other field is skipped.
  const reader = createReader(bytes)
  while (reader.pos < reader.len) {
    let encoded: Uint8Array | undefined
    try {
      const tag = reader.uint32()
      if (tag >>> 3 === 1) encoded = reader.bytes()
      else reader.skipType(tag & 7)
    } catch (err) {
      throw protobufError(err)
    }
    if (encoded === undefined) continue
    if (records.length === maxRecords) throw new MessageTooLargeError(`batch has more than ${maxRecords} records`)
    records.push(decodeRecordWire(encoded, recordLimits))
  }
  return records
}

/** One record's bytes, decoded and validated (a CodecError otherwise). */
export function decodeRecordWire (bytes: Uint8Array, limits: ResolvedRecordLimits): WriteRecord {
  let wire: PbRecord
  try {
    wire = PbRecord.decode(bytes, { limits: { clock: limits.maxClockEntries, removes: limits.maxRemoves } })
  } catch (err) {
    throw protobufError(err)
  }
  return fromWire(wire, limits)
}

/** Decodes one record (as `encodeRecord` wrote it) under the same rules as `decodeBatch`. */
export function decodeRecord (bytes: Uint8Array, limits: CodecLimits = {}): WriteRecord {
  const maxBatchBytes = limits.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES
  if (!(bytes instanceof Uint8Array)) throw new MalformedMessageError('a record must be a Uint8Array')
  if (bytes.byteLength > maxBatchBytes) {
    throw new MessageTooLargeError(`record of ${bytes.byteLength} bytes is over the limit of ${maxBatchBytes}`)
  }
  return decodeRecordWire(bytes, resolveRecordLimits(limits))
}

export function protobufError (err: unknown): CodecError {
  if (err instanceof Error && err.name === 'MaxLengthError') {
    return new MessageTooLargeError(`message has too many entries: ${err.message}`, { cause: err })
  }
  const detail = err instanceof Error ? err.message : String(err)
  return new MalformedMessageError(`not a valid protobuf message: ${detail}`, { cause: err })
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function parseJson (bytes: Uint8Array, limits: ResolvedRecordLimits): Json {
  if (bytes.byteLength === 0) throw new InvalidMessageError('a put or set record carries no value')
  if (bytes.byteLength > limits.maxValueBytes) {
    throw new MessageTooLargeError(`value of ${bytes.byteLength} bytes is over the limit of ${limits.maxValueBytes}`)
  }
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch (err) {
    throw new MalformedMessageError('value is not valid UTF-8', { cause: err })
  }
  let value: Json
  try {
    value = JSON.parse(text) as Json
  } catch (err) {
    throw new MalformedMessageError('value is not valid JSON', { cause: err })
  }
  return withoutMinusZero(value, limits.maxValueDepth)
}

/**
 * JSON can spell -0 ("-0", "-1e-400"), which JS keeps but JSON.stringify writes as 0: left
 * alone, this replica would hold a value that differs from what every peer it relays to holds.
 * Stops below `depth`, where validation refuses the value anyway.
 */
function withoutMinusZero (value: Json, depth: number): Json {
  if (Object.is(value, -0)) return 0
  if (value === null || typeof value !== 'object' || depth <= 0) return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = withoutMinusZero(value[i] as Json, depth - 1)
  } else {
    for (const [k, v] of Object.entries(value)) {
      // defineProperty, not assignment: a "__proto__" key must stay a plain own property.
      if (Object.is(v, -0)) Object.defineProperty(value, k, { value: 0, writable: true, enumerable: true, configurable: true })
      else withoutMinusZero(v, depth - 1)
    }
  }
  return value
}

function fromWire (wire: PbRecord, limits: ResolvedRecordLimits): WriteRecord {
  let op: Op
  switch (wire.op) {
    case PbOpType.PUT:
      op = { type: 'put', value: parseJson(wire.value, limits) }
      break
    case PbOpType.DELETE:
      op = { type: 'delete' }
      break
    case PbOpType.COUNTER:
      op = { type: 'counter', p: wire.p + 0, n: wire.n + 0 } // + 0 turns -0 into 0
      break
    case PbOpType.SET_ADD:
      op = { type: 'set-add', element: parseJson(wire.value, limits) }
      break
    case PbOpType.SET_REMOVE:
      op = { type: 'set-remove', element: parseJson(wire.value, limits) }
      break
    default:
      throw new InvalidMessageError('record has no known operation')
  }
  // Fields an operation does not use must be empty, so one record has exactly one encoding.
  if ((op.type === 'delete' || op.type === 'counter') && wire.value.byteLength > 0) {
    throw new InvalidMessageError(`a ${op.type} record carries a value`)
  }
  if (op.type !== 'counter' && (wire.p !== 0 || wire.n !== 0)) {
    throw new InvalidMessageError(`a ${op.type} record carries counter fields`)
  }
  const clock = Object.fromEntries(wire.clock.map((e) => [e.replica, e.seq]))
  if (Object.keys(clock).length !== wire.clock.length) {
    throw new InvalidMessageError('clock names a replica twice')
  }
  const record: WriteRecord = {
    dot: { replica: wire.replica, seq: wire.seq },
    key: wire.key,
    op,
    hlc: { wall: wire.wall, logical: wire.logical },
    clock,
    removes: wire.removes.map((d) => ({ replica: d.replica, seq: d.seq })),
    // Copied: the decoded bytes are a view into the whole batch, which would stay alive with it.
    ...(wire.signature.byteLength > 0 ? { signature: wire.signature.slice() } : {})
  }
  try {
    validateRecord(record, limits)
  } catch (err) {
    const detail = err instanceof ReplicaError ? err.message : String(err)
    throw new InvalidMessageError(`invalid record: ${detail}`, { cause: err })
  }
  return record
}

/** A batch is its records, each framed as field 1 (tag byte 0x0a) with a varint length. */
function frame (parts: Uint8Array[]): Uint8Array {
  let total = 0
  for (const part of parts) total += framedLength(part.byteLength)
  const out = new Uint8Array(total)
  let pos = 0
  for (const part of parts) {
    out[pos++] = 0x0a
    let length = part.byteLength
    while (length >= 0x80) {
      out[pos++] = (length & 0x7f) | 0x80
      length >>>= 7
    }
    out[pos++] = length
    out.set(part, pos)
    pos += part.byteLength
  }
  return out
}

function framedLength (length: number): number {
  let varint = 1
  for (let n = length; n >= 0x80; n >>>= 7) varint++
  return 1 + varint + length
}
