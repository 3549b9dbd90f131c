// Shared pieces of the fuzz targets: input generators (raw bytes, random protobuf fields,
// structure-aware mutations of valid messages, mutated text) and the checks every target
// makes (typed errors only, values that survive a round trip, state compared before/after).
//
// Plain ESM over the compiled library in ../dist, like bench/: run `npx tsc -p tsconfig.json` first.

import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import v8 from 'node:v8'
import { HearsayError } from '../dist/src/errors.js'

export { fc }

/** A property of a target did not hold; the message says which. */
export class FuzzFailure extends Error {
  constructor (message) {
    super(message)
    this.name = 'FuzzFailure'
  }
}

export function fail (message) {
  throw new FuzzFailure(message)
}

export function check (condition, message) {
  if (!condition) fail(typeof message === 'function' ? message() : message)
}

/** Deep equality that treats Uint8Arrays by content and knows Maps and Sets. */
export function same (a, b) {
  return isDeepStrictEqual(a, b)
}

export function checkSame (actual, expected, what) {
  if (!same(actual, expected)) fail(`${what}: ${show(actual)} differs from ${show(expected)}`)
}

/**
 * A decoder's or validator's error must be a HearsayError with a stable ERR_ code, and an
 * instance of one of `classes` when given: never a TypeError, RangeError or a library's error.
 */
export function expectTyped (err, classes = [], where = 'decoder') {
  if (err instanceof FuzzFailure) throw err
  if (!(err instanceof HearsayError)) {
    fail(`${where} threw an untyped error: ${describeError(err)}`)
  }
  if (typeof err.code !== 'string' || !/^ERR_[A-Z0-9_]+$/.test(err.code)) fail(`${where} threw ${err.name} with code ${String(err.code)}`)
  if (classes.length > 0 && !classes.some((c) => err instanceof c)) {
    fail(`${where} threw ${err.name} (${err.code}); expected ${classes.map((c) => c.name).join(' or ')}`)
  }
  if (typeof err.message !== 'string' || err.message.length === 0) fail(`${where} threw ${err.name} without a message`)
}

export function describeError (err) {
  if (err instanceof Error) {
    const code = err.code === undefined ? '' : ` [${String(err.code)}]`
    const stack = (err.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim()).join(' / ')
    return `${err.name}${code}: ${err.message}${stack === '' ? '' : ` (at ${stack})`}`
  }
  return `${typeof err}: ${String(err)}`
}

/** Short printable form of any input (bytes as hex, long strings cut). */
export function show (value, max = 600) {
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes ${hex(value, 256)}>`
  let text
  try {
    text = JSON.stringify(value, (_k, v) => {
      if (v instanceof Uint8Array) return `<${v.byteLength} bytes ${hex(v, 64)}>`
      if (typeof v === 'bigint') return `${v}n`
      if (v instanceof Map) return { Map: [...v.entries()] }
      if (v instanceof Set) return { Set: [...v.values()] }
      if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
      if (Object.is(v, -0)) return '-0'
      return v
    })
  } catch {
    text = String(value)
  }
  if (text === undefined) text = String(value)
  return text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text
}

export function hex (bytes, max = Infinity) {
  const shown = bytes.subarray(0, Math.min(bytes.byteLength, max))
  return Buffer.from(shown.buffer, shown.byteOffset, shown.byteLength).toString('hex') + (bytes.byteLength > max ? '..' : '')
}

// --- strings -----------------------------------------------------------------------------

/** Strings that have broken parsers before: prototype names, NUL, lone surrogates, long runs. */
export const TRICKY_STRINGS = [
  '', ' ', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__',
  '\u0000', '\uD800', '\uDFFF', '\uD83D\uDE00', '\uFFFD', '\uFEFF', '\n', '%', '%00', '%zz', '/', '..', '-0', 'NaN', 'null',
  'a'.repeat(128), 'a'.repeat(129), 'é'.repeat(700), 'x'.repeat(1025)
]

export const trickyString = fc.constantFrom(...TRICKY_STRINGS)

/** Any UTF-16 code unit (lone surrogates included) or any astral code point. */
export const anyChar = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x1_0000, max: 0x10_ffff }).map((c) => String.fromCodePoint(c))
)

/** Any string, biased toward the tricky ones. */
export const anyString = fc.oneof(
  { arbitrary: fc.string({ maxLength: 24 }), weight: 3 },
  { arbitrary: fc.string({ unit: anyChar, maxLength: 24 }), weight: 2 },
  { arbitrary: trickyString, weight: 2 }
)

// --- bytes -------------------------------------------------------------------------------

/** Raw random bytes: mostly short, sometimes up to 64 KiB. */
export const rawBytes = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 6 },
  { arbitrary: fc.uint8Array({ maxLength: 2048 }), weight: 3 },
  { arbitrary: fc.uint8Array({ minLength: 4096, maxLength: 65_536 }), weight: 1 }
)

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x10, 0x12, 0x1a, 0x22, 0x7f, 0x80, 0x81, 0xfe, 0xff]

/** Varint values that overflow something: 2^31, 2^32, 2^53 and their neighbours, 2^64 - 1. */
export const HUGE_VARINTS = [
  2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n
]

/** Protobuf varint of a non-negative bigint or number (values past 2^64 wrap like the wire does). */
export function varint (value) {
  let v = BigInt.asUintN(64, BigInt(value))
  const out = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) byte |= 0x80
    out.push(byte)
  } while (v > 0n)
  return Uint8Array.from(out)
}

export function concat (...parts) {
  const total = parts.reduce((n, p) => n + p.byteLength, 0)
  const out = new Uint8Array(total)
  let pos = 0
  for (const p of parts) {
    out.set(p, pos)
    pos += p.byteLength
  }
  return out
}

function readVarint (buf, pos, end) {
  let value = 0
  let scale = 1
  for (let p = pos; p < end && p - pos < 10; p++) {
    const byte = buf[p]
    value += (byte & 0x7f) * scale
    scale *= 128
    if (byte < 0x80) return { value, end: p + 1 }
  }
  return undefined
}

/**
 * Best-effort walk of protobuf fields, nested messages included: where each field's tag,
 * length and value are, so mutations can aim at them. Stops at the first thing that does
 * not parse (strings may parse as messages: harmless, it only gives more places to mutate).
 */
export function protoFields (buf, start = 0, end = buf.byteLength, depth = 0, out = []) {
  let pos = start
  while (pos < end && out.length < 512) {
    const tag = readVarint(buf, pos, end)
    if (tag === undefined) return out
    const wire = tag.value % 8
    const field = { start: pos, tagEnd: tag.end, wire, lenEnd: tag.end, end: 0, depth }
    if (wire === 0) {
      const v = readVarint(buf, tag.end, end)
      if (v === undefined) return out
      field.end = v.end
    } else if (wire === 1 || wire === 5) {
      field.end = tag.end + (wire === 1 ? 8 : 4)
    } else if (wire === 2) {
      const len = readVarint(buf, tag.end, end)
      if (len === undefined) return out
      field.lenEnd = len.end
      field.end = len.end + len.value
    } else {
      return out
    }
    if (field.end > end) return out
    out.push(field)
    if (wire === 2 && depth < 4 && field.end > field.lenEnd) protoFields(buf, field.lenEnd, field.end, depth + 1, out)
    pos = field.end
  }
  return out
}

/** One random protobuf field: any field number and wire type, values including huge varints. */
const randomField = fc.record({
  field: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 2 ** 29 - 1 })),
  wire: fc.constantFrom(0, 0, 1, 2, 2, 2, 5, 3, 4, 6, 7),
  number: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(...HUGE_VARINTS), fc.bigInt({ min: 0n, max: 300n })),
  payload: fc.uint8Array({ maxLength: 40 }),
  claimed: fc.option(fc.constantFrom(...HUGE_VARINTS, 0n, 1n, 127n, 128n), { nil: undefined })
}).map(({ field, wire, number, payload, claimed }) => {
  const tag = varint(BigInt(field) * 8n + BigInt(wire))
  switch (wire) {
    case 0: return concat(tag, varint(number))
    case 1: return concat(tag, payload.subarray(0, 8), new Uint8Array(Math.max(0, 8 - payload.byteLength)))
    case 5: return concat(tag, payload.subarray(0, 4), new Uint8Array(Math.max(0, 4 - payload.byteLength)))
    case 2: return concat(tag, varint(claimed ?? BigInt(payload.byteLength)), payload)
    default: return concat(tag, payload.subarray(0, 4))
  }
})

/** Messages made of random fields: valid protobuf framing, arbitrary content. */
export const protoSoup = fc.array(randomField, { maxLength: 12 }).map((fields) => concat(...fields))

/**
 * One mutation. Positions are taken modulo the length at the time it is applied, so
 * every mutation applies to every message and shrinking keeps them meaningful.
 */
const mutation = fc.record({
  op: fc.constantFrom(
    'flip', 'set', 'truncate', 'drop', 'insert', 'duplicate', 'splice',
    'length', 'length', 'huge-varint', 'huge-varint', 'overlong-varint', 'wire-type', 'field-number',
    'repeat-field', 'remove-field', 'append-field'
  ),
  a: fc.nat(),
  b: fc.nat(),
  c: fc.nat({ max: 255 }),
  bytes: fc.uint8Array({ maxLength: 16 }),
  huge: fc.constantFrom(...HUGE_VARINTS),
  extra: randomField
})

function pickField (bytes, n) {
  const fields = protoFields(bytes)
  return fields.length === 0 ? undefined : fields[n % fields.length]
}

function replace (bytes, start, end, insert) {
  return concat(bytes.subarray(0, start), insert, bytes.subarray(end))
}

function applyMutation (bytes, m, other) {
  const len = bytes.byteLength
  const at = len === 0 ? 0 : m.a % len
  switch (m.op) {
    case 'flip': {
      if (len === 0) return bytes
      const out = bytes.slice()
      out[at] ^= 1 << (m.c % 8)
      return out
    }
    case 'set': {
      if (len === 0) return bytes
      const out = bytes.slice()
      out[at] = m.c % 2 === 0 ? INTERESTING_BYTES[m.c % INTERESTING_BYTES.length] : m.c
      return out
    }
    case 'truncate':
      return bytes.subarray(0, at)
    case 'drop':
      return replace(bytes, at, Math.min(len, at + 1 + (m.b % 16)), new Uint8Array(0))
    case 'insert':
      return replace(bytes, len === 0 ? 0 : m.a % (len + 1), len === 0 ? 0 : m.a % (len + 1), m.bytes)
    case 'duplicate': {
      const end = Math.min(len, at + 1 + (m.b % 64))
      return replace(bytes, end, end, bytes.subarray(at, end))
    }
    case 'splice': {
      const cut = other.byteLength === 0 ? 0 : m.b % other.byteLength
      return concat(bytes.subarray(0, at), other.subarray(cut))
    }
    case 'length': {
      // A length prefix that lies: zero, off by one, doubled, or one claiming gigabytes.
      const f = pickField(bytes, m.b)
      if (f === undefined || f.wire !== 2) return bytes
      const actual = f.end - f.lenEnd
      const choices = [0n, BigInt(actual + 1), BigInt(Math.max(0, actual - 1)), BigInt(actual * 2 + 1), m.huge]
      return replace(bytes, f.tagEnd, f.lenEnd, varint(choices[m.c % choices.length]))
    }
    case 'huge-varint': {
      const f = pickField(bytes, m.b)
      if (f === undefined || f.wire !== 0) return replace(bytes, at, at, varint(m.huge))
      return replace(bytes, f.tagEnd, f.end, varint(m.huge))
    }
    case 'overlong-varint': {
      // Eleven continuation bytes: longer than any varint may be.
      const f = pickField(bytes, m.b)
      const start = f === undefined ? at : f.tagEnd
      return replace(bytes, start, start, new Uint8Array(11).fill(0xff))
    }
    case 'wire-type': {
      const f = pickField(bytes, m.b)
      if (f === undefined) return bytes
      const tag = readVarint(bytes, f.start, f.tagEnd)
      const retagged = BigInt(Math.floor(tag.value / 8)) * 8n + BigInt(m.c % 8)
      return replace(bytes, f.start, f.tagEnd, varint(retagged))
    }
    case 'field-number': {
      const f = pickField(bytes, m.b)
      if (f === undefined) return bytes
      const numbers = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n, 13n, 2n ** 29n - 1n]
      const retagged = numbers[m.c % numbers.length] * 8n + BigInt(f.wire)
      return replace(bytes, f.start, f.tagEnd, varint(retagged))
    }
    case 'repeat-field': {
      const f = pickField(bytes, m.b)
      if (f === undefined) return bytes
      const copy = bytes.slice(f.start, f.end)
      const copies = 1 + (m.c % 8)
      return replace(bytes, f.end, f.end, concat(...Array.from({ length: copies }, () => copy)))
    }
    case 'remove-field': {
      const f = pickField(bytes, m.b)
      return f === undefined ? bytes : replace(bytes, f.start, f.end, new Uint8Array(0))
    }
    case 'append-field':
      return concat(bytes, m.extra)
    default:
      return bytes
  }
}

/** Valid encodings from `valid`, each put through one to five mutations. */
export function mutatedBytes (valid) {
  return fc.tuple(valid, valid, fc.array(mutation, { minLength: 1, maxLength: 5 }))
    .map(([bytes, other, mutations]) => mutations.reduce((b, m) => applyMutation(b, m, other), bytes))
}

/**
 * A fixed sample of `valid` (always the same seed, so every run sees the same corpus): the
 * seeds that mutations start from, far cheaper per input than generating fresh messages.
 */
export function corpus (valid, size = 512) {
  const items = fc.sample(valid, { numRuns: size, seed: 0x5eed })
  return fc.nat({ max: items.length - 1 }).map((i) => items[i])
}

/** Most bytes a flood input has: the largest message any of our decoders accepts. */
export const FLOOD_MAX_BYTES = 4 * 1024 * 1024

/**
 * One field of a message repeated thousands of times (up to FLOOD_MAX_BYTES), with the
 * length of every message around it rewritten to match, so a nested entry (a record's
 * `removes`, a frame's dot list) really is repeated where it is: small wire entries that
 * might each become a large object, to catch decoders whose memory grows far faster than
 * their input (see `decodeBounded`).
 */
export function flooded (seeds) {
  const once = floodOnce(seeds)
  // Twice: an entry repeated inside a record, then that record repeated (the worst case of a
  // batch: per-record limits hold, and the whole is still mostly tiny entries).
  return fc.oneof({ arbitrary: once, weight: 2 }, { arbitrary: floodOnce(once), weight: 1 })
}

function floodOnce (seeds) {
  return fc.tuple(seeds, floodShape).map(([bytes, shape]) => flood(bytes, shape))
}

const floodShape = fc.tuple(fc.nat(), fc.integer({ min: 6, max: 17 }), fc.boolean(), fc.boolean())

function flood (bytes, [pick, exponent, empty, outer]) {
  const fields = protoFields(bytes)
  if (fields.length === 0) return bytes
  // Half the time a field of the message itself (a whole record of a batch), else any field.
  const tops = fields.filter((g) => g.depth === 0)
  const pool = outer ? tops : fields
  const f = pool[pick % pool.length]
  // The field as it is, or its smallest form (tag and a zero): the most entries per byte.
  const copy = empty && (f.wire === 0 || f.wire === 2) ? concat(bytes.subarray(f.start, f.tagEnd), Uint8Array.of(0)) : bytes.subarray(f.start, f.end)
  const copies = Math.max(1, Math.min(2 ** exponent, Math.floor(FLOOD_MAX_BYTES / Math.max(1, copy.byteLength)) - 1))
  const repeated = new Uint8Array(copies * copy.byteLength)
  for (let i = 0; i < copies; i++) repeated.set(copy, i * copy.byteLength)
  let out = replace(bytes, f.start, f.end, repeated)
  let grown = repeated.byteLength - (f.end - f.start)
  // Innermost first: rewriting a length only moves bytes inside the messages around it.
  const around = fields.filter((g) => g.wire === 2 && g.lenEnd <= f.start && f.end <= g.end && g !== f).sort((a, b) => b.start - a.start)
  for (const g of around) {
    const length = varint(g.end - g.lenEnd + grown)
    out = replace(out, g.tagEnd, g.lenEnd, length)
    grown += length.byteLength - (g.lenEnd - g.tagEnd)
  }
  return out
}

/** The usual mix of a bytes target: raw bytes, random protobuf fields, valid, mutated and (rarely) flooded messages. */
export function bytesInput (valid) {
  const seeds = fc.oneof({ arbitrary: corpus(valid), weight: 9 }, { arbitrary: valid, weight: 1 })
  return fc.oneof(
    { arbitrary: rawBytes, weight: 40 },
    { arbitrary: protoSoup, weight: 40 },
    { arbitrary: valid, weight: 20 },
    { arbitrary: mutatedBytes(seeds), weight: 100 },
    { arbitrary: flooded(seeds), weight: 1 }
  )
}

/**
 * `bytesInput` for messages that carry something besides their bytes (what a check needs to
 * know of how they were made, say the seals a batch was built with): `valid` gives objects
 * `{ bytes, ... }`; every input is such an object with `genuine` true when its bytes are a
 * valid message as made, untouched. `bare` is what raw bytes carry, `merge(a, b)` what a
 * mutation of `a` drawing on `b` carries. A smaller corpus for messages that are slow to make
 * (signed ones) keeps the start of a short run short.
 */
export function bytesInputCarrying (valid, bare, merge, corpusSize = 512) {
  const seeds = fc.oneof({ arbitrary: corpus(valid, corpusSize), weight: 9 }, { arbitrary: valid, weight: 1 })
  const plain = (bytes) => ({ ...bare, bytes, genuine: false })
  return fc.oneof(
    { arbitrary: rawBytes.map(plain), weight: 40 },
    { arbitrary: protoSoup.map(plain), weight: 40 },
    { arbitrary: valid.map((v) => ({ ...v, genuine: true })), weight: 20 },
    { arbitrary: mutatedCarrying(seeds, merge), weight: 100 },
    {
      arbitrary: fc.tuple(seeds, floodShape, floodShape, fc.boolean()).map(([v, once, twice, again]) => {
        const bytes = flood(v.bytes, once)
        return { ...v, bytes: again ? flood(bytes, twice) : bytes, genuine: false }
      }),
      weight: 1
    }
  )
}

/** `mutatedBytes` for `{ bytes, ... }` messages (see `bytesInputCarrying`). */
export function mutatedCarrying (valid, merge) {
  return fc.tuple(valid, valid, fc.array(mutation, { minLength: 1, maxLength: 5 }))
    .map(([a, b, mutations]) => ({ ...merge(a, b), bytes: mutations.reduce((x, m) => applyMutation(x, m, b.bytes), a.bytes), genuine: false }))
}

/** One to `max` mutations of one byte string (`other` is what a splice draws on). */
export function mutationsOf (max = 5) {
  return fc.array(mutation, { minLength: 1, maxLength: max })
}

export function mutate (bytes, mutations, other = bytes) {
  return mutations.reduce((x, m) => applyMutation(x, m, other), bytes)
}

/** Bytes of input above which targets check only the decoder (state checks cost per record). */
export const STATE_CHECK_MAX_BYTES = 64 * 1024

/**
 * Runs `decode(bytes)` and fails when it made memory grow by more than 32 MiB + 24 × the
 * input: a decoder must refuse garbage before building objects for all of it. (A batch of
 * valid records with small JSON values decodes to 13-22 × its size; 4 MiB of empty
 * `removes` entries used to become ~100 MiB before the first record was checked.)
 */
export function decodeBounded (bytes, decode) {
  const before = heapNow()
  try {
    return decode(bytes)
  } finally {
    const grown = heapNow() - before
    const bound = 32 * 1024 * 1024 + 24 * bytes.byteLength
    if (grown > bound) fail(`decoding ${bytes.byteLength} bytes made memory grow by ${(grown / 1_048_576).toFixed(1)} MiB (bound ${(bound / 1_048_576).toFixed(1)} MiB)`)
  }
}

/** v8's heap plus external memory (ArrayBuffers), in bytes: cheap enough to read per input. */
export function heapNow () {
  const h = v8.getHeapStatistics()
  return h.used_heap_size + h.external_memory
}

// --- text --------------------------------------------------------------------------------

const textMutation = fc.record({
  op: fc.constantFrom('insert-token', 'insert-token', 'drop', 'duplicate', 'replace-char', 'truncate', 'splice'),
  a: fc.nat(),
  b: fc.nat(),
  char: anyChar
})

function applyTextMutation (text, m, other, tokens) {
  const len = text.length
  const at = len === 0 ? 0 : m.a % (len + 1)
  switch (m.op) {
    case 'insert-token':
      return text.slice(0, at) + tokens[m.b % tokens.length] + text.slice(at)
    case 'drop':
      return text.slice(0, at) + text.slice(at + 1 + (m.b % 8))
    case 'duplicate':
      return text.slice(0, at) + text.slice(at, at + 1 + (m.b % 40)) + text.slice(at)
    case 'replace-char':
      return text.slice(0, at) + m.char + text.slice(at + 1)
    case 'truncate':
      return text.slice(0, at)
    case 'splice':
      return text.slice(0, at) + other.slice(other.length === 0 ? 0 : m.b % other.length)
    default:
      return text
  }
}

/** Valid texts from `valid`, each put through one to four edits drawn from `tokens`. */
export function mutatedText (valid, tokens) {
  return fc.tuple(valid, valid, fc.array(textMutation, { minLength: 1, maxLength: 4 }))
    .map(([text, other, mutations]) => mutations.reduce((t, m) => applyTextMutation(t, m, other, tokens), text))
}
