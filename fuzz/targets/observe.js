// The observe part's wire messages: beacons on the gossipsub topic /hearsay/<network>/beacon/1.0.0,
// and trace requests and replies on the stream protocol /hearsay/<network>/trace/1.0.0. Each
// decoder returns a message within the limits that encodes back to itself, or throws
// MalformedObserveMessageError. A decoded beacon is then learned as the service does (the pure
// convergence core): what is known of the member only grows, and its lag stays a whole number.
// A rejected beacon leaves the knowledge as it was.

import {
  decodeBeacon, encodeBeacon, decodeTraceRequest, encodeTraceRequest, decodeTraceReply, encodeTraceReply,
  learnReport, lagEntries, MalformedObserveMessageError, OBSERVE_LIMITS
} from '../../dist/src/observe/index.js'
import { fc, anyString, bytesInput, check, checkSame, expectTyped, FuzzFailure } from '../lib.js'

const PEERS = [
  '12D3KooWEeYmKShrnVTSGN5epAhjSNbpSUxc9fknhT1GXjEstqtK',
  '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq',
  '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
]
const id = fc.oneof({ arbitrary: fc.constantFrom(...PEERS), weight: 4 }, { arbitrary: fc.string({ minLength: 1, maxLength: 40 }), weight: 1 }, { arbitrary: anyString, weight: 1 })
const seq = fc.oneof(fc.nat({ max: 50 }), fc.nat(), fc.constantFrom(2 ** 32, 2 ** 53 - 1))
const beacon = fc.record({
  vector: fc.dictionary(id, seq, { maxKeys: 5 }),
  digest: fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), fc.string({ maxLength: 20 })),
  keys: fc.nat(),
  connections: fc.array(id, { maxLength: 4 }),
  mesh: fc.array(fc.record({ topic: fc.string({ minLength: 1, maxLength: 40 }), peers: fc.array(id, { maxLength: 4 }) }), { maxLength: 3 })
})
const dot = fc.record({ replica: id, seq: seq.filter((s) => s > 0) })
const answer = fc.oneof(
  fc.record({ status: fc.constant('applied'), path: fc.constantFrom('local', 'gossip', 'anti-entropy'), from: id, receivedAt: fc.nat(), appliedAt: fc.nat() }),
  fc.record({ status: fc.constantFrom('held', 'missing') })
)
const encodes = (arb, encode) => arb.map((m) => {
  try {
    return encode(m)
  } catch {
    // Some generated values do not encode at all (a number the wire type cannot hold): no seed.
    return new Uint8Array(0)
  }
})

const MINE = { [PEERS[0]]: 40, [PEERS[1]]: 7 }
const BEFORE = learnReport(undefined, { vector: { [PEERS[0]]: 30 }, digest: 'a'.repeat(64), keys: 3, at: 1_000, source: 'beacon' })

function checkId (value, max, what) {
  check(typeof value === 'string' && value.length > 0 && value.length <= max, `decoded a bad ${what}: ${JSON.stringify(value)?.slice(0, 80)}`)
}

function checkVector (vector, what) {
  check(Object.keys(vector).length <= OBSERVE_LIMITS.maxVectorEntries, `${what}: more replicas than the limit`)
  for (const [replica, n] of Object.entries(vector)) {
    checkId(replica, OBSERVE_LIMITS.maxIdLength, `${what} replica id`)
    check(Number.isSafeInteger(n) && n >= 0, `${what}: seq ${n}`)
  }
}

function runBeacon (bytes) {
  let decoded
  try {
    decoded = decodeBeacon(bytes)
  } catch (err) {
    expectTyped(err, [MalformedObserveMessageError], 'decodeBeacon')
    // Rejected: nothing is learned (the service drops it before learnReport).
    return
  }
  checkVector(decoded.vector, 'beacon vector')
  check(decoded.digest.length <= OBSERVE_LIMITS.maxIdLength, 'digest over the limit')
  check(Number.isSafeInteger(decoded.keys) && decoded.keys >= 0, `key count ${decoded.keys}`)
  check(decoded.connections.length <= OBSERVE_LIMITS.maxPeers, 'connections over the limit')
  check(decoded.mesh.length <= OBSERVE_LIMITS.maxTopics, 'topics over the limit')
  for (const p of decoded.connections) checkId(p, OBSERVE_LIMITS.maxIdLength, 'PeerId')
  for (const m of decoded.mesh) {
    checkId(m.topic, OBSERVE_LIMITS.maxTopicLength, 'topic')
    for (const p of m.peers) checkId(p, OBSERVE_LIMITS.maxIdLength, 'mesh PeerId')
  }
  checkSame(decodeBeacon(encodeBeacon(decoded)), decoded, 'a decoded beacon after a trip through the codec')
  const after = learnReport(BEFORE, { vector: decoded.vector, digest: decoded.digest, keys: decoded.keys, at: 2_000, source: 'beacon' })
  checkVector(after.known, 'known vector')
  for (const [replica, n] of Object.entries(BEFORE.known)) check((after.known[replica] ?? 0) >= n, 'learning a beacon made the known vector go back')
  const lag = lagEntries(MINE, after.known)
  check(Number.isSafeInteger(lag) && lag >= 0, `lag ${lag}`)
}

function runRequest (bytes) {
  let dots
  try {
    dots = decodeTraceRequest(bytes)
  } catch (err) {
    expectTyped(err, [MalformedObserveMessageError], 'decodeTraceRequest')
    return
  }
  check(dots.length <= OBSERVE_LIMITS.maxTraceDots, 'more dots than the limit')
  for (const d of dots) {
    checkId(d.replica, OBSERVE_LIMITS.maxIdLength, 'dot replica')
    check(Number.isSafeInteger(d.seq) && d.seq > 0, `dot seq ${d.seq}`)
  }
  checkSame(decodeTraceRequest(encodeTraceRequest(dots)), dots, 'a decoded trace request after a trip through the codec')
}

function runReply (bytes, expected) {
  let answers
  try {
    answers = decodeTraceReply(bytes, expected)
  } catch (err) {
    expectTyped(err, [MalformedObserveMessageError], 'decodeTraceReply')
    return
  }
  check(answers.length === expected, `${answers.length} answers to ${expected} questions`)
  for (const a of answers) {
    check(['applied', 'held', 'missing'].includes(a.status), `status ${a.status}`)
    if (a.status === 'applied') {
      check(['local', 'gossip', 'anti-entropy'].includes(a.path), `path ${a.path}`)
      checkId(a.from, OBSERVE_LIMITS.maxIdLength, 'answer PeerId')
      check(Number.isSafeInteger(a.receivedAt) && a.receivedAt >= 0 && Number.isSafeInteger(a.appliedAt) && a.appliedAt >= 0, 'bad times')
    }
  }
  checkSame(decodeTraceReply(encodeTraceReply(answers), expected), answers, 'a decoded trace reply after a trip through the codec')
}

export default {
  name: 'observe',
  input: () => fc.oneof(
    fc.record({ kind: fc.constant('beacon'), bytes: bytesInput(encodes(beacon, encodeBeacon)) }),
    fc.record({ kind: fc.constant('request'), bytes: bytesInput(encodes(fc.array(dot, { maxLength: 6 }), encodeTraceRequest)) }),
    fc.record({ kind: fc.constant('reply'), bytes: bytesInput(encodes(fc.array(answer, { maxLength: 6 }), encodeTraceReply)), expected: fc.nat({ max: 6 }) })
  ),
  run (_context, input) {
    try {
      if (input.kind === 'beacon') runBeacon(input.bytes)
      else if (input.kind === 'request') runRequest(input.bytes)
      else runReply(input.bytes, input.expected)
    } catch (err) {
      if (err instanceof FuzzFailure) throw err
      throw new FuzzFailure(`${input.kind}: an exception escaped the checks: ${err?.stack ?? err}`)
    }
  }
}
