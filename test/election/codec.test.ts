import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HearsayError } from '../../src/errors.js'
import { MAX_TERM } from '../../src/election/constants.js'
import { MalformedElectionMessageError } from '../../src/election/errors.js'
import { decodeElectionMessage, encodeElectionMessage, MAX_ELECTION_MESSAGE_BYTES } from '../../src/election/codec.js'
import type { ElectionMessage } from '../../src/election/state.js'

const TYPES = ['election', 'answer', 'coordinator', 'heartbeat'] as const
const ALL_TYPES = [...TYPES, 'ack']

function decodeError (bytes: Uint8Array): unknown {
  try {
    decodeElectionMessage(bytes, 'peer-a')
  } catch (err) {
    return err
  }
  return undefined
}

describe('election wire messages', () => {
  it('decode what was encoded; garbage and terms above MAX_TERM throw MalformedElectionMessageError', () => {
    const m: ElectionMessage = { type: 'heartbeat', term: MAX_TERM, from: 'peer-a' }
    expect(decodeElectionMessage(encodeElectionMessage(m), 'peer-a')).toEqual(m)
    expect(() => decodeElectionMessage(encodeElectionMessage({ ...m, term: MAX_TERM + 1 }), 'peer-a')).toThrow(MalformedElectionMessageError)
    expect(() => decodeElectionMessage(encodeElectionMessage({ ...m, term: Number.MAX_SAFE_INTEGER }), 'peer-a')).toThrow(MalformedElectionMessageError)
    expect(() => decodeElectionMessage(Uint8Array.of(0x08, 0x09), 'peer-a')).toThrow(MalformedElectionMessageError)
    expect(() => decodeElectionMessage(Uint8Array.of(0xff), 'peer-a')).toThrow(MalformedElectionMessageError)
  })

  it('the error is a HearsayError with a stable code and says what was wrong', () => {
    const err = decodeError(Uint8Array.of(0x08, 0x09))
    expect(err).toBeInstanceOf(HearsayError)
    expect(err).toMatchObject({ code: 'ERR_MALFORMED_ELECTION_MESSAGE', name: 'MalformedElectionMessageError' })
    expect((err as Error).message).toMatch(/^malformed election message: ./)
    expect((decodeError(encodeElectionMessage({ type: 'answer', term: MAX_TERM + 1, from: 'x' })) as Error).message).toMatch(/term/)
  })

  it('a message over the size limit is refused before it is parsed', () => {
    const padded = new Uint8Array(MAX_ELECTION_MESSAGE_BYTES + 1)
    padded.set(encodeElectionMessage({ type: 'election', term: 1, from: 'x' }))
    expect((decodeError(padded) as Error).message).toMatch(new RegExp(`over the limit of ${MAX_ELECTION_MESSAGE_BYTES}`))
    expect(decodeError(padded)).toBeInstanceOf(MalformedElectionMessageError)
  })

  it('every message round-trips, the sender is the authenticated one', () => {
    fc.assert(fc.property(fc.constantFrom(...TYPES), fc.integer({ min: 0, max: MAX_TERM }), fc.string(), (type, term, from) => {
      const m: ElectionMessage = { type, term, from }
      expect(decodeElectionMessage(encodeElectionMessage({ ...m, from: 'someone else' }), from)).toEqual(m)
    }), { numRuns: 500 })
  })

  it('claims carry their broadcast number, and an ACK the number it acknowledges and the prior support in ms', () => {
    fc.assert(fc.property(fc.constantFrom('coordinator', 'heartbeat') as fc.Arbitrary<'coordinator' | 'heartbeat'>, fc.integer({ min: 0, max: MAX_TERM }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (type, term, seq) => {
      const m: ElectionMessage = { type, term, from: 'peer-a', seq }
      expect(decodeElectionMessage(encodeElectionMessage(m), 'peer-a')).toEqual(m)
    }), { numRuns: 300 })
    fc.assert(fc.property(fc.integer({ min: 0, max: MAX_TERM }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (term, seq, prior) => {
      const m: ElectionMessage = { type: 'ack', term, from: 'peer-a', seq, prior }
      const bytes = encodeElectionMessage(m)
      expect(bytes.byteLength).toBeLessThanOrEqual(MAX_ELECTION_MESSAGE_BYTES)
      expect(decodeElectionMessage(bytes, 'peer-a')).toEqual(m)
    }), { numRuns: 300 })
  })

  it('random bytes either decode to a valid message or throw MalformedElectionMessageError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      let message: ElectionMessage
      try {
        message = decodeElectionMessage(bytes, 'peer-a')
      } catch (err) {
        expect(err).toBeInstanceOf(MalformedElectionMessageError)
        return
      }
      expect(ALL_TYPES).toContain(message.type)
      expect(Number.isSafeInteger(message.term) && message.term >= 0 && message.term <= MAX_TERM).toBe(true)
      expect(decodeElectionMessage(encodeElectionMessage(message), 'peer-a')).toEqual(message)
    }), { numRuns: 2_000 })
  })
})
