import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  checkName, cutError, decodePayload, decodeQueryAnswer, decodeUserMessage, encodePayload, encodeQueryAnswer, encodeUserMessage,
  EventTooLargeError, InvalidEventNameError, InvalidPayloadError, MalformedEventError, QueryCollector, EVENT_LIMITS
} from '../../src/events/index.js'
import { QueryAnswer as WireAnswer } from '../../src/events/pb/events.js'
import { HearsayError } from '../../src/errors.js'

const id = new Uint8Array(16).fill(7)
const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown)
const name = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,20}$/)

function message (overrides: Partial<Parameters<typeof encodeUserMessage>[0]> = {}): Uint8Array {
  return encodeUserMessage({ kind: 'event', id, name: 'deploy', payload: '{"v":3}', at: 1_700_000_000_000, timeout: 0, ...overrides })
}

function expectRefused (decode: () => unknown, code: string): void {
  let caught: unknown
  try {
    decode()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(HearsayError)
  expect((caught as HearsayError).code).toBe(code)
}

describe('names and payloads', () => {
  it('names are 1-128 characters of a small alphabet', () => {
    for (const good of ['deploy', 'app.reload', 'svc:restart', '_x', 'a'.repeat(128), 'v1+2@east-1']) expect(checkName(good)).toBe(good)
    for (const bad of ['', '-x', 'a b', 'a/b', 'é', 'a'.repeat(129), 42, undefined]) expect(() => checkName(bad)).toThrow(InvalidEventNameError)
  })

  it('a payload is plain JSON within the size and depth limits; undefined is sent as null', () => {
    expect(encodePayload(undefined, 100, 4)).toBe('null')
    expect(encodePayload({ a: [1, 'x'] }, 100, 4)).toBe('{"a":[1,"x"]}')
    expect(() => encodePayload({ f: () => 1 }, 100, 4)).toThrow(InvalidPayloadError)
    expect(() => encodePayload(Number.NaN, 100, 4)).toThrow(InvalidPayloadError)
    expect(() => encodePayload(new Date(), 100, 4)).toThrow(InvalidPayloadError)
    expect(() => encodePayload([[[[[1]]]]], 100, 4)).toThrow(InvalidPayloadError)
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(() => encodePayload(circular, 100, 4)).toThrow(InvalidPayloadError)
    expect(() => encodePayload('x'.repeat(99), 100, 4)).toThrow(EventTooLargeError)
    expect(encodePayload('é'.repeat(49), 100, 4)).toHaveLength(51)
    expect(() => encodePayload('é'.repeat(50), 100, 4)).toThrow(EventTooLargeError)
  })

  it('a received payload that is not JSON, too deep, or not finite is malformed', () => {
    expect(decodePayload('{"a":1}', 100, 4)).toEqual({ a: 1 })
    // As JSON.stringify would have sent it: -0 is 0 (a fuzz finding).
    expect(Object.is(decodePayload('-0', 100, 4), 0)).toBe(true)
    const zeros = decodePayload('[-0, -0.0e3, -7e-723, "-0", {"z": -0}]', 100, 4) as [number, number, number, string, { z: number }]
    expect([zeros[0], zeros[1], zeros[2], zeros[4].z].every((n) => Object.is(n, 0))).toBe(true)
    expect(zeros[3]).toBe('-0')
    expect(() => decodePayload('{', 100, 4)).toThrow(MalformedEventError)
    expect(() => decodePayload('1e400', 100, 4)).toThrow(MalformedEventError)
    expect(() => decodePayload('[[[[[1]]]]]', 100, 4)).toThrow(MalformedEventError)
    expect(() => decodePayload('"' + 'x'.repeat(200) + '"', 100, 4)).toThrow(EventTooLargeError)
    // Deep enough to break a recursive parser or checker: refused, not a stack overflow.
    expect(() => decodePayload('['.repeat(100_000) + ']'.repeat(100_000), 1_000_000, 64)).toThrow(HearsayError)
  })
})

describe('user messages', () => {
  it('events and queries survive the codec', () => {
    fc.assert(fc.property(fc.constantFrom('event' as const, 'query' as const), fc.uint8Array({ minLength: 16, maxLength: 16 }), name, json,
      fc.integer({ min: 1, max: 2 ** 50 }), fc.integer({ min: 1, max: 60_000 }), (kind, mid, n, payload, at, timeout) => {
        const bytes = encodeUserMessage({ kind, id: mid, name: n, payload: JSON.stringify(payload), at, timeout: kind === 'query' ? timeout : 0 })
        expect(decodeUserMessage(bytes)).toEqual({ kind, id: mid, name: n, payload, at, timeout: kind === 'query' ? timeout : 0 })
      }))
  })

  it('refuses what breaks a limit, each with a typed error', () => {
    expectRefused(() => decodeUserMessage(message({ id: new Uint8Array(15) })), 'ERR_MALFORMED_EVENT')
    expectRefused(() => decodeUserMessage(message({ name: 'a b' })), 'ERR_MALFORMED_EVENT')
    expectRefused(() => decodeUserMessage(message({ at: 0 })), 'ERR_MALFORMED_EVENT')
    expectRefused(() => decodeUserMessage(message({ timeout: 5 })), 'ERR_MALFORMED_EVENT')
    expectRefused(() => decodeUserMessage(message({ kind: 'query', timeout: 0 })), 'ERR_MALFORMED_EVENT')
    expectRefused(() => decodeUserMessage(message({ kind: 'query', timeout: 60_001 })), 'ERR_MALFORMED_EVENT')
    expectRefused(() => decodeUserMessage(message({ payload: 'not json' })), 'ERR_MALFORMED_EVENT')
    // An event's kind (0) is not on the wire: prepend field 1 = 7, a kind no version knows.
    expectRefused(() => decodeUserMessage(Uint8Array.from([0x08, 0x07, ...message()])), 'ERR_MALFORMED_EVENT')
    expectRefused(() => decodeUserMessage(Uint8Array.of(0x0a, 0xff)), 'ERR_MALFORMED_EVENT')
    // A payload over this peer's limit, whatever the sender's was.
    expectRefused(() => decodeUserMessage(message({ payload: JSON.stringify('x'.repeat(2_000)) }), { maxPayloadBytes: 1_000 }), 'ERR_EVENT_TOO_LARGE')
    expectRefused(() => decodeUserMessage(new Uint8Array(1_000 + EVENT_LIMITS.overheadBytes + 1), { maxPayloadBytes: 1_000 }), 'ERR_EVENT_TOO_LARGE')
  })

  it('refuses any garbage with a typed error, never another exception', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        decodeUserMessage(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(HearsayError)
        expect([MalformedEventError.code, EventTooLargeError.code]).toContain((err as HearsayError).code)
      }
    }))
  })
})

describe('query answers', () => {
  it('carry exactly one of a payload and an error', () => {
    expect(decodeQueryAnswer(encodeQueryAnswer({ id, payload: '{"cpu":0.1}' }))).toEqual({ id, payload: { cpu: 0.1 } })
    expect(decodeQueryAnswer(encodeQueryAnswer({ id, error: 'no disk' }))).toEqual({ id, error: 'no disk' })
    expectRefused(() => decodeQueryAnswer(WireAnswer.encode({ id })), 'ERR_MALFORMED_EVENT')
    expectRefused(() => decodeQueryAnswer(WireAnswer.encode({ id, payload: '1', error: 'x' })), 'ERR_MALFORMED_EVENT')
    expectRefused(() => decodeQueryAnswer(WireAnswer.encode({ id, error: 'x'.repeat(EVENT_LIMITS.maxErrorLength + 1) })), 'ERR_MALFORMED_EVENT')
    expectRefused(() => decodeQueryAnswer(WireAnswer.encode({ id: new Uint8Array(3), payload: '1' })), 'ERR_MALFORMED_EVENT')
  })

  it('a long or ill-formed error is cut to the limit and made well-formed, so it always decodes', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 3_000 }), (text) => {
      const cut = cutError(text)
      expect(cut.length).toBeLessThanOrEqual(EVENT_LIMITS.maxErrorLength)
      expect(decodeQueryAnswer(encodeQueryAnswer({ id, error: text }))).toEqual({ id, error: cut })
    }))
  })
})

describe('QueryCollector', () => {
  it('completes once every member asked has answered; the first answer of each counts', () => {
    let completed = 0
    const collector = new QueryCollector({ id: 'q', name: 'load', asked: ['A', 'B', 'C'], maxResponses: 10, onComplete: () => { completed++ } })
    expect(collector.add({ peerId: 'B', payload: 1 })).toBe('added')
    expect(collector.add({ peerId: 'B', payload: 2 })).toBe('duplicate')
    expect(collector.add({ peerId: 'X', error: 'boom' })).toBe('added')
    expect(collector.complete).toBe(false)
    expect(collector.result()).toEqual({ id: 'q', name: 'load', responses: [{ peerId: 'B', payload: 1 }, { peerId: 'X', error: 'boom' }], missing: ['A', 'C'] })
    collector.add({ peerId: 'C', payload: null })
    collector.add({ peerId: 'A', payload: 'a' })
    expect(collector.complete).toBe(true)
    expect(completed).toBe(1)
    expect(collector.result().missing).toEqual([])
  })

  it('keeps at most maxResponses answers', () => {
    const collector = new QueryCollector({ id: 'q', name: 'n', asked: [], maxResponses: 2, onComplete: () => {} })
    expect(collector.complete).toBe(true)
    expect(['A', 'B', 'C'].map((p) => collector.add({ peerId: p, payload: p }))).toEqual(['added', 'added', 'full'])
  })
})
