// Replicated writes as they arrive over gossipsub (and inside anti-entropy RECORDS frames):
// decodeBatch / decodeRecord either return records the store accepts as they are (and that
// encode back to themselves), or throw a CodecError. The records are then applied one by
// one to a store holding a small history, as the service does once signatures are checked:
// a record the store refuses, or already holds, leaves it exactly as it was; replicas that
// applied the same new records in opposite orders agree.

import { CodecError, decodeBatch, decodeRecord, encodeBatch, encodeRecord, ReplicaError } from '../../dist/src/replica/index.js'
import { validateRecord } from '../../dist/src/replica/validate.js'
import { fc, bytesInput, check, checkSame, decodeBounded, describeError, expectTyped, fail, FuzzFailure, STATE_CHECK_MAX_BYTES } from '../lib.js'
import { applyEach, freshStore, HISTORY_DOTS, LIMITS, records, snapshot, validBatchBytes } from '../replica.js'

// --- the property ------------------------------------------------------------------------

function decode (input) {
  return decodeBounded(input.bytes, (bytes) => input.single ? [decodeRecord(bytes)] : decodeBatch(bytes))
}

export default {
  name: 'gossip',
  input: () => fc.oneof(
    { arbitrary: fc.record({ bytes: bytesInput(validBatchBytes), single: fc.boolean() }), weight: 9 },
    { arbitrary: records.map((rs) => ({ records: rs })), weight: 1 }
  ),
  run (_context, input) {
    if (input.records !== undefined) {
      // The decoder refuses exactly what the store refuses, and valid records survive the
      // wire unchanged (signatures depend on it).
      const valid = input.records.every((r) => {
        try {
          validateRecord(r, LIMITS)
          return true
        } catch (err) {
          expectTyped(err, [ReplicaError], 'validateRecord')
          return false
        }
      })
      const bytes = encodeBatch(input.records)
      let back
      try {
        back = decodeBatch(bytes)
      } catch (err) {
        if (valid) fail(`a batch of valid records was refused: ${describeError(err)}`)
        expectTyped(err, [CodecError])
      }
      if (back !== undefined) {
        check(valid, 'the decoder accepted a batch holding a record the store refuses')
        checkSame(back, input.records, 'valid records after a trip through the codec')
      }
      input = { bytes, single: false }
    }
    const target = freshStore()
    const before = snapshot(target)
    let decoded
    try {
      decoded = decode(input)
    } catch (err) {
      expectTyped(err, [CodecError])
      // The service counts the batch as malformed and applies none of it.
      checkSame(snapshot(target), before, 'the store after a refused batch')
      return
    }
    for (const r of decoded) {
      try {
        validateRecord(r, LIMITS)
      } catch (err) {
        if (err instanceof FuzzFailure) throw err
        fail(`the decoder returned a record the store refuses: ${describeError(err)}`)
      }
    }
    if (input.bytes.byteLength > STATE_CHECK_MAX_BYTES) return
    checkSame(decodeBatch(encodeBatch(decoded)), decoded, 'decoded records after encoding them again')
    if (decoded.length === 1) checkSame(decodeRecord(encodeRecord(decoded[0])), decoded[0], 'a decoded record after encoding it again')

    applyEach(target, decoded)
    for (const [key] of target.store.list()) check(target.store.get(key) !== undefined, `key ${key} listed without a value`)

    // Same new records, opposite order: same store (dots unique, none already held).
    const dots = decoded.map((r) => `${r.dot.seq}:${r.dot.replica}`)
    if (new Set(dots).size === dots.length && !dots.some((d) => HISTORY_DOTS.has(d))) {
      const other = freshStore()
      applyEach(other, [...decoded].reverse())
      const a = snapshot(target)
      const b = snapshot(other)
      checkSame({ ...b, clock: undefined }, { ...a, clock: undefined }, 'a store that applied the same records in the opposite order')
    }
  }
}
