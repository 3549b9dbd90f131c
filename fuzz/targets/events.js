// User events and queries on the gossipsub topic /hearsay/<network>/events/1.0.0 (inside their
// sender's sealed envelope), and query answers on the stream protocol /hearsay/<network>/query/1.0.0.
// decodeUserMessage and decodeQueryAnswer either return a message within the limits that encodes
// back to itself, or throw MalformedEventError / EventTooLargeError. Decoded payloads are plain
// JSON that survives JSON.stringify unchanged (no Infinity, no depth past the limit), since
// listeners and the HTTP stream pass them on as they are.

import {
  decodeQueryAnswer, decodeUserMessage, encodeQueryAnswer, encodeUserMessage, EventTooLargeError, jsonProblem,
  MalformedEventError, EVENT_LIMITS, EVENT_NAME_PATTERN, MAX_QUERY_TIMEOUT
} from '../../dist/src/events/index.js'
import { fc, anyString, bytesInput, check, checkSame, decodeBounded, expectTyped, FuzzFailure } from '../lib.js'

/** Small limits, so inputs reach them; the default ones are checked too. */
const LIMITS = [{ maxPayloadBytes: 256, maxPayloadDepth: 4 }, {}]

const name = fc.oneof({ arbitrary: fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,12}$/), weight: 4 }, { arbitrary: anyString, weight: 1 })
const json = fc.jsonValue({ maxDepth: 6 })
const payloadText = fc.oneof(
  { arbitrary: json.map((v) => JSON.stringify(v)), weight: 6 },
  { arbitrary: fc.constantFrom('1e400', '-1e400', '[[[[[[[[1]]]]]]]]', '{"__proto__":{"x":1}}', '"\\ud800"', '', 'nul', '{"a":'), weight: 2 },
  { arbitrary: anyString, weight: 1 }
)
const message = fc.record({
  kind: fc.constantFrom('event', 'query'),
  id: fc.oneof({ arbitrary: fc.uint8Array({ minLength: 16, maxLength: 16 }), weight: 6 }, { arbitrary: fc.uint8Array({ maxLength: 20 }), weight: 1 }),
  name,
  payload: payloadText,
  at: fc.oneof(fc.integer({ min: 1, max: 2 ** 45 }), fc.constantFrom(0, 2 ** 53 - 1)),
  timeout: fc.oneof(fc.constantFrom(0, 1, MAX_QUERY_TIMEOUT, MAX_QUERY_TIMEOUT + 1), fc.nat({ max: 100_000 }))
})
const answer = fc.oneof(
  fc.record({ id: fc.uint8Array({ minLength: 16, maxLength: 16 }), payload: payloadText }),
  fc.record({ id: fc.uint8Array({ minLength: 16, maxLength: 16 }), error: anyString })
)
const encodes = (arb, encode) => arb.map((m) => {
  try {
    return encode(m)
  } catch {
    return new Uint8Array(0)
  }
})

function checkPayload (payload, limits) {
  const depth = limits.maxPayloadDepth ?? 64
  check(jsonProblem(payload, depth) === undefined, `decoded a payload that is not plain JSON: ${jsonProblem(payload, depth)}`)
  const bytes = Buffer.byteLength(JSON.stringify(payload), 'utf8')
  // Re-encoding may only shorten what came (whitespace, escapes), never past the limit by more than escapes allow.
  check(bytes <= 6 * (limits.maxPayloadBytes ?? 65_536), `a payload of ${bytes} bytes got through`)
}

function runMessage (bytes, limits) {
  let decoded
  try {
    decoded = decodeBounded(bytes, (b) => decodeUserMessage(b, limits))
  } catch (err) {
    expectTyped(err, [MalformedEventError, EventTooLargeError], 'decodeUserMessage')
    return
  }
  check(decoded.kind === 'event' || decoded.kind === 'query', `kind ${decoded.kind}`)
  check(decoded.id.byteLength === EVENT_LIMITS.idBytes, 'id of the wrong length')
  check(EVENT_NAME_PATTERN.test(decoded.name), `name ${JSON.stringify(decoded.name)}`)
  check(Number.isSafeInteger(decoded.at) && decoded.at > 0, `time ${decoded.at}`)
  check(decoded.kind === 'event' ? decoded.timeout === 0 : decoded.timeout >= 1 && decoded.timeout <= MAX_QUERY_TIMEOUT, `timeout ${decoded.timeout}`)
  checkPayload(decoded.payload, limits)
  const again = encodeUserMessage({ ...decoded, payload: JSON.stringify(decoded.payload) })
  checkSame(decodeUserMessage(again, {}), decoded, 'a decoded message after a trip through the codec')
}

function runAnswer (bytes, limits) {
  let decoded
  try {
    decoded = decodeBounded(bytes, (b) => decodeQueryAnswer(b, limits))
  } catch (err) {
    expectTyped(err, [MalformedEventError, EventTooLargeError], 'decodeQueryAnswer')
    return
  }
  check(decoded.id.byteLength === EVENT_LIMITS.idBytes, 'id of the wrong length')
  check(('payload' in decoded) !== ('error' in decoded), 'an answer with both or neither of payload and error')
  if ('error' in decoded) {
    check(typeof decoded.error === 'string' && decoded.error.length <= EVENT_LIMITS.maxErrorLength, 'error over its limit')
    checkSame(decodeQueryAnswer(encodeQueryAnswer(decoded)), decoded, 'a decoded answer after a trip through the codec')
  } else {
    checkPayload(decoded.payload, limits)
    checkSame(decodeQueryAnswer(encodeQueryAnswer({ id: decoded.id, payload: JSON.stringify(decoded.payload) })), decoded,
      'a decoded answer after a trip through the codec')
  }
}

export default {
  name: 'events',
  input: () => fc.record({
    kind: fc.constantFrom('message', 'answer'),
    message: bytesInput(encodes(message, encodeUserMessage)),
    answer: bytesInput(encodes(answer, encodeQueryAnswer)),
    limits: fc.constantFrom(...LIMITS)
  }),
  run (_context, input) {
    try {
      if (input.kind === 'message') runMessage(input.message, input.limits)
      else runAnswer(input.answer, input.limits)
    } catch (err) {
      if (err instanceof FuzzFailure) throw err
      throw new FuzzFailure(`${input.kind}: an exception escaped the checks: ${err?.stack ?? err}`)
    }
  }
}
