// Replicated writes as they arrive over gossipsub (a message on the kv topic is an encoded
// SealedBatches; so is the batch of an anti-entropy RECORDS frame): decodeSealedBatches
// either returns well-formed batches of records the store accepts as they are (each batch's
// own bytes decoding alone to the same batch, as the log keeps it), or throws a CodecError.
// Each batch's seal is then checked with the Ed25519 verifier peers use: it opens only when
// its author sealed exactly these records at these leaves (a batch that still opens after a
// mutation must mean what the genuine one meant), else BatchSealError changes nothing. New
// records are applied one by one as the receive path does; a refused or known record leaves
// the store as it was, and replicas that applied the same new records in opposite orders
// agree. The real receive path (Intake) on the same bytes must end in the same state with
// the same counts, persist only batches that open, and relay onward only batches that open.

import {
  CodecError, decodeSealedBatch, decodeSealedBatches, encodeSealedBatch, encodeSealedBatches, InvalidMessageError, openSeal,
  Provenance, signingBytes
} from '../../dist/src/replica/index.js'
import { Intake } from '../../dist/src/replica/intake.js'
import { newCounters } from '../../dist/src/replica/stats.js'
import { fc, bytesInputCarrying, check, checkSame, decodeBounded, describeError, expectTyped, fail, show, STATE_CHECK_MAX_BYTES } from '../lib.js'
import {
  A, B, C, L, WRITERS, applyEach, checkGenuine, checkRelayable, freshStore, genuineSeal, HISTORY_DOTS, isValid, mergeSeals, NO_SEALS, NOW,
  rarely, receiveSealed, recordsBy, registerSeal, sealedMessage, snapshot, tamperedMessage, verify
} from '../replica.js'

/** The 6 bytes ("\0hssb1") before a batch in the log entry that keeps it. */
const SEALED_MAGIC = Buffer.from('\0hssb1', 'latin1')

const message = fc.oneof(
  { arbitrary: bytesInputCarrying(sealedMessage, NO_SEALS, (a, b) => ({ seals: mergeSeals(a, b), valid: false }), 96), weight: 3 },
  { arbitrary: tamperedMessage, weight: 1 }
)
/** Mostly anyone may write; sometimes only some of the writers (a network with a writers list). */
const writers = rarely(fc.subarray([A, B, C, L]).map((ids) => new Set(ids)), 1, 3)

/** One author's records, sealed by it in one batch: the decoder refuses exactly what the store refuses. */
const sealedRecords = fc.nat({ max: WRITERS.length - 1 }).chain((w) => fc.record({ writer: fc.constant(w), records: recordsBy(w) }))

function sealedCheck ({ writer, records }) {
  const { id, sign } = WRITERS[writer]
  const valid = records.every(isValid)
  const sealed = new Provenance().sealOwn(id, records, sign, 1 << 20)
  check(sealed.length === 1, 'a few small records took more than one batch')
  const bytes = encodeSealedBatches(sealed.map((s) => s.bytes))
  let decoded
  try {
    decoded = decodeSealedBatches(bytes)
  } catch (err) {
    if (valid) fail(`a sealed batch of valid records was refused: ${describeError(err)}`)
    expectTyped(err, [InvalidMessageError])
  }
  const seals = new Map()
  if (decoded !== undefined) {
    check(valid, 'the decoder accepted a sealed batch holding a record the store refuses')
    const [{ batch }] = decoded
    // Valid records survive the wire unchanged (but for a signature of their own, which a seal replaces).
    checkSame(batch.records, records.map(({ signature: _, ...r }) => r), 'valid records after a trip through the sealed codec')
    checkSame(openSeal(batch, verify).leaves, records.map((_, i) => i), 'the leaves of a batch its author sealed')
    registerSeal(seals, batch)
  }
  return { bytes, seals, valid, genuine: true }
}

/** The batch's shape, and its own bytes (what a log entry keeps) decode alone to the same batch. */
function checkDecoded ({ batch, bytes }) {
  check(batch.author.length > 0 && batch.signature.byteLength > 0 && batch.records.length > 0, () => `an incomplete batch decoded: ${show(batch)}`)
  check(batch.leaves >= 1 && (batch.indices.length === 0 ? batch.records.length === batch.leaves : batch.indices.length === batch.records.length), () => `a batch whose records do not fit its tree decoded: ${show(batch)}`)
  for (const r of batch.records) {
    check(r.dot.replica === batch.author, 'a batch decoded with a record of another author')
    check(r.signature === undefined, 'a batch decoded with a record signed on its own')
    check(isValid(r), () => `the decoder returned a record the store refuses: ${show(r)}`)
  }
  checkSame(decodeSealedBatch(bytes), batch, 'a batch decoded from its own bytes (as the log keeps it)')
  checkSame(decodeSealedBatch(encodeSealedBatch({ ...batch, records: batch.records.map(signingBytes) })), batch, 'a decoded batch after encoding it again')
}

/** The real receive path on the same bytes: same state and counts as the model, persists only what opens, relays only what opens. */
function checkIntake (input, model, expected) {
  const peer = freshStore()
  const counters = newCounters()
  const persisted = []
  const intake = new Intake({
    state: peer.store,
    provenance: peer.provenance,
    counters,
    logDropped: () => {},
    verify,
    writers: () => input.writers,
    persist: (entries) => { persisted.push(...entries) },
    afterApply: () => {}
  })
  const { fresh } = intake.receive(input.message.bytes, { path: 'gossip', from: 'fuzz', receivedAt: NOW })
  checkSame(snapshot(peer), snapshot(model), 'the store after the receive path, against the step-by-step model')
  const counts = { malformed: counters.malformed, writesRemote: counters.writesRemote, rejected: counters.rejected, rejectedBatches: counters.rejectedBatches, duplicateBatches: counters.duplicateBatches, unauthorized: counters.unauthorized }
  checkSame(counts, expected, 'what the receive path counted')
  check(fresh === expected.writesRemote, 'the receive path returned another number of new records than it counted')
  for (const entry of persisted) {
    check(Buffer.from(entry.subarray(0, SEALED_MAGIC.length)).equals(SEALED_MAGIC), 'a persisted entry is not a sealed batch')
    const batch = decodeSealedBatch(entry.subarray(SEALED_MAGIC.length))
    checkGenuine(batch, openSeal(batch, verify), input.message.seals)
  }
  check(expected.writesRemote === 0 || persisted.length > 0, 'new records applied and nothing persisted')
  checkRelayable(peer, 'after a message of writes')
}

export default {
  name: 'gossip',
  input: () => fc.oneof(
    { arbitrary: fc.record({ message, writers }), weight: 9 },
    { arbitrary: sealedRecords.map((records) => ({ records })), weight: 1 }
  ),
  format: (input) => input.records !== undefined ? input : { bytes: input.message.bytes, writers: input.writers === undefined ? undefined : [...input.writers], genuine: input.message.genuine, seals: input.message.seals.size },
  run (_context, input) {
    if (input.records !== undefined) input = { message: sealedCheck(input.records), writers: undefined }
    const { bytes, seals, valid, genuine } = input.message
    const model = freshStore()
    const before = snapshot(model)
    let decoded
    try {
      decoded = decodeBounded(bytes, decodeSealedBatches)
    } catch (err) {
      expectTyped(err, [CodecError])
      check(!(genuine && valid), () => `a message of valid records as their authors sealed them was refused: ${describeError(err)}`)
      // The receive path counts it as malformed and applies none of it.
      checkSame(snapshot(model), before, 'the store after a refused message')
      if (bytes.byteLength <= STATE_CHECK_MAX_BYTES) checkIntake(input, model, { malformed: 1, writesRemote: 0, rejected: 0, rejectedBatches: 0, duplicateBatches: 0, unauthorized: 0 })
      return
    }
    check(!genuine || valid, 'the decoder accepted a message holding a record the store refuses')
    check(decoded.length > 0, 'a message decoded to no batch')
    for (const d of decoded) checkDecoded(d)
    if (bytes.byteLength > STATE_CHECK_MAX_BYTES) return // a flood: the decoder alone is checked
    if (genuine) {
      // Every batch its author sealed opens; a forged one (another writer's key) does not.
      for (const { batch } of decoded) {
        let opened
        try {
          opened = openSeal(batch, verify)
        } catch (err) {
          expectTyped(err, [CodecError], 'openSeal')
        }
        if (opened !== undefined) checkGenuine(batch, opened, seals)
        else check(genuineSeal(batch, seals) === undefined, () => `a batch sealed by its author did not open: ${show(batch)}`)
      }
    }

    const { counts, fresh } = receiveSealed(model, decoded, { seals, writers: input.writers })
    for (const [key] of model.store.list()) check(model.store.get(key) !== undefined, `key ${key} listed without a value`)
    checkIntake(input, model, { malformed: 0, ...counts })

    // Same new records, opposite order: same store (dots unique, none already held).
    const dots = fresh.map((r) => `${r.dot.seq}:${r.dot.replica}`)
    if (new Set(dots).size === dots.length && !dots.some((d) => HISTORY_DOTS.has(d))) {
      const other = freshStore()
      applyEach(other, [...fresh].reverse())
      checkSame({ ...snapshot(other), clock: undefined }, { ...snapshot(model), clock: undefined }, 'a store that applied the same records in the opposite order')
    }
  }
}
