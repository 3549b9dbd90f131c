import { describe, it, expect, afterEach } from 'vitest'
import fc from 'fast-check'
import { HearsayError } from '../../src/errors.js'
import { decodeMessage, encodeMessage, MalformedMembershipMessageError, type MembershipMessage } from '../../src/membership/index.js'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { createNetNode, decodeFrame, encodeFrame, FRAME_KIND, type NetNode } from '../../src/net/index.js'

const peerIdArb = fc.constantFrom('12D3KooWRco1nneqv127gRVUd1nHMQL7D7h47VMVHKtzJR5gNVNK', '12D3KooWEeYmKShrnVTSGN5epAhjSNbpSUxc9fknhT1GXjEstqtK')
const updateArb = fc.oneof(
  fc.record({
    kind: fc.constant('alive' as const),
    peerId: peerIdArb,
    incarnation: fc.nat(),
    addresses: fc.array(fc.constant('/ip4/127.0.0.1/tcp/4001'), { maxLength: 3 }),
    priority: fc.integer({ min: -1000, max: 1000 }),
    tags: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    version: fc.constantFrom('0.1.0', '1.2.3-beta.1'),
    protocols: fc.uniqueArray(fc.constantFrom('membership/1.0.0', 'kv/1.0.0', 'meshsub/2.0.0'), { minLength: 1, maxLength: 3 })
  }, { requiredKeys: ['kind', 'peerId', 'incarnation', 'addresses', 'priority', 'tags'] }),
  fc.record({ kind: fc.constantFrom('suspect' as const, 'dead' as const), peerId: peerIdArb, incarnation: fc.nat(), from: peerIdArb }),
  fc.record({ kind: fc.constant('left' as const), peerId: peerIdArb, incarnation: fc.nat() })
)
const messageArb: fc.Arbitrary<MembershipMessage> = fc.record({
  type: fc.constantFrom('ping' as const, 'ack' as const, 'sync' as const, 'sync-reply' as const, 'gossip' as const),
  updates: fc.array(updateArb, { maxLength: 5 })
})

describe('membership wire codec', () => {
  it('round-trips every valid message', () => {
    fc.assert(fc.property(messageArb, (m) => {
      expect(decodeMessage(encodeMessage(m))).toEqual(m)
    }))
  })

  it('random bytes and mutated messages either decode to a valid message or throw MalformedMembershipMessageError', () => {
    const mutated = fc.tuple(messageArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }))
      .map(([m, flips]) => {
        const bytes = encodeMessage(m)
        for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value
        return bytes
      })
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), mutated), (bytes) => {
      try {
        const m = decodeMessage(bytes)
        for (const u of m.updates) {
          expect(u.peerId.length).toBeGreaterThan(0)
          expect(Number.isSafeInteger(u.incarnation) && u.incarnation >= 0).toBe(true)
        }
      } catch (err) {
        expect(err).toBeInstanceOf(MalformedMembershipMessageError)
      }
    }), { numRuns: 2_000 })
  })

  // The three below were found by fuzzing (fuzz/targets/membership.js).
  it('a malformed message throws a HearsayError with a code', () => {
    const err = (() => { try { decodeMessage(Uint8Array.of(0)) } catch (e) { return e } })()
    expect(err).toBeInstanceOf(MalformedMembershipMessageError)
    expect(err).toBeInstanceOf(HearsayError)
    expect(err).toMatchObject({ code: 'ERR_MALFORMED_MEMBERSHIP_MESSAGE', name: 'MalformedMembershipMessageError' })
  })

  it('refuses strings that are not UTF-8, which would be gossiped on as other text', () => {
    const good = encodeMessage({ type: 'gossip', updates: [{ kind: 'left', peerId: 'p-AB', incarnation: 1 }] })
    const at = Buffer.from(good).indexOf('p-AB')
    const bad = good.slice()
    bad[at + 2] = 0xff
    expect(() => decodeMessage(bad)).toThrow(/peer id is not valid UTF-8/)
  })

  it('a tag named __proto__ arrives as a tag', () => {
    const tags = JSON.parse('{"__proto__":"x","zone":"b"}') as Record<string, string>
    const m: MembershipMessage = {
      type: 'gossip',
      updates: [{ kind: 'alive', peerId: 'p', incarnation: 1, addresses: [], priority: 0, tags }]
    }
    const decoded = decodeMessage(encodeMessage(m))
    const update = decoded.updates[0]
    expect(update?.kind === 'alive' && Object.hasOwn(update.tags, '__proto__')).toBe(true)
    expect(decoded).toEqual(m)
  })

  it('carries the version and protocols a member announces, and refuses oversized ones', () => {
    const announce = (version: string, protocols: string[]): MembershipMessage => ({
      type: 'gossip',
      updates: [{ kind: 'alive', peerId: 'p', incarnation: 1, addresses: [], priority: 0, tags: {}, version, protocols }]
    })
    const m = announce('0.1.0', ['election/1.0.0', 'membership/1.0.0'])
    expect(decodeMessage(encodeMessage(m))).toEqual(m)
    expect(() => decodeMessage(encodeMessage(announce('9'.repeat(65), ['kv/1.0.0'])))).toThrow(/version too long/)
    expect(() => decodeMessage(encodeMessage(announce('0.1.0', ['x'.repeat(129)])))).toThrow(/bad protocol/)
    expect(() => decodeMessage(encodeMessage(announce('0.1.0', Array.from({ length: 33 }, (_, i) => `p${i}/1.0.0`))))).toThrow(MalformedMembershipMessageError)
  })

  it('refuses a message with more updates than the limit', () => {
    const many: MembershipMessage = {
      type: 'sync',
      updates: Array.from({ length: 5_000 }, (_, i) => ({ kind: 'left' as const, peerId: `p${i}`, incarnation: 1 }))
    }
    expect(() => decodeMessage(encodeMessage(many))).toThrow(MalformedMembershipMessageError)
  })
})

describe('a live peer and bad membership input', () => {
  let cluster: Cluster | undefined
  let attacker: NetNode | undefined
  afterEach(async () => {
    await attacker?.stop()
    await cluster?.stop()
    cluster = undefined
  })

  it('drops and counts garbage without changing its view or stopping', async () => {
    cluster = await createCluster({ size: 2 })
    await cluster.converged({ timeout: 20_000 })
    const target = cluster.peers[0]!
    const before = target.members().map((m) => [m.peerId, m.state, m.incarnation])
    attacker = await createNetNode({}, { network: cluster.network, profile: 'local' })
    await attacker.start()
    const protocol = attacker.protocol('membership', '2.0.0')
    const garbage = [
      // Not a frame at all (an unknown kind), a request frame around bytes that are not a
      // membership message, and a request whose message breaks a limit.
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]),
      encodeFrame(FRAME_KIND.request, 1, new TextEncoder().encode('definitely not protobuf')),
      encodeFrame(FRAME_KIND.request, 2, encodeMessage({ type: 'gossip', updates: [{ kind: 'left', peerId: 'x'.repeat(500), incarnation: 1 }] }))
    ]
    for (const bytes of garbage) {
      const stream = await attacker.openStream(target.peerId, protocol, { addresses: target.addresses() })
      stream.send(bytes)
      // The peer ends a stream that carried garbage: no reply comes.
      expect(await stream.next({ timeout: 5_000 }).catch(() => undefined)).toBeUndefined()
      stream.abort()
    }
    await expect.poll(() => target.diagnostics.stats().membership.malformed, { timeout: 10_000 }).toBeGreaterThanOrEqual(garbage.length)
    expect(target.members().map((m) => [m.peerId, m.state, m.incarnation])).toEqual(before)
    // Still serving: a well-formed ping gets an ack.
    const stream = await attacker.openStream(target.peerId, protocol, { addresses: target.addresses() })
    stream.send(encodeFrame(FRAME_KIND.request, 7, encodeMessage({ type: 'ping', updates: [] })))
    const reply = decodeFrame((await stream.next({ timeout: 5_000 }))!, 1_048_576)
    expect(reply).toMatchObject({ kind: FRAME_KIND.reply, id: 7 })
    expect(decodeMessage(reply.body).type).toBe('ack')
    await stream.close()
  })
})
