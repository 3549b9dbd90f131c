import { describe, expect, it } from 'vitest'
import { HearsayError } from '../../src/errors.js'
import { decodeSyncFrame, encodeSyncFrame, MalformedSyncMessageError, SYNC_LIMITS } from '../../src/replica/index.js'

function thrown (f: () => unknown): unknown {
  try {
    f()
  } catch (err) {
    return err
  }
  throw new Error('expected it to throw')
}

/** `frame` encoded, with the first byte of `marker` (ASCII text in it) replaced by 0xff: not UTF-8. */
function breakUtf8 (bytes: Uint8Array, marker: string): Uint8Array {
  const at = Buffer.from(bytes).indexOf(marker)
  expect(at).toBeGreaterThanOrEqual(0)
  const out = bytes.slice()
  out[at] = 0xff
  return out
}

// Found by fuzzing (fuzz/targets/anti-entropy.js).
describe('anti-entropy frames from the network', () => {
  it('a malformed frame throws a HearsayError with a code', () => {
    const err = thrown(() => decodeSyncFrame(Uint8Array.of(0x0a)))
    expect(err).toBeInstanceOf(MalformedSyncMessageError)
    expect(err).toBeInstanceOf(HearsayError)
    expect(err).toMatchObject({ code: 'ERR_MALFORMED_SYNC_MESSAGE', name: 'MalformedSyncMessageError' })
  })

  it('replica ids and digests that are not UTF-8 are refused, not read as other text', () => {
    const hello = encodeSyncFrame({ type: 'hello', vector: { 'r-one': 3 }, digest: 'd-one', horizon: { 'h-one': 1 }, retired: 'x-one' })
    expect(decodeSyncFrame(hello)).toEqual({ type: 'hello', vector: { 'r-one': 3 }, digest: 'd-one', horizon: { 'h-one': 1 }, retired: 'x-one' })
    expect(() => decodeSyncFrame(breakUtf8(hello, 'r-one'))).toThrow(/bad replica id/)
    expect(() => decodeSyncFrame(breakUtf8(hello, 'h-one'))).toThrow(/bad replica id/)
    expect(() => decodeSyncFrame(breakUtf8(hello, 'd-one'))).toThrow(/bad digest/)
    expect(() => decodeSyncFrame(breakUtf8(hello, 'x-one'))).toThrow(/bad retired digest/)
    const horizon = encodeSyncFrame({ type: 'horizon', horizon: {}, kept: [['k-one', [1, 2]]], complete: false })
    expect(() => decodeSyncFrame(breakUtf8(horizon, 'k-one'))).toThrow(/bad replica id/)
  })

  it('a frame over the stream limit is refused before it is parsed', () => {
    const big = encodeSyncFrame({ type: 'records', batch: new Uint8Array(SYNC_LIMITS.maxMessageBytes) })
    expect(() => decodeSyncFrame(big)).toThrow(/over the limit/)
  })
})
