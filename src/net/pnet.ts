import { generateKey } from '@libp2p/pnet'
import { HearsayError } from '../errors.js'

/** The pre-shared key file format of libp2p pnet: a fixed header and a 64-digit hex key. */
const PSK_FILE_BYTES = 95

export class InvalidPskError extends HearsayError {
  constructor (detail: string) {
    super('ERR_INVALID_PSK', `the pre-shared key is not usable: ${detail}; create one with "hearsay key gen-psk FILE"`)
  }
}

/** A new private-network key, in the file format `--psk FILE` reads. */
export function generatePsk (): Uint8Array {
  const key = new Uint8Array(PSK_FILE_BYTES)
  generateKey(key)
  return key
}

/** Checks a key file's contents before libp2p sees it, so a bad file is a clear error. */
export function validatePsk (bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength > 1024) throw new InvalidPskError(`it is ${bytes.byteLength} bytes`)
  const lines = new TextDecoder().decode(bytes).trim().split(/\r?\n/)
  if (lines[0] !== '/key/swarm/psk/1.0.0/' || lines[1] !== '/base16/' || !/^[0-9a-fA-F]{64}$/.test(lines[2] ?? '')) {
    throw new InvalidPskError('expected the libp2p pnet format (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits)')
  }
  return bytes
}
