import { HearsayError } from '../errors.js'

/**
 * A payload signed by its sender, for gossip topics whose receivers must know who sent a
 * message (beacons). Gossip envelopes themselves carry no libp2p signature (StrictNoSign:
 * what most topics carry is already signed by its author), so a topic that needs its sender
 * seals each payload: `[0x01][u16 author length][author][u32 payload length][payload][signature]`,
 * the signature over `signingInput(topic, payload)`, so a sealed payload cannot be moved to
 * another topic.
 */
export interface Envelope {
  /** The sender's PeerId (its public key is inside it). */
  author: string
  payload: Uint8Array
  signature: Uint8Array
}

export class MalformedEnvelopeError extends HearsayError {
  constructor (message: string) {
    super('ERR_MALFORMED_ENVELOPE', message)
  }
}

const VERSION = 1
const MAX_AUTHOR_BYTES = 128
const SIGNATURE_BYTES = 64
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function signingInput (topic: string, payload: Uint8Array): Uint8Array {
  const prefix = encoder.encode(`hearsay-envelope/1\0${topic}\0`)
  const out = new Uint8Array(prefix.byteLength + payload.byteLength)
  out.set(prefix, 0)
  out.set(payload, prefix.byteLength)
  return out
}

export function encodeEnvelope (envelope: Envelope): Uint8Array {
  const author = encoder.encode(envelope.author)
  if (author.byteLength > MAX_AUTHOR_BYTES) throw new MalformedEnvelopeError(`author is over ${MAX_AUTHOR_BYTES} bytes`)
  if (envelope.signature.byteLength !== SIGNATURE_BYTES) throw new MalformedEnvelopeError(`a signature is ${SIGNATURE_BYTES} bytes`)
  const out = new Uint8Array(1 + 2 + author.byteLength + 4 + envelope.payload.byteLength + SIGNATURE_BYTES)
  const view = new DataView(out.buffer)
  let pos = 0
  out[pos++] = VERSION
  view.setUint16(pos, author.byteLength)
  pos += 2
  out.set(author, pos)
  pos += author.byteLength
  view.setUint32(pos, envelope.payload.byteLength)
  pos += 4
  out.set(envelope.payload, pos)
  pos += envelope.payload.byteLength
  out.set(envelope.signature, pos)
  return out
}

/** Parses an envelope of untrusted bytes; throws MalformedEnvelopeError, never anything else. */
export function decodeEnvelope (bytes: Uint8Array, maxPayloadBytes: number): Envelope {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 1 + 2 + 4 + SIGNATURE_BYTES) throw new MalformedEnvelopeError('envelope too short')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let pos = 0
  if (bytes[pos++] !== VERSION) throw new MalformedEnvelopeError('unknown envelope version')
  const authorLength = view.getUint16(pos)
  pos += 2
  if (authorLength === 0 || authorLength > MAX_AUTHOR_BYTES || pos + authorLength + 4 > bytes.byteLength) throw new MalformedEnvelopeError('bad author length')
  let author: string
  try {
    author = decoder.decode(bytes.subarray(pos, pos + authorLength))
  } catch {
    throw new MalformedEnvelopeError('author is not UTF-8')
  }
  pos += authorLength
  const payloadLength = view.getUint32(pos)
  pos += 4
  if (payloadLength > maxPayloadBytes) throw new MalformedEnvelopeError(`payload of ${payloadLength} bytes is over the limit of ${maxPayloadBytes}`)
  if (pos + payloadLength + SIGNATURE_BYTES !== bytes.byteLength) throw new MalformedEnvelopeError('envelope length does not add up')
  const payload = bytes.subarray(pos, pos + payloadLength)
  pos += payloadLength
  return { author, payload, signature: bytes.subarray(pos, pos + SIGNATURE_BYTES) }
}

/** Seals `payload` for `topic` with the sender's signature. */
export function seal (topic: string, payload: Uint8Array, author: string, sign: (bytes: Uint8Array) => Uint8Array): Uint8Array {
  return encodeEnvelope({ author, payload, signature: sign(signingInput(topic, payload)) })
}

/** Opens an envelope received on `topic`: its author and payload once the seal verifies; throws MalformedEnvelopeError otherwise. */
export function openEnvelope (topic: string, bytes: Uint8Array, maxPayloadBytes: number,
  verify: (author: string, data: Uint8Array, signature: Uint8Array) => boolean): { author: string, payload: Uint8Array } {
  const envelope = decodeEnvelope(bytes, maxPayloadBytes)
  if (!verify(envelope.author, signingInput(topic, envelope.payload), envelope.signature)) {
    throw new MalformedEnvelopeError('the signature does not verify against its author')
  }
  return { author: envelope.author, payload: envelope.payload }
}
