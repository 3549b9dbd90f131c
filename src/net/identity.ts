import { readFile, stat } from 'node:fs/promises'
import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { peerIdFromString } from '@libp2p/peer-id'
import { KEY_FILE } from './constants.js'
import { KeyFileError } from './errors.js'
import { writeFileDurably } from '../storage/index.js'

/** The most a key file may hold; an Ed25519 key in libp2p's protobuf encoding is 68 bytes. */
const MAX_KEY_FILE_BYTES = 4096

/**
 * Loads the peer's key from the data dir, or creates one. The file is written to a temporary
 * name, fsynced and renamed so a crash never leaves half a key, with mode 0600 because the
 * key is the peer's identity.
 */
export async function loadOrCreateKey (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, KEY_FILE)
  let bytes: Uint8Array | undefined
  try {
    const info = await stat(path)
    if (info.size > MAX_KEY_FILE_BYTES) throw new KeyFileError(path, `it is ${info.size} bytes, larger than any key`)
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof KeyFileError) throw err
      throw new KeyFileError(path, (err as Error).message, err)
    }
  }
  if (bytes !== undefined) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new KeyFileError(path, 'it does not hold a libp2p private key; move it away to start with a new identity', err)
    }
  }
  const key = await generateKeyPair('Ed25519')
  await writeFileDurably(path, privateKeyToProtobuf(key), 0o600)
  return key
}

export async function generateKey (): Promise<PrivateKey> {
  return generateKeyPair('Ed25519')
}

/** DER prefix of an Ed25519 PKCS#8 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/**
 * The same key, signing with a node KeyObject made once: libp2p's Ed25519 key imports itself
 * from JWK on every sign (about as long as the signature), and every write is signed twice
 * (the record, then the gossip message), every Noise handshake once. Everything but `sign`
 * is the original key's, so libp2p sees the same type, raw bytes and public key.
 */
export function withCachedSigner (key: PrivateKey): PrivateKey {
  if (key.type !== 'Ed25519') return key
  const signer = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, key.raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
  const sign = (data: Uint8Array | Uint8ArrayList): Uint8Array => cryptoSign(null, data instanceof Uint8Array ? data : data.subarray(), signer)
  return Object.create(key, { sign: { value: sign } }) as PrivateKey
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** Most authors whose public key is kept ready; past it the cache starts again. */
const MAX_CACHED_KEYS = 10_000

/**
 * Checks Ed25519 signatures against the key inside a PeerId, with a node KeyObject made once
 * per author: libp2p's own verify rebuilds one per call.
 */
export class SignatureVerifier {
  private readonly keys = new Map<string, KeyObject>()

  /** False for anything invalid: a PeerId without an Ed25519 key, a malformed signature, other bytes. */
  verify (author: string, data: Uint8Array, signature: Uint8Array): boolean {
    let key = this.keys.get(author)
    if (key === undefined) {
      try {
        const publicKey = peerIdFromString(author).publicKey
        if (publicKey?.type !== 'Ed25519') return false
        key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey.raw]), format: 'der', type: 'spki' })
      } catch {
        return false
      }
      if (this.keys.size >= MAX_CACHED_KEYS) this.keys.clear()
      this.keys.set(author, key)
    }
    try {
      return cryptoVerify(null, data, key, signature)
    } catch {
      return false
    }
  }
}
