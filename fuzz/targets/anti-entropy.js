// The anti-entropy stream (/hearsay/<network>/sync/2.0.0) as one side of a session sees it:
// a sequence of frames from a peer, each raw, valid or mutated. decodeSyncFrame either
// returns a frame that encodes back to itself or throws MalformedSyncMessageError (the
// session is then aborted, as the service does). Frames are handled as the service handles
// them, over a store holding a small history (each record with its seal): a HELLO is
// answered (horizon offer, the records since the peer's vector relayed in sealed batches
// that open) without changing the store; the batch of a RECORDS frame is a message of
// sealed batches, decoded, each seal checked with the real verifier (see gossip.js: only
// genuine records get through) and applied record by record, a refused message, seal or
// record changing nothing; and however the session ends, no record the store held is
// dropped unless the published GC horizon covers it: a peer cannot make us forget writes by
// inventing one.

import {
  CodecError, covers, decodeSealedBatches, decodeSyncFrame, DEFAULT_MAX_BATCH_RECORDS, dotKey, encodeSealedBatches, encodeSyncFrame,
  horizonFrames, horizonOffer, MalformedSyncMessageError, openSeal, ReplicaError, Session, settleOffer, SYNC_LIMITS, vectorLeq
} from '../../dist/src/replica/index.js'
import { fc, anyString, bytesInputCarrying, check, checkSame, decodeBounded, expectTyped, STATE_CHECK_MAX_BYTES } from '../lib.js'
import {
  A, B, C, HISTORY, HISTORY_VECTOR, L, mergeSeals, NO_SEALS, receiveSealed, replicaId, sealedMessage, seq, snapshot, freshStore,
  tamperedMessage, verify
} from '../replica.js'

const vector = fc.dictionary(replicaId, seq, { maxKeys: 5, noNullPrototype: true })
const smallVector = fc.dictionary(fc.constantFrom(A, B, C, L, 'Z'), fc.integer({ min: 0, max: 12 }), { maxKeys: 4, noNullPrototype: true })
/** Vectors at or below the history's own: horizons a store can adopt. */
const historyVector = fc.record(Object.fromEntries(Object.entries(HISTORY_VECTOR).map(([id, top]) => [id, fc.nat({ max: top })])), { requiredKeys: [], noNullPrototype: true })
const someVector = fc.oneof(fc.constant({}), historyVector, smallVector, vector)
const dotList = fc.tuple(replicaId, fc.uniqueArray(seq, { maxLength: 8 })).map(([r, seqs]) => [r, seqs.sort((a, b) => a - b)])

const otherFrame = fc.oneof(
  fc.record({
    type: fc.constant('hello'),
    vector: someVector,
    digest: fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9a-f]{64}$/), anyString),
    horizon: someVector,
    retired: fc.oneof(fc.constant(''), anyString)
  }, { noNullPrototype: true }),
  fc.constant({ type: 'done' }),
  fc.tuple(someVector, fc.array(dotList, { maxLength: 3 }), fc.integer({ min: 1, max: 6 }), fc.boolean())
    .map(([horizon, kept, chunk, complete]) => {
      const frames = horizonFrames(horizon, kept, chunk)
      return { ...frames[0], complete: frames[0].kept.length === 0 ? complete : false }
    })
)
/** Encoded frames, each with the seals its records were built with (see replica.js). */
const frameBytes = fc.oneof(
  { arbitrary: otherFrame.map((f) => ({ bytes: encodeSyncFrame(f), ...NO_SEALS })), weight: 3 },
  { arbitrary: sealedMessage.map((m) => ({ ...m, bytes: encodeSyncFrame({ type: 'records', batch: m.bytes }) })), weight: 2 },
  { arbitrary: tamperedMessage.map((m) => ({ ...m, bytes: encodeSyncFrame({ type: 'records', batch: m.bytes }) })), weight: 1 }
)
const bare = (bytes) => ({ bytes, ...NO_SEALS })
const HELLO = bare(encodeSyncFrame({ type: 'hello', vector: {}, digest: '', horizon: {}, retired: '' }))
const DONE = bare(encodeSyncFrame({ type: 'done' }))

/** A session's worth of frames: mostly starting with a HELLO and ending with DONE, so sessions get far. */
const anyFrame = bytesInputCarrying(frameBytes, NO_SEALS, (a, b) => ({ seals: mergeSeals(a, b), valid: false }), 160)
const mostlyValid = fc.oneof({ arbitrary: frameBytes, weight: 3 }, { arbitrary: anyFrame, weight: 1 })
const session = fc.record({
  first: fc.oneof({ arbitrary: fc.constant(HELLO), weight: 2 }, { arbitrary: frameBytes, weight: 1 }, { arbitrary: anyFrame, weight: 2 }),
  middle: fc.array(mostlyValid, { maxLength: 5 }),
  last: fc.oneof({ arbitrary: fc.constant(DONE), weight: 3 }, { arbitrary: anyFrame, weight: 1 }),
  published: fc.oneof(fc.constant({}), historyVector, fc.constant(HISTORY_VECTOR), smallVector, vector)
})

function checkFrame (f) {
  switch (f.type) {
    case 'hello':
      check(f.digest.length <= 128 && f.retired.length <= 128, 'digest over its limit')
      for (const v of [f.vector, f.horizon]) {
        check(Object.keys(v).length <= SYNC_LIMITS.maxVectorEntries, 'vector over its limit')
        for (const [r, s] of Object.entries(v)) check(r.length > 0 && r.length <= 128 && Number.isSafeInteger(s) && s >= 0, `bad vector entry ${r}=${s}`)
      }
      break
    case 'horizon': {
      let total = 0
      for (const [r, seqs] of f.kept) {
        check(r.length > 0 && r.length <= 128, 'bad replica in a dot list')
        total += seqs.length
        seqs.forEach((s, i) => check(Number.isSafeInteger(s) && s >= 1 && (i === 0 || s > seqs[i - 1]), 'dot list not strictly ascending'))
      }
      check(total <= SYNC_LIMITS.chunkDots, 'more dots than a HORIZON frame may carry')
      break
    }
    case 'records':
      check(f.batch instanceof Uint8Array, 'records without a batch')
      break
    case 'done':
      break
    default:
      check(false, `unknown frame type ${f.type}`)
  }
}

/** What the service does with a RECORDS frame: the receive path (see replica.js), its session learning what the peer sent. */
function receiveBatch (target, batch, seals, sessionState) {
  let decoded
  try {
    decoded = decodeBounded(batch, decodeSealedBatches)
  } catch (err) {
    expectTyped(err, [CodecError])
    sessionState.clean = false
    return
  }
  receiveSealed(target, decoded, { seals, session: sessionState })
}

/**
 * What the service sends for a HELLO: none of it may throw or change the store. The records
 * the peer lacks go as the service sends them (each with the seal that proves it, chunked into
 * RECORDS frames), and every batch of them must decode and open at the peer.
 */
function answerHello (target, hello) {
  const offer = horizonOffer(target.store, hello.horizon, hello.vector)
  for (const f of offer) checkSame(decodeSyncFrame(encodeSyncFrame(f)), f, 'a HORIZON frame we offer, after the codec')
  const missing = target.store.recordsSince(hello.vector)
  for (const r of missing) check(!covers(hello.vector, r.dot), 'offered a record the peer has')
  const { batches, unsealed } = target.provenance.relay(missing, SYNC_LIMITS.chunkBytes)
  check(unsealed.length === 0, 'a record of the history has no seal to send it with')
  let sent = 0
  for (const { bytes, records } of batches) {
    check(records <= DEFAULT_MAX_BATCH_RECORDS, 'a relayed batch holds more records than a message may')
    const frame = decodeSyncFrame(encodeSyncFrame({ type: 'records', batch: encodeSealedBatches([bytes]) }))
    for (const { batch } of decodeSealedBatches(frame.batch)) {
      openSeal(batch, verify)
      sent += batch.records.length
    }
  }
  check(sent === missing.length, 'records lost between the store and the wire')
}

export default {
  name: 'anti-entropy',
  input: () => session,
  format: (input) => ({ ...input, first: input.first.bytes, middle: input.middle.map((f) => f.bytes), last: input.last.bytes }),
  run (_context, input) {
    const target = freshStore()
    const held = HISTORY.map((r) => r.dot)
    const sessionState = new Session()
    let helloSeen = false
    let finished = false
    for (const { bytes, seals } of [input.first, ...input.middle, input.last]) {
      const before = snapshot(target)
      let f
      try {
        f = decodeBounded(bytes, decodeSyncFrame)
      } catch (err) {
        expectTyped(err, [MalformedSyncMessageError])
        checkSame(snapshot(target), before, 'the store after a malformed frame')
        break // the service aborts the session
      }
      checkFrame(f)
      if (bytes.byteLength > STATE_CHECK_MAX_BYTES) break // a flood: the decoder alone is checked
      checkSame(decodeSyncFrame(encodeSyncFrame(f)), f, 'a decoded frame after encoding it again')
      if (!helloSeen) {
        if (f.type !== 'hello') break // "expected HELLO": aborted
        helloSeen = true
        answerHello(target, f)
        checkSame(snapshot(target), before, 'the store after answering a HELLO')
        continue
      }
      if (f.type === 'done') {
        finished = true
        break
      }
      if (f.type === 'records') receiveBatch(target, f.batch, seals, sessionState)
      else {
        if (f.type === 'horizon') sessionState.offered(f)
        checkSame(snapshot(target), before, `the store after a ${f.type} frame`)
      }
    }
    if (finished) {
      const before = snapshot(target)
      try {
        settleOffer(target.store, sessionState, input.published)
      } catch (err) {
        expectTyped(err, [ReplicaError], 'settleOffer')
        checkSame(snapshot(target), before, 'the store after a horizon it could not settle')
      }
    }
    // Records of the history may go only below what the coordinator published.
    const now = new Set([...target.store.allRecords()].map((r) => dotKey(r.dot)))
    for (const d of held) {
      if (!now.has(dotKey(d))) check(covers(input.published, d), `record ${dotKey(d)} was dropped, above the published horizon ${JSON.stringify(input.published)}`)
    }
    check(vectorLeq(target.store.horizon(), input.published), `adopted the horizon ${JSON.stringify(target.store.horizon())}, above the published ${JSON.stringify(input.published)}`)
  }
}
