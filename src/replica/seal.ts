/**
 * Batch seals: how a replica proves that records are their author's with one signature per
 * batch. The author signs `"hearsay-batch/1\0" || leaves (u32, big-endian) || root`, where
 * root is the Merkle root (merkle.ts) over its records encoded without signatures, in order.
 * A receiver checks the whole batch with one verify. Any subset of a batch stays provable
 * with the same signature and a proof of a few hashes, so a record relayed later, by anyone,
 * is still checked against its author's key: the relay cannot alter, forge or splice it.
 *
 * `Provenance` remembers, for every record held, the batch that proves it; pure, no I/O.
 */
import { signingBytes } from './codec.js'
import { MalformedMessageError } from './errors.js'
import { leafHash, MAX_TREE_LEAVES, PartialTree } from './merkle.js'
import { encodeSealedBatch, type SealedBatch } from './seal-codec.js'
import type { WriteRecord } from './types.js'

const DOMAIN = new TextEncoder().encode('hearsay-batch/1\0')

/** What the author signs for a tree of `leaves` leaves with this root. */
export function sealStatement (leaves: number, root: Uint8Array): Uint8Array {
  const out = new Uint8Array(DOMAIN.length + 4 + root.byteLength)
  out.set(DOMAIN)
  new DataView(out.buffer).setUint32(DOMAIN.length, leaves)
  out.set(root, DOMAIN.length + 4)
  return out
}

/** The leaf of a record: its encoding without a signature, which is canonical (one encoding per record). */
export function recordLeaf (record: WriteRecord): Uint8Array {
  return leafHash(signingBytes(record))
}

/** A batch's signature and what this replica knows of its tree. */
export interface BatchSeal {
  readonly author: string
  readonly signature: Uint8Array
  readonly tree: PartialTree
}

export type Verify = (author: string, bytes: Uint8Array, signature: Uint8Array) => boolean

/** A seal whose signature did not verify, or whose proof does not fit its tree. */
export class BatchSealError extends MalformedMessageError {}

/**
 * Checks a decoded batch: rebuilds its tree from the records and the proof, and verifies the
 * author's signature over the root, once (a root already verified is remembered in
 * `verified`). Returns the seal and each record's leaf, or throws BatchSealError.
 */
export function openSeal (batch: SealedBatch, verify: Verify, verified?: VerifiedRoots): { seal: BatchSeal, leaves: number[] } {
  let restored: { seal: BatchSeal, leaves: number[] }
  try {
    restored = restoreSeal(batch)
  } catch (err) {
    throw new BatchSealError(`the batch proof does not fit its tree: ${(err as Error).message}`, { cause: err })
  }
  const root = restored.seal.tree.root()
  const key = verified === undefined ? undefined : VerifiedRoots.key(batch.author, batch.leaves, root, batch.signature)
  if (key === undefined || verified?.has(key) !== true) {
    if (!verify(batch.author, sealStatement(batch.leaves, root), batch.signature)) {
      throw new BatchSealError(`the batch seal does not verify against its author ${batch.author}`)
    }
    if (key !== undefined) verified?.add(key)
  }
  return restored
}

/** The seal of a batch read back from our own log: checked when it arrived, so only its tree is rebuilt. */
export function restoreSeal (batch: SealedBatch): { seal: BatchSeal, leaves: number[] } {
  const hashes = batch.records.map(recordLeaf)
  const leaves = batch.indices.length === 0 ? batch.records.map((_, i) => i) : batch.indices
  const tree = batch.indices.length === 0 ? PartialTree.full(hashes) : PartialTree.fromProof(batch.leaves, leaves, hashes, batch.proof)
  return { seal: { author: batch.author, signature: batch.signature, tree }, leaves }
}

/**
 * Roots whose signature was checked, so pieces of one batch arriving in several anti-entropy
 * frames cost one verify. Bounded: the oldest is forgotten first.
 */
export class VerifiedRoots {
  private readonly seen = new Set<string>()
  constructor (private readonly max = 4096) {}

  static key (author: string, leaves: number, root: Uint8Array, signature: Uint8Array): string {
    return `${author}/${leaves}/${Buffer.from(root).toString('base64')}/${Buffer.from(signature).toString('base64')}`
  }

  has (key: string): boolean {
    return this.seen.has(key)
  }

  add (key: string): void {
    this.seen.add(key)
    if (this.seen.size > this.max) this.seen.delete(this.seen.values().next().value as string)
  }
}

/** For every record held, the seal that proves it and its leaf there. */
export class Provenance {
  private readonly of = new WeakMap<WriteRecord, { seal: BatchSeal, leaf: number }>()

  attach (seal: BatchSeal, records: readonly WriteRecord[], leaves: readonly number[]): void {
    records.forEach((record, i) => { this.of.set(record, { seal, leaf: leaves[i] as number }) })
  }

  has (record: WriteRecord): boolean {
    return this.of.has(record)
  }

  /**
   * Seals records of our own, in order, into batches of at most MAX_TREE_LEAVES records and
   * about `maxBytes` (a record larger than that goes alone): one signature each. Remembers
   * each record's seal; returns every batch encoded, with its records.
   */
  sealOwn (author: string, records: readonly WriteRecord[], sign: (bytes: Uint8Array) => Uint8Array, maxBytes: number): Array<{ bytes: Uint8Array, records: WriteRecord[] }> {
    const out: Array<{ bytes: Uint8Array, records: WriteRecord[] }> = []
    let chunk: WriteRecord[] = []
    let encoded: Uint8Array[] = []
    let size = 0
    const close = (): void => {
      const tree = PartialTree.full(encoded.map(leafHash))
      const seal: BatchSeal = { author, signature: sign(sealStatement(tree.size, tree.root())), tree }
      const leaves = chunk.map((_, i) => i)
      this.attach(seal, chunk, leaves)
      out.push({ bytes: encodeSealed(seal, encoded, leaves), records: chunk })
      chunk = []
      encoded = []
      size = 0
    }
    for (const record of records) {
      const bytes = signingBytes(record)
      if (chunk.length > 0 && (chunk.length === MAX_TREE_LEAVES || size + bytes.byteLength > maxBytes)) close()
      chunk.push(record)
      encoded.push(bytes)
      size += bytes.byteLength
    }
    if (chunk.length > 0) close()
    return out
  }

  /**
   * Encodes records held here as sealed batches, each record with the seal that proves it
   * and a proof for the leaves left out, each batch about `maxBytes` at most (a record larger
   * than that goes alone); `unsealed` are the records with no seal known. Batches keep the
   * order in which their first record comes.
   */
  relay (records: readonly WriteRecord[], maxBytes: number): { batches: Array<{ bytes: Uint8Array, records: number }>, unsealed: WriteRecord[] } {
    const groups = new Map<BatchSeal, Array<{ record: WriteRecord, leaf: number }>>()
    const unsealed: WriteRecord[] = []
    for (const record of records) {
      const found = this.of.get(record)
      if (found === undefined) {
        unsealed.push(record)
        continue
      }
      let group = groups.get(found.seal)
      if (group === undefined) groups.set(found.seal, group = [])
      group.push({ record, leaf: found.leaf })
    }
    const batches: Array<{ bytes: Uint8Array, records: number }> = []
    for (const [seal, group] of groups) {
      group.sort((a, b) => a.leaf - b.leaf)
      let leaves: number[] = []
      let encoded: Uint8Array[] = []
      let size = 0
      for (const { record, leaf } of group) {
        const bytes = signingBytes(record)
        if (encoded.length > 0 && size + bytes.byteLength > maxBytes) {
          batches.push({ bytes: encodeSealed(seal, encoded, leaves), records: encoded.length })
          leaves = []
          encoded = []
          size = 0
        }
        leaves.push(leaf)
        encoded.push(bytes)
        size += bytes.byteLength
      }
      if (encoded.length > 0) batches.push({ bytes: encodeSealed(seal, encoded, leaves), records: encoded.length })
    }
    return { batches, unsealed }
  }
}

/** One seal's batch carrying these of its records (encoded by `signingBytes`, at these leaves, ascending). */
export function encodeSealed (seal: BatchSeal, encoded: readonly Uint8Array[], leaves: readonly number[]): Uint8Array {
  const whole = leaves.length === seal.tree.size && leaves.every((leaf, i) => leaf === i)
  return encodeSealedBatch({
    author: seal.author,
    signature: seal.signature,
    leaves: seal.tree.size,
    indices: whole ? [] : [...leaves],
    proof: whole ? [] : seal.tree.proof(leaves),
    records: encoded
  })
}
