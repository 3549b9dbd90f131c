import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeBeacon, decodeTraceReply, decodeTraceRequest, encodeBeacon, encodeTraceReply, encodeTraceRequest, OBSERVE_LIMITS,
  type BeaconMessage, type TraceAnswer
} from '../../src/observe/index.js'
import { Beacon } from '../../src/observe/pb/beacon.js'
import { TraceEntry, TraceReply, TraceRequest } from '../../src/observe/pb/trace.js'

const id = fc.string({ minLength: 1, maxLength: 60 })
const count = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

const beacon: fc.Arbitrary<BeaconMessage> = fc.record({
  vector: fc.dictionary(id, count, { maxKeys: 8 }),
  digest: fc.string({ maxLength: 64 }),
  keys: count,
  connections: fc.array(id, { maxLength: 5 }),
  mesh: fc.array(fc.record({ topic: id, peers: fc.array(id, { maxLength: 4 }) }), { maxLength: 3 })
})

const answer: fc.Arbitrary<TraceAnswer> = fc.oneof(
  fc.record({ status: fc.constant('applied' as const), path: fc.constantFrom('local' as const, 'gossip' as const, 'anti-entropy' as const), from: id, receivedAt: count, appliedAt: count }),
  fc.constant({ status: 'held' as const }),
  fc.constant({ status: 'missing' as const })
)

describe('observe wire codec', () => {
  it('beacons survive a round trip', () => {
    fc.assert(fc.property(beacon, (b) => {
      expect(decodeBeacon(encodeBeacon(b))).toEqual(b)
    }))
  })

  it('trace requests and replies survive a round trip', () => {
    fc.assert(fc.property(fc.array(fc.record({ replica: id, seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) }), { maxLength: 20 }), (dots) => {
      expect(decodeTraceRequest(encodeTraceRequest(dots))).toEqual(dots)
    }))
    fc.assert(fc.property(fc.array(answer, { maxLength: 20 }), (answers) => {
      expect(decodeTraceReply(encodeTraceReply(answers), answers.length)).toEqual(answers)
    }))
  })

  it('a replica called __proto__ stays a vector entry', () => {
    const decoded = decodeBeacon(encodeBeacon({ vector: { ['__proto__']: 3 } as Record<string, number>, digest: 'd', keys: 0, connections: [], mesh: [] }))
    expect(Object.getPrototypeOf(decoded.vector)).toBe(Object.prototype)
    expect(Object.entries(decoded.vector)).toEqual([['__proto__', 3]])
  })

  it('refuses garbage, anything over a limit, and replies that do not match the question', () => {
    const malformed = { code: 'ERR_MALFORMED_OBSERVE_MESSAGE' }
    expect(() => decodeBeacon(Uint8Array.of(0xff, 0xff, 0xff))).toThrow(expect.objectContaining(malformed))
    const tooMany = Beacon.encode({ vector: [], digest: '', keys: 0, connections: Array.from({ length: OBSERVE_LIMITS.maxPeers + 1 }, (_, i) => `p${i}`), mesh: [] })
    expect(() => decodeBeacon(tooMany)).toThrow(expect.objectContaining(malformed))
    const longId = Beacon.encode({ vector: [{ replica: 'x'.repeat(OBSERVE_LIMITS.maxIdLength + 1), seq: 1 }], digest: '', keys: 0, connections: [], mesh: [] })
    expect(() => decodeBeacon(longId)).toThrow(expect.objectContaining(malformed))
    const twice = Beacon.encode({ vector: [{ replica: 'a', seq: 1 }, { replica: 'a', seq: 2 }], digest: '', keys: 0, connections: [], mesh: [] })
    expect(() => decodeBeacon(twice)).toThrow(expect.objectContaining(malformed))
    expect(() => decodeBeacon(new Uint8Array(OBSERVE_LIMITS.maxBeaconBytes + 1))).toThrow(expect.objectContaining(malformed))

    const manyDots = TraceRequest.encode({ dots: Array.from({ length: OBSERVE_LIMITS.maxTraceDots + 1 }, () => ({ replica: 'a', seq: 1 })) })
    expect(() => decodeTraceRequest(manyDots)).toThrow(expect.objectContaining(malformed))
    expect(() => decodeTraceRequest(TraceRequest.encode({ dots: [{ replica: 'a', seq: 0 }] }))).toThrow(expect.objectContaining(malformed))
    expect(() => decodeTraceRequest(TraceRequest.encode({ dots: [{ replica: '', seq: 1 }] }))).toThrow(expect.objectContaining(malformed))

    const reply = encodeTraceReply([{ status: 'missing' }])
    expect(() => decodeTraceReply(reply, 2)).toThrow(expect.objectContaining(malformed))
    const noSender = TraceReply.encode({ entries: [{ status: TraceEntry.Status.APPLIED, path: TraceEntry.Path.GOSSIP, from: '', receivedAt: 1, appliedAt: 1 }] })
    expect(() => decodeTraceReply(noSender, 1)).toThrow(expect.objectContaining(malformed))
  })
})

describe('observe decoders and text that is not UTF-8', () => {
  // Found by the observe fuzz target: such a string was accepted, and passed on (U+FFFD) as
  // different text than it arrived as.
  const poison = (bytes: Uint8Array, marker: string): Uint8Array => {
    const at = Buffer.from(bytes).indexOf(marker)
    expect(at).toBeGreaterThanOrEqual(0)
    const out = Uint8Array.from(bytes)
    out.fill(0xff, at, at + marker.length)
    return out
  }

  it('refuses a beacon whose replica id, digest or PeerId is not UTF-8', () => {
    const valid: BeaconMessage = { vector: { 'replica-MARK': 3 }, digest: 'digest-DGST', keys: 1, connections: ['peer-CONN'], mesh: [{ topic: 'kv', peers: ['peer-MESH'] }] }
    expect(decodeBeacon(encodeBeacon(valid))).toEqual(valid)
    for (const marker of ['MARK', 'DGST', 'CONN', 'MESH']) {
      expect(() => decodeBeacon(poison(encodeBeacon(valid), marker))).toThrow(expect.objectContaining({ code: 'ERR_MALFORMED_OBSERVE_MESSAGE' }))
    }
  })

  it('refuses a trace request or reply naming a peer that is not UTF-8', () => {
    expect(() => decodeTraceRequest(poison(encodeTraceRequest([{ replica: 'replica-MARK', seq: 1 }]), 'MARK'))).toThrow(expect.objectContaining({ code: 'ERR_MALFORMED_OBSERVE_MESSAGE' }))
    const reply = encodeTraceReply([{ status: 'applied', path: 'gossip', from: 'peer-MARK', receivedAt: 1, appliedAt: 2 }])
    expect(() => decodeTraceReply(poison(reply, 'MARK'), 1)).toThrow(expect.objectContaining({ code: 'ERR_MALFORMED_OBSERVE_MESSAGE' }))
  })
})
