// The varint length prefix every stream message travels in (src/net/stream.ts reads it with
// it-length-prefixed and the part's `maxMessageBytes`). Whatever the bytes and however the
// network chunks them: messages come out no longer than the limit, the same messages come
// out for every chunking, a length over the limit is refused at the header (before any of
// the claimed data is awaited or buffered), and the only errors are the library's own four,
// which the stream turns into MessageTooLargeError or an aborted stream.

import * as lp from 'it-length-prefixed'
import { MEMBERSHIP_LIMITS } from '../../dist/src/membership/constants.js'
import { SYNC_LIMITS } from '../../dist/src/replica/sync-codec.js'
import { fc, HUGE_VARINTS, check, checkSame, concat, fail, describeError, rawBytes, varint } from '../lib.js'

/** 64 is the election's limit; the others are membership's and anti-entropy's, and small ones to reach. */
const LIMITS = [0, 1, 16, 64, 1024, MEMBERSHIP_LIMITS.maxMessageBytes, SYNC_LIMITS.maxMessageBytes]
const ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError', 'UnexpectedEOFError'])

const frame = fc.record({
  payload: fc.uint8Array({ maxLength: 80 }),
  // A header that lies: claims more or less than follows, claims gigabytes, or is not a varint at all.
  header: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 6 },
    { arbitrary: fc.constantFrom(...HUGE_VARINTS).map((v) => varint(v)), weight: 2 },
    { arbitrary: fc.nat({ max: 200 }).map((n) => varint(n)), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: 12 }).map((n) => new Uint8Array(n).fill(0xff)), weight: 1 },
    { arbitrary: fc.constant(Uint8Array.of(0x80, 0x00)), weight: 1 }
  )
}).map(({ payload, header }) => concat(header ?? varint(payload.byteLength), payload))

const input = fc.record({
  bytes: fc.oneof({ arbitrary: fc.array(frame, { maxLength: 6 }).map((frames) => concat(...frames)), weight: 4 }, { arbitrary: rawBytes, weight: 1 }),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
  limit: fc.constantFrom(...LIMITS)
})

function chunked (bytes, cuts) {
  const points = [...new Set(cuts.map((c) => bytes.byteLength === 0 ? 0 : c % bytes.byteLength))].sort((a, b) => a - b)
  const chunks = []
  let from = 0
  for (const p of points) {
    chunks.push(bytes.subarray(from, p))
    from = p
  }
  chunks.push(bytes.subarray(from))
  return chunks
}

/** Runs the decoder over the chunks; the messages it yielded and the error it ended with. */
function decodeAll (chunks, limit) {
  const messages = []
  try {
    for (const message of lp.decode(chunks, { maxDataLength: limit })) messages.push(message.subarray())
  } catch (err) {
    if (err instanceof Waiting) return { messages, error: err.name }
    if (!(err instanceof Error) || !ERRORS.has(err.name)) fail(`the length-prefix decoder threw ${describeError(err)}`)
    return { messages, error: err.name }
  }
  return { messages, error: undefined }
}

export default {
  name: 'framing',
  input: () => input,
  run (_context, { bytes, cuts, limit }) {
    const whole = decodeAll([bytes], limit)
    const split = decodeAll(chunked(bytes, cuts), limit)
    for (const m of [...whole.messages, ...split.messages]) check(m.byteLength <= limit, `a ${m.byteLength}-byte message passed the ${limit}-byte limit`)
    checkSame(split.messages, whole.messages, 'messages when the same bytes arrive in other chunks')
    check((split.error === undefined) === (whole.error === undefined), `one chunking failed (${whole.error ?? split.error}) and another did not`)
    // Everything yielded is a prefix of the input, headers included.
    const used = whole.messages.reduce((n, m) => n + varint(m.byteLength).byteLength + m.byteLength, 0)
    check(used <= bytes.byteLength || whole.messages.length === 0, 'yielded more bytes than arrived')

    // A header claiming more than the limit is refused with the header and at most one more
    // byte in hand (a varint the library cannot read as a safe integer needs that byte to
    // pass its 8-byte header limit): it never waits for, or buffers, the data it claims.
    const first = bytes.byteLength > 0 ? claimed(bytes) : undefined
    if (first !== undefined && first.length > limit) {
      const outcome = decodeAll(endless(bytes.subarray(0, first.end)), limit)
      check(outcome.error === 'InvalidDataLengthError' || outcome.error === 'InvalidDataLengthLengthError',
        `a header claiming ${first.length} bytes over a ${limit}-byte limit ended in ${outcome.error ?? 'nothing'}`)
    }
  }
}

/** A stream that sends the header and one byte, then would block for ever (the decoder must not ask). */
function * endless (header) {
  yield header
  yield Uint8Array.of(0)
  throw new Waiting()
}

class Waiting extends Error {
  constructor () {
    super('the decoder waited for the claimed data')
    this.name = 'Waiting'
  }
}

/** The first header's claimed length and where it ends, when it is a varint of at most 8 bytes. */
function claimed (bytes) {
  let length = 0
  let scale = 1
  for (let i = 0; i < Math.min(bytes.byteLength, 8); i++) {
    length += (bytes[i] & 0x7f) * scale
    scale *= 128
    if (bytes[i] < 0x80) return { length, end: i + 1 }
  }
  return undefined
}
