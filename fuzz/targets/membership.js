// Membership wire messages, as a peer receives them on /hearsay/<network>/membership/1.0.0:
// decodeMessage either returns a message every field of which the member table accepts as
// it is (and that encodes back to itself), or throws MalformedMembershipMessageError. The decoded
// updates are then applied to a member table as the service does; a rejected message
// leaves the table as it was, and an accepted one leaves it in a state it can send on.

import { decodeMessage, encodeMessage } from '../../dist/src/membership/codec.js'
import { MalformedMembershipMessageError } from '../../dist/src/membership/errors.js'
import { MEMBERSHIP_LIMITS } from '../../dist/src/membership/constants.js'
import { MemberTable, sanitizeUpdate, MAX_INCARNATION } from '../../dist/src/membership/state.js'
import { fc, anyString, bytesInput, check, checkSame, decodeBounded, expectTyped, FuzzFailure, same, STATE_CHECK_MAX_BYTES } from '../lib.js'

const SELF = '12D3KooWRco1nneqv127gRVUd1nHMQL7D7h47VMVHKtzJR5gNVNK'
const KNOWN = [
  '12D3KooWEeYmKShrnVTSGN5epAhjSNbpSUxc9fknhT1GXjEstqtK',
  '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq',
  '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo',
  '12D3KooWLRPJAA5o6MudtXrh7bDZnkdcC6DNRF4cimBQtgv7iFWW'
]
const NOW = 1_700_000_000_000
const TYPES = new Set(['ping', 'ack', 'ping-req', 'sync', 'sync-reply', 'gossip'])

const peerId = fc.oneof(
  { arbitrary: fc.constantFrom(SELF, ...KNOWN), weight: 4 },
  { arbitrary: fc.string({ minLength: 1, maxLength: 60 }), weight: 1 },
  { arbitrary: anyString, weight: 1 }
)
const address = fc.oneof(
  fc.constantFrom('/ip4/127.0.0.1/tcp/4001', '/ip4/10.0.0.1/tcp/1/p2p/' + KNOWN[0], '/ip6/::1/tcp/0', '/dns4/example.com/tcp/443/wss'),
  fc.string({ maxLength: 300 }).map((s) => '/' + s),
  anyString
)
// Everything a uint32 carries (the table never holds more, see MAX_INCARNATION).
const incarnation = fc.oneof(fc.nat({ max: 10 }), fc.nat({ max: MAX_INCARNATION }), fc.constantFrom(MAX_INCARNATION - 1, MAX_INCARNATION))
const update = fc.oneof(
  fc.record({
    kind: fc.constant('alive'),
    peerId,
    incarnation,
    addresses: fc.array(address, { maxLength: 4 }),
    priority: fc.oneof(fc.integer({ min: -10, max: 10 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
    tags: fc.dictionary(anyString, anyString, { maxKeys: 4 }),
    version: fc.oneof(fc.constantFrom('0.1.0', ''), anyString),
    protocols: fc.array(fc.oneof(fc.constantFrom('membership/1.0.0', 'meshsub/2.0.0'), anyString), { maxLength: 4 })
  }, { requiredKeys: ['kind', 'peerId', 'incarnation', 'addresses', 'priority', 'tags'] }),
  fc.record({ kind: fc.constantFrom('suspect', 'dead'), peerId, incarnation, from: peerId }),
  fc.record({ kind: fc.constant('left'), peerId, incarnation })
)
const message = fc.record({
  type: fc.constantFrom(...TYPES),
  target: fc.option(peerId, { nil: undefined }),
  targetAddresses: fc.option(fc.array(address, { maxLength: 3 }), { nil: undefined }),
  ok: fc.option(fc.boolean(), { nil: undefined }),
  updates: fc.array(update, { maxLength: 8 })
}, { requiredKeys: ['type', 'updates'] })

// Encoding is not validation: an encodable message may still be one the decoder refuses.
const validBytes = message.map((m) => encodeMessage(m))

/** A fresh table per input (so a counterexample replays on its own): self and four members in every state. */
function freshTable () {
  const table = new MemberTable({ peerId: SELF, addresses: ['/ip4/127.0.0.1/tcp/4001'], priority: 5, tags: { role: 'test' }, incarnation: 3 }, NOW - 10_000)
  table.apply({ kind: 'alive', peerId: KNOWN[0], incarnation: 1, addresses: ['/ip4/127.0.0.1/tcp/4002'], priority: 1, tags: {} }, NOW - 9_000)
  for (const [i, kind] of [[1, 'suspect'], [2, 'dead'], [3, 'left']]) {
    table.apply({ kind: 'alive', peerId: KNOWN[i], incarnation: 2, addresses: ['/ip4/127.0.0.1/tcp/4003'], priority: i, tags: { i: String(i) } }, NOW - 9_000)
    table.apply(kind === 'left' ? { kind, peerId: KNOWN[i], incarnation: 2 } : { kind, peerId: KNOWN[i], incarnation: 2, from: KNOWN[0] }, NOW - 8_000)
  }
  return table
}

/** Everything observable about the table. */
function snapshot (table) {
  return { members: table.members(), size: table.size() }
}

function checkMessage (m) {
  const L = MEMBERSHIP_LIMITS
  check(TYPES.has(m.type), `decoded an unknown type ${m.type}`)
  check(m.updates.length <= L.maxUpdates, 'more updates than the limit')
  check(m.target === undefined || (m.target.length > 0 && m.target.length <= L.maxPeerIdLength), 'bad target')
  check(m.type !== 'ping-req' || m.target !== undefined, 'ping-req without a target')
  for (const list of [m.targetAddresses ?? [], ...m.updates.map((u) => u.addresses ?? [])]) {
    check(list.length <= L.maxAddresses, 'more addresses than the limit')
    for (const a of list) check(a.length > 0 && a.length <= L.maxAddressLength && a[0] === '/', `bad address ${a}`)
  }
  for (const u of m.updates) {
    // The table's own check must take the update as it is: same fields, nothing dropped.
    checkSame(sanitizeUpdate(u), u, 'a decoded update, after the member table sanitized it')
    check(u.peerId.length <= L.maxPeerIdLength, 'peer id over the limit')
    if (u.kind === 'alive') {
      check(Object.keys(u.tags).length <= L.maxTags, 'more tags than the limit')
      check(Object.getPrototypeOf(u.tags) === Object.prototype, 'tags with a changed prototype')
      check(u.version === undefined || (u.version !== '' && u.version.length <= L.maxVersionLength), 'bad version')
      check(u.protocols === undefined || (u.protocols.length > 0 && u.protocols.length <= L.maxProtocols &&
        u.protocols.every((p) => p.length > 0 && p.length <= L.maxProtocolLength)), 'bad protocols')
    }
  }
}

function checkTable (table) {
  const self = table.get(SELF)
  check(self !== undefined && self.self && self.state === 'alive', 'the table lost its live self member')
  for (const member of table.members()) {
    check(Number.isSafeInteger(member.incarnation) && member.incarnation >= 0, `member ${member.peerId} has incarnation ${member.incarnation}`)
    check(member.self || member.incarnation <= MAX_INCARNATION, 'a remote incarnation above the maximum')
    check(Number.isFinite(member.priority), 'non-finite priority')
  }
  // Whatever the table holds, it must be able to send in a sync reply and read back.
  for (const u of table.snapshot()) {
    const wire = decodeMessage(encodeMessage({ type: 'sync-reply', updates: [u] }))
    checkSame(wire.updates[0], u, 'a snapshot update after a trip through the codec')
  }
}

/** What a message decodes to when nothing is lost: empty target, addresses and `ok: false` are not sent. */
function normalized (m) {
  // Plain objects, as the decoder builds them (fast-check's dictionaries have no prototype).
  const updates = m.updates.map((u) => {
    if (u.kind !== 'alive') return { ...u }
    const out = { ...u, tags: Object.fromEntries(Object.entries(u.tags)) }
    // Empty version and protocols are not sent: they arrive absent.
    if (out.version === '') delete out.version
    if (out.protocols !== undefined && out.protocols.length === 0) delete out.protocols
    return out
  })
  const out = { type: m.type, updates }
  if (m.target !== undefined && m.target !== '') out.target = m.target
  if (m.targetAddresses !== undefined && m.targetAddresses.length > 0) out.targetAddresses = m.targetAddresses
  if (m.ok === true) out.ok = true
  return out
}

export default {
  name: 'membership',
  // Bytes (raw, random fields, mutated messages), or a message object that must survive the wire.
  input: () => fc.oneof({ arbitrary: bytesInput(validBytes), weight: 9 }, { arbitrary: message.map((m) => ({ message: m })), weight: 1 }),
  run (_context, input) {
    let bytes = input
    if (!(input instanceof Uint8Array)) {
      bytes = encodeMessage(input.message)
      try {
        checkSame(decodeMessage(bytes), normalized(input.message), 'a message after a trip through the codec')
      } catch (err) {
        // Refusing it is fine (an empty peer id, a bad address): losing part of it silently is not.
        if (err instanceof FuzzFailure) throw err
        expectTyped(err, [MalformedMembershipMessageError])
      }
    }
    const table = freshTable()
    const before = snapshot(table)
    let decoded
    try {
      decoded = decodeBounded(bytes, decodeMessage)
    } catch (err) {
      expectTyped(err, [MalformedMembershipMessageError])
      // The service counts it and aborts the stream: nothing reaches the table.
      checkSame(snapshot(table), before, 'the table after a rejected message')
      return
    }
    checkMessage(decoded)
    if (bytes.byteLength > STATE_CHECK_MAX_BYTES) return
    checkSame(decodeMessage(encodeMessage(decoded)), decoded, 'a decoded message after encoding it again')
    for (const u of decoded.updates) {
      const outcome = table.apply(u, NOW)
      for (const b of outcome.broadcast) check(same(sanitizeUpdate(b), b), 'the table asked to broadcast an update it would refuse')
    }
    table.heard(KNOWN[0], NOW)
    checkTable(table)
  }
}
