import { describe, it, expect } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Uint8ArrayList } from 'uint8arraylist'
import { withCachedSigner } from '../../src/net/identity.js'

describe('withCachedSigner', () => {
  it('signs exactly as the original key (Ed25519 is deterministic) and keeps everything else', async () => {
    const key = await generateKeyPair('Ed25519')
    const fast = withCachedSigner(key)
    expect(fast.type).toBe('Ed25519')
    expect(fast.publicKey.toString()).toBe(key.publicKey.toString())
    expect(fast.equals(key)).toBe(true)
    for (const size of [0, 1, 100, 4096]) {
      const data = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff)
      const signature = fast.sign(data) as Uint8Array
      expect(Buffer.from(signature)).toEqual(Buffer.from(key.sign(data) as Uint8Array))
      expect(await key.publicKey.verify(data, signature)).toBe(true)
      const list = new Uint8ArrayList(data.subarray(0, size >> 1), data.subarray(size >> 1))
      expect(Buffer.from(fast.sign(list) as Uint8Array)).toEqual(Buffer.from(signature))
    }
  })

  it('a signature over other bytes does not verify', async () => {
    const key = await generateKeyPair('Ed25519')
    const fast = withCachedSigner(key)
    const signature = fast.sign(new Uint8Array([1, 2, 3])) as Uint8Array
    expect(await key.publicKey.verify(new Uint8Array([1, 2, 4]), signature)).toBe(false)
  })

  it('leaves keys of other types as they are', async () => {
    const key = await generateKeyPair('secp256k1')
    expect(withCachedSigner(key)).toBe(key)
  })
})
