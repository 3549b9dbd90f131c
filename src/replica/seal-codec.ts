/**
 * The wire form of sealed batches (`SealedBatch`, `SealedBatches` in pb/replica.proto),
 * written and read by hand so that a decoder of untrusted bytes checks every limit before it
 * allocates, and records are decoded one at a time (see codec.ts). Whether a seal is valid
 * is seal.ts's question; this file only says whether the bytes are well formed.
 */
import { reader as createReader } from 'protons-runtime'
import { DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_RECORDS, DEFAULT_MAX_REPLICA_ID_LENGTH, DEFAULT_MAX_SIGNATURE_BYTES } from './constants.js'
import { decodeRecordWire, protobufError, type CodecLimits } from './codec.js'
import { InvalidMessageError, MalformedMessageError, MessageTooLargeError } from './errors.js'
import { HASH_BYTES, MAX_TREE_LEAVES } from './merkle.js'
import { resolveRecordLimits } from './validate.js'
import type { WriteRecord } from './types.js'

/** One author's records and what proves them. */
export interface SealedBatch {
  author: string
  signature: Uint8Array
  /** Leaves of the signed tree. */
  leaves: number
  /** Each record's leaf, ascending; empty when the records are every leaf in order. */
  indices: number[]
  /** Depth-first hashes of the largest subtrees with no carried leaf. */
  proof: Uint8Array[]
  records: WriteRecord[]
}

/** A decoded batch and its own bytes (a view into the message), as one log entry keeps it. */
export interface DecodedSealedBatch {
  batch: SealedBatch
  bytes: Uint8Array
}

const encoder = new TextEncoder()
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** One batch; `records` are the records encoded without signatures (`signingBytes`), the bytes their leaves hash. */
export function encodeSealedBatch (batch: Omit<SealedBatch, 'records'> & { records: readonly Uint8Array[] }): Uint8Array {
  const parts: Uint8Array[] = []
  const field = (tag: number, bytes: Uint8Array): void => {
    parts.push(varint(tag), varint(bytes.byteLength), bytes)
  }
  field(0x0a, encoder.encode(batch.author))
  field(0x12, batch.signature)
  parts.push(varint(0x18), varint(batch.leaves))
  if (batch.indices.length > 0) field(0x22, concat(batch.indices.map(varint)))
  for (const hash of batch.proof) field(0x2a, hash)
  for (const record of batch.records) field(0x32, record)
  return concat(parts)
}

/** Batches already encoded, as one message (a gossip payload or a RECORDS frame's batch). */
export function encodeSealedBatches (batches: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const batch of batches) parts.push(varint(0x0a), varint(batch.byteLength), batch)
  return concat(parts)
}

/** Bytes a batch of these records takes on the wire besides the records, at most (for sizing messages). */
export function sealOverhead (proofHashes: number, records: number): number {
  return 256 + DEFAULT_MAX_SIGNATURE_BYTES + proofHashes * (HASH_BYTES + 2) + records * 8
}

/**
 * Decodes a message of batches from untrusted bytes: every batch well formed under the
 * limits, or a CodecError, never a partial result. `maxRecords` counts over all batches.
 */
export function decodeSealedBatches (bytes: Uint8Array, limits: CodecLimits = {}): DecodedSealedBatch[] {
  checkSize(bytes, limits)
  const budget = { records: limits.maxRecords ?? DEFAULT_MAX_BATCH_RECORDS }
  const out: DecodedSealedBatch[] = []
  const reader = createReader(bytes)
  while (reader.pos < reader.len) {
    let part: Uint8Array | undefined
    try {
      const tag = reader.uint32()
      if (tag === 0x0a) part = reader.bytes()
      else reader.skipType(tag & 7)
    } catch (err) {
      throw protobufError(err)
    }
    if (part !== undefined) out.push({ batch: decodeOne(part, limits, budget), bytes: part })
  }
  if (out.length === 0) throw new InvalidMessageError('a message of sealed batches carries none')
  return out
}

/** Decodes one batch (as a log entry keeps it) under the same rules. */
export function decodeSealedBatch (bytes: Uint8Array, limits: CodecLimits = {}): SealedBatch {
  checkSize(bytes, limits)
  return decodeOne(bytes, limits, { records: limits.maxRecords ?? DEFAULT_MAX_BATCH_RECORDS })
}

function checkSize (bytes: Uint8Array, limits: CodecLimits): void {
  if (!(bytes instanceof Uint8Array)) throw new MalformedMessageError('a sealed batch must be a Uint8Array')
  const max = limits.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES
  if (bytes.byteLength > max) throw new MessageTooLargeError(`sealed batch of ${bytes.byteLength} bytes is over the limit of ${max}`)
}

function decodeOne (bytes: Uint8Array, limits: CodecLimits, budget: { records: number }): SealedBatch {
  const recordLimits = resolveRecordLimits(limits)
  const maxAuthor = limits.maxReplicaIdLength ?? DEFAULT_MAX_REPLICA_ID_LENGTH
  const maxSignature = limits.maxSignatureBytes ?? DEFAULT_MAX_SIGNATURE_BYTES
  let author: string | undefined
  let signature: Uint8Array | undefined
  let leaves = 0
  const indices: number[] = []
  const proof: Uint8Array[] = []
  const records: WriteRecord[] = []
  const reader = createReader(bytes)
  while (reader.pos < reader.len) {
    let tag: number
    try {
      tag = reader.uint32()
    } catch (err) {
      throw protobufError(err)
    }
    const field = tag >>> 3
    const wireType = tag & 7
    let raw: Uint8Array | undefined
    try {
      if (wireType === 2 && field !== 3) raw = reader.bytes()
      else if (field === 3 && wireType === 0) leaves = reader.uint32()
      else if (field === 4 && wireType === 0) indices.push(reader.uint32())
      else reader.skipType(wireType)
    } catch (err) {
      throw protobufError(err)
    }
    if (indices.length > MAX_TREE_LEAVES) throw new MessageTooLargeError('a sealed batch lists more leaf indices than a tree has')
    if (raw === undefined) continue
    switch (field) {
      case 1:
        if (raw.byteLength > maxAuthor * 4) throw new MessageTooLargeError('a sealed batch names an author longer than any PeerId')
        try {
          author = utf8.decode(raw)
        } catch (err) {
          throw new MalformedMessageError('a sealed batch\'s author is not UTF-8', { cause: err })
        }
        break
      case 2:
        if (raw.byteLength > maxSignature) throw new MessageTooLargeError(`a batch signature of ${raw.byteLength} bytes is over the limit of ${maxSignature}`)
        signature = raw.slice()
        break
      case 4: {
        const packed = createReader(raw)
        try {
          while (packed.pos < packed.len) {
            if (indices.length >= MAX_TREE_LEAVES) throw new MessageTooLargeError('a sealed batch lists more leaf indices than a tree has')
            indices.push(packed.uint32())
          }
        } catch (err) {
          if (err instanceof MessageTooLargeError) throw err
          throw protobufError(err)
        }
        break
      }
      case 5:
        if (raw.byteLength !== 32) throw new MalformedMessageError('a proof hash is not 32 bytes')
        if (proof.length >= MAX_TREE_LEAVES) throw new MessageTooLargeError('a sealed batch carries more proof hashes than a tree has')
        proof.push(raw.slice())
        break
      case 6:
        if (budget.records === 0) throw new MessageTooLargeError('a message of sealed batches carries too many records')
        budget.records--
        records.push(decodeRecordWire(raw, recordLimits))
        break
      default:
        break
    }
  }
  if (author === undefined || author.length === 0) throw new InvalidMessageError('a sealed batch names no author')
  if (author.length > maxAuthor) throw new MessageTooLargeError('a sealed batch names an author longer than any PeerId')
  if (signature === undefined || signature.byteLength === 0) throw new InvalidMessageError('a sealed batch carries no signature')
  if (records.length === 0) throw new InvalidMessageError('a sealed batch carries no records')
  if (leaves < 1 || leaves > MAX_TREE_LEAVES) throw new InvalidMessageError(`a sealed batch's tree has 1 to ${MAX_TREE_LEAVES} leaves, not ${leaves}`)
  if (indices.length === 0 ? records.length !== leaves || proof.length > 0 : indices.length !== records.length) {
    throw new InvalidMessageError('a sealed batch\'s records, leaf indices and tree size do not agree')
  }
  for (const record of records) {
    if (record.dot.replica !== author) throw new InvalidMessageError('a sealed batch carries a record of another author')
    if (record.signature !== undefined) throw new InvalidMessageError('a record in a sealed batch carries a signature of its own')
  }
  return { author, signature, leaves, indices, proof, records }
}

function varint (value: number): Uint8Array {
  const out: number[] = []
  let n = value
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Uint8Array.from(out)
}

function concat (parts: readonly Uint8Array[]): Uint8Array {
  let total = 0
  for (const part of parts) total += part.byteLength
  const out = new Uint8Array(total)
  let pos = 0
  for (const part of parts) {
    out.set(part, pos)
    pos += part.byteLength
  }
  return out
}
