import {
  DEFAULT_MAX_CLOCK_ENTRIES, DEFAULT_MAX_KEY_BYTES, DEFAULT_MAX_REMOVES, DEFAULT_MAX_REPLICA_ID_LENGTH,
  DEFAULT_MAX_SIGNATURE_BYTES, DEFAULT_MAX_VALUE_BYTES, DEFAULT_MAX_VALUE_DEPTH, MAX_HLC_LOGICAL
} from './constants.js'
import {
  InvalidKeyError, InvalidRecordError, InvalidValueError, KeyTooLongError, TooManyRemovesError, ValueTooLargeError
} from './errors.js'
import { assertJson, isWellFormed, utf8Length } from './json.js'
import type { Dot, WriteRecord } from './types.js'

/** Limits every record must keep, whether written here, applied from a peer or decoded. */
export interface RecordLimits {
  /** @default 1024 (UTF-8 bytes) */
  maxKeyBytes?: number
  /** Of the value's (or set element's) JSON encoding. @default 1_048_576 (UTF-8 bytes) */
  maxValueBytes?: number
  /** @default 64 (levels of arrays/objects) */
  maxValueDepth?: number
  /** @default 65_536 (dots) */
  maxRemoves?: number
  /** @default 4096 (replicas) */
  maxClockEntries?: number
  /** @default 128 (characters) */
  maxReplicaIdLength?: number
  /** @default 1024 (bytes) */
  maxSignatureBytes?: number
}

export type ResolvedRecordLimits = Required<RecordLimits>

export function resolveRecordLimits (limits: RecordLimits = {}): ResolvedRecordLimits {
  return {
    maxKeyBytes: limits.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES,
    maxValueBytes: limits.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
    maxValueDepth: limits.maxValueDepth ?? DEFAULT_MAX_VALUE_DEPTH,
    maxRemoves: limits.maxRemoves ?? DEFAULT_MAX_REMOVES,
    maxClockEntries: limits.maxClockEntries ?? DEFAULT_MAX_CLOCK_ENTRIES,
    maxReplicaIdLength: limits.maxReplicaIdLength ?? DEFAULT_MAX_REPLICA_ID_LENGTH,
    maxSignatureBytes: limits.maxSignatureBytes ?? DEFAULT_MAX_SIGNATURE_BYTES
  }
}

export function validateKey (key: unknown, limits: ResolvedRecordLimits): asserts key is string {
  if (typeof key !== 'string') throw new InvalidKeyError('key must be a string')
  if (key.length === 0) throw new InvalidKeyError('key must not be empty')
  // Every UTF-16 unit is at least one UTF-8 byte: a long string is refused before it is measured.
  if (key.length > limits.maxKeyBytes || utf8Length(key) > limits.maxKeyBytes) {
    throw new KeyTooLongError(`key is longer than ${limits.maxKeyBytes} UTF-8 bytes: use a shorter key or raise maxKeyBytes`)
  }
  if (!isWellFormed(key)) throw new InvalidKeyError('key contains a lone UTF-16 surrogate and is not valid UTF-8')
}

/** Validates a value or set element and returns its JSON encoding (what the size limit counts). */
export function validateValue (value: unknown, limits: ResolvedRecordLimits, what = 'value'): string {
  assertJson(value, limits.maxValueDepth, what)
  const json = JSON.stringify(value)
  if (json.length > limits.maxValueBytes || utf8Length(json) > limits.maxValueBytes) {
    throw new ValueTooLargeError(`${what} is larger than ${limits.maxValueBytes} bytes of JSON: store less or raise maxValueBytes`)
  }
  return json
}

export function validateReplicaId (replica: unknown, limits: ResolvedRecordLimits, where: string): asserts replica is string {
  if (typeof replica !== 'string' || replica.length === 0 || replica.length > limits.maxReplicaIdLength || !isWellFormed(replica)) {
    throw new InvalidRecordError(`${where}: replica id must be a well-formed string of 1 to ${limits.maxReplicaIdLength} characters`)
  }
}

export function isSeq (seq: unknown): seq is number {
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 1
}

function validateDot (dot: unknown, limits: ResolvedRecordLimits, where: string): asserts dot is Dot {
  if (dot === null || typeof dot !== 'object') throw new InvalidRecordError(`${where} must be an object`)
  const { replica, seq } = dot as { replica?: unknown, seq?: unknown }
  validateReplicaId(replica, limits, where)
  if (!isSeq(seq)) throw new InvalidRecordError(`${where}: seq must be an integer from 1 to 2^53 - 1`)
}

function validateCount (n: unknown, what: string): void {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    throw new InvalidRecordError(`counter ${what} must be a finite number >= 0`)
  }
}

export function dotKey (dot: Dot): string {
  // seq holds no ':', so the first ':' separates it from any replica id.
  return `${dot.seq}:${dot.replica}`
}

/**
 * Checks every structural rule of a record, so a record that passes can be applied
 * anywhere and encoded and decoded without changing. Throws a typed error; changes nothing.
 */
export function validateRecord (record: unknown, limits: ResolvedRecordLimits): asserts record is WriteRecord {
  if (record === null || typeof record !== 'object') throw new InvalidRecordError('record must be an object')
  const r = record as Partial<Record<keyof WriteRecord, unknown>>
  validateDot(r.dot, limits, 'dot')
  const dot = r.dot
  validateKey(r.key, limits)

  const op = r.op as { type?: unknown, value?: unknown, element?: unknown, p?: unknown, n?: unknown } | null | undefined
  if (op === null || typeof op !== 'object') throw new InvalidRecordError('op must be an object')
  switch (op.type) {
    case 'put':
      validateValue(op.value, limits)
      break
    case 'delete':
      break
    case 'counter':
      validateCount(op.p, 'p')
      validateCount(op.n, 'n')
      break
    case 'set-add':
    case 'set-remove':
      validateValue(op.element, limits, 'element')
      break
    default:
      throw new InvalidRecordError(`unknown op type ${JSON.stringify(op.type) ?? String(op.type)}`)
  }

  const hlc = r.hlc as { wall?: unknown, logical?: unknown } | null | undefined
  if (hlc === null || typeof hlc !== 'object') throw new InvalidRecordError('hlc must be an object')
  if (typeof hlc.wall !== 'number' || !Number.isSafeInteger(hlc.wall) || hlc.wall < 0) {
    throw new InvalidRecordError('hlc.wall must be an integer number of ms >= 0')
  }
  if (typeof hlc.logical !== 'number' || !Number.isInteger(hlc.logical) || hlc.logical < 0 || hlc.logical > MAX_HLC_LOGICAL) {
    throw new InvalidRecordError('hlc.logical must be an integer from 0 to 2^32 - 1')
  }

  const clock = r.clock
  if (clock === null || typeof clock !== 'object' || Array.isArray(clock)) throw new InvalidRecordError('clock must be an object')
  const entries = Object.entries(clock)
  if (entries.length > limits.maxClockEntries) {
    throw new InvalidRecordError(`clock has more than ${limits.maxClockEntries} entries`)
  }
  for (const [replica, seq] of entries) {
    validateReplicaId(replica, limits, 'clock entry')
    if (!isSeq(seq)) throw new InvalidRecordError('clock entries must be integers from 1 to 2^53 - 1')
  }
  if (!Object.hasOwn(clock, dot.replica) || (clock as Record<string, unknown>)[dot.replica] !== dot.seq) {
    throw new InvalidRecordError("clock must hold the author's own entry, equal to dot.seq")
  }

  const removes = r.removes
  if (!Array.isArray(removes)) throw new InvalidRecordError('removes must be an array')
  if (removes.length > limits.maxRemoves) {
    throw new TooManyRemovesError(`record supersedes more than ${limits.maxRemoves} dots`)
  }
  const seen = new Set<string>()
  for (const removed of removes as unknown[]) {
    validateDot(removed, limits, 'removed dot')
    if (removed.replica === dot.replica && removed.seq >= dot.seq) {
      throw new InvalidRecordError('a record can only supersede earlier writes of its own author')
    }
    const k = dotKey(removed)
    if (seen.has(k)) throw new InvalidRecordError('removes lists a dot twice')
    seen.add(k)
  }

  const signature = r.signature
  if (signature !== undefined) {
    if (!(signature instanceof Uint8Array)) throw new InvalidRecordError('signature must be a Uint8Array')
    if (signature.byteLength === 0) throw new InvalidRecordError('signature must not be empty: leave it out instead')
    if (signature.byteLength > limits.maxSignatureBytes) {
      throw new InvalidRecordError(`signature is longer than ${limits.maxSignatureBytes} bytes`)
    }
  }
}

/** Whether a record can be a live value (deletes and set-removes only remove). */
export function isValueRecord (record: WriteRecord): boolean {
  const type = record.op.type
  return type === 'put' || type === 'counter' || type === 'set-add'
}
