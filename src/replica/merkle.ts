/**
 * Merkle trees over the records of one batch, so that one signature over the root proves
 * every record of the batch, and any subset of them later (relayed by anti-entropy, or to
 * a peer catching up) with a proof of a few hashes: the shape and hashing of RFC 6962
 * (leaf = H(0x00 || bytes), node = H(0x01 || left || right), the left subtree the largest
 * power of two below the size), as Certificate Transparency and Hypercore do.
 *
 * A `PartialTree` is what one peer knows of a batch: the hashes of some leaves (records it
 * holds or held) and hashes of whole subtrees covering the rest (from a proof it received).
 * That is always enough to prove any subset of the leaves it knows. Pure: no I/O.
 */
import { createHash } from 'node:crypto'
import { DEFAULT_MAX_BATCH_RECORDS } from './constants.js'
import { MalformedMessageError } from './errors.js'

export const HASH_BYTES = 32
/** Most leaves in one tree: the most records one batch carries. */
export const MAX_TREE_LEAVES = DEFAULT_MAX_BATCH_RECORDS

const LEAF = new Uint8Array([0x00])
const NODE = new Uint8Array([0x01])

export function leafHash (bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(LEAF).update(bytes).digest()
}

function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return createHash('sha256').update(NODE).update(left).update(right).digest()
}

/** Size of the left subtree of a tree of `n` > 1 leaves: the largest power of two below `n`. */
function split (n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

function rangeKey (lo: number, hi: number): number {
  return lo * (MAX_TREE_LEAVES + 1) + hi
}

export class PartialTree {
  readonly size: number
  /** Leaf hashes, `HASH_BYTES` each; meaningful where `known[i]` is 1. */
  private readonly leaves: Uint8Array
  private readonly known: Uint8Array
  /** Hashes of subtrees with no known leaf, by range. */
  private readonly nodes = new Map<number, Uint8Array>()

  private constructor (size: number) {
    if (!Number.isSafeInteger(size) || size < 1 || size > MAX_TREE_LEAVES) {
      throw new MalformedMessageError(`a batch tree has 1 to ${MAX_TREE_LEAVES} leaves, not ${size}`)
    }
    this.size = size
    this.leaves = new Uint8Array(size * HASH_BYTES)
    this.known = new Uint8Array(size)
  }

  /** A tree whose every leaf is known (the author's, or a whole batch received). */
  static full (leafHashes: readonly Uint8Array[]): PartialTree {
    const tree = new PartialTree(leafHashes.length)
    leafHashes.forEach((hash, i) => { tree.setLeaf(i, hash) })
    return tree
  }

  /**
   * Rebuilds what a proof tells: the leaves at `indices` (ascending, distinct) with their
   * hashes, and `proof`, the hashes of the maximal subtrees holding none of them in
   * depth-first order (what `proof()` gives). Throws MalformedMessageError when the parts do
   * not fit a tree of `size` leaves. Whether the root is the signed one is the caller's check.
   */
  static fromProof (size: number, indices: readonly number[], hashes: readonly Uint8Array[], proof: readonly Uint8Array[]): PartialTree {
    const tree = new PartialTree(size)
    if (indices.length === 0 || indices.length !== hashes.length) throw new MalformedMessageError('a batch proof needs one hash per record it proves')
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i] as number
      if (!Number.isSafeInteger(index) || index < 0 || index >= size || (i > 0 && index <= (indices[i - 1] as number))) {
        throw new MalformedMessageError('batch leaf indices must be ascending and inside the tree')
      }
      tree.setLeaf(index, hashes[i] as Uint8Array)
    }
    let next = 0
    const fill = (lo: number, hi: number): void => {
      if (!tree.anyKnown(lo, hi)) {
        const hash = proof[next++]
        if (hash === undefined || hash.byteLength !== HASH_BYTES) throw new MalformedMessageError('a batch proof is missing a hash')
        tree.nodes.set(rangeKey(lo, hi), hash)
        return
      }
      if (hi - lo === 1) return
      const k = split(hi - lo)
      fill(lo, lo + k)
      fill(lo + k, hi)
    }
    fill(0, size)
    if (next !== proof.length) throw new MalformedMessageError('a batch proof has hashes left over')
    return tree
  }

  isKnown (index: number): boolean {
    return this.known[index] === 1
  }

  root (): Uint8Array {
    return this.hash(0, this.size)
  }

  /** The hashes a receiver needs, besides the leaves at `indices` (ascending, all known), to compute the root. */
  proof (indices: readonly number[]): Uint8Array[] {
    const wanted = new Uint8Array(this.size)
    for (const index of indices) {
      if (!this.isKnown(index)) throw new MalformedMessageError(`leaf ${index} is not known here`)
      wanted[index] = 1
    }
    const out: Uint8Array[] = []
    const walk = (lo: number, hi: number): void => {
      if (!hasAny(wanted, lo, hi)) {
        out.push(this.hash(lo, hi))
        return
      }
      if (hi - lo === 1) return
      const k = split(hi - lo)
      walk(lo, lo + k)
      walk(lo + k, hi)
    }
    walk(0, this.size)
    return out
  }

  private setLeaf (index: number, hash: Uint8Array): void {
    if (hash.byteLength !== HASH_BYTES) throw new MalformedMessageError('a leaf hash has the wrong length')
    this.leaves.set(hash, index * HASH_BYTES)
    this.known[index] = 1
  }

  private anyKnown (lo: number, hi: number): boolean {
    return hasAny(this.known, lo, hi)
  }

  private hash (lo: number, hi: number): Uint8Array {
    const stored = this.nodes.get(rangeKey(lo, hi))
    if (stored !== undefined) return stored
    if (hi - lo === 1) {
      if (!this.isKnown(lo)) throw new MalformedMessageError(`leaf ${lo} of the batch tree is unknown`)
      return this.leaves.subarray(lo * HASH_BYTES, (lo + 1) * HASH_BYTES)
    }
    const k = split(hi - lo)
    return nodeHash(this.hash(lo, lo + k), this.hash(lo + k, hi))
  }
}

function hasAny (flags: Uint8Array, lo: number, hi: number): boolean {
  for (let i = lo; i < hi; i++) if (flags[i] === 1) return true
  return false
}
