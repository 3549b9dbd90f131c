import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BatchSealError, CodecError, decodeSealedBatch, decodeSealedBatches, encodeSealedBatch, encodeSealedBatches, HASH_BYTES,
  InvalidMessageError, leafHash, MalformedMessageError, MessageTooLargeError, openSeal, PartialTree, Provenance, sealStatement,
  signingBytes, VerifiedRoots, type SealedBatch, type WriteRecord
} from '../../src/replica/index.js'
import { replica } from './helpers.js'

/** Two authors with real Ed25519 keys, and a verifier that knows both. */
const keys = new Map<string, { privateKey: KeyObject, publicKey: KeyObject }>([
  ['A', generateKeyPairSync('ed25519')],
  ['B', generateKeyPairSync('ed25519')]
])
const signAs = (author: string) => (bytes: Uint8Array): Uint8Array => cryptoSign(null, bytes, keys.get(author)!.privateKey)
const verify = (author: string, bytes: Uint8Array, signature: Uint8Array): boolean => {
  const key = keys.get(author)
  return key !== undefined && cryptoVerify(null, bytes, key.publicKey, signature)
}

function leaves (n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)))
}

/** Records of author `id`, written one after the other. */
function writes (id: string, n: number): WriteRecord[] {
  const r = replica(id)
  return Array.from({ length: n }, (_, i) => r.put(`k${i % 7}`, { i }))
}

/** Seals own records through Provenance as a writer does, and decodes the batches as a receiver would. */
function sealed (id: string, records: WriteRecord[], maxBytes = 1 << 20): SealedBatch[] {
  return new Provenance().sealOwn(id, records, signAs(id), maxBytes).map(({ bytes }) => decodeSealedBatch(bytes))
}

/** Re-encodes a decoded batch after a change, as an attacker would send it. */
function reencode (batch: SealedBatch): SealedBatch {
  return decodeSealedBatch(encodeSealedBatch({ ...batch, records: batch.records.map(signingBytes) }))
}

describe('Merkle trees over a batch', () => {
  it('any subset of the leaves, and any subset of a subset, proves the same root', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(
        fc.constant(n),
        fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: n }),
        fc.integer({ min: 1, max: 1 << 30 })
      )),
      ([n, picked, seed]) => {
        const all = leaves(n)
        const full = PartialTree.full(all)
        const wanted = [...picked].sort((a, b) => a - b)
        const partial = PartialTree.fromProof(n, wanted, wanted.map((i) => all[i]!), full.proof(wanted))
        expect(Buffer.from(partial.root())).toEqual(Buffer.from(full.root()))
        // A peer that got only `wanted` can prove any part of it onwards.
        const again = wanted.filter((_, i) => ((seed >> (i % 30)) & 1) === 1 || i === 0)
        const relayed = PartialTree.fromProof(n, again, again.map((i) => all[i]!), partial.proof(again))
        expect(Buffer.from(relayed.root())).toEqual(Buffer.from(full.root()))
      }
    ), { numRuns: 200 })
  })

  it('a changed leaf or proof hash gives another root; a proof of the wrong length is refused', () => {
    const all = leaves(37)
    const full = PartialTree.full(all)
    const wanted = [3, 4, 20]
    const proof = full.proof(wanted)
    const root = Buffer.from(full.root())
    const otherLeaf = leafHash(new TextEncoder().encode('not leaf 4'))
    expect(Buffer.from(PartialTree.fromProof(37, wanted, [all[3]!, otherLeaf, all[20]!], proof).root())).not.toEqual(root)
    const bent = proof.map((h, i) => i === 1 ? Uint8Array.from(h, (b, j) => j === 0 ? b ^ 1 : b) : h)
    expect(Buffer.from(PartialTree.fromProof(37, wanted, wanted.map((i) => all[i]!), bent).root())).not.toEqual(root)
    expect(() => PartialTree.fromProof(37, wanted, wanted.map((i) => all[i]!), proof.slice(1))).toThrow(MalformedMessageError)
    expect(() => PartialTree.fromProof(37, wanted, wanted.map((i) => all[i]!), [...proof, all[0]!])).toThrow(MalformedMessageError)
    expect(() => PartialTree.fromProof(37, [4, 3], [all[4]!, all[3]!], proof)).toThrow(MalformedMessageError)
    expect(() => PartialTree.fromProof(37, [37], [all[0]!], [])).toThrow(MalformedMessageError)
    expect(() => full.proof([1]).length).not.toThrow()
    expect(HASH_BYTES).toBe(32)
  })
})

describe('sealed batches', () => {
  it('a batch sealed by its author opens with one verify; a relay of part of it opens with the same signature', () => {
    const records = writes('A', 25)
    const [batch] = sealed('A', records)
    let verifies = 0
    const counting = (author: string, bytes: Uint8Array, signature: Uint8Array): boolean => { verifies++; return verify(author, bytes, signature) }
    const opened = openSeal(batch!, counting)
    expect(verifies).toBe(1)
    expect(opened.leaves).toEqual(records.map((_, i) => i))
    // A peer that received it relays records 3, 4 and 17 to another (say, after the rest was collected).
    const holder = new Provenance()
    holder.attach(opened.seal, batch!.records, opened.leaves)
    const picked = [batch!.records[17]!, batch!.records[3]!, batch!.records[4]!]
    const { batches, unsealed } = holder.relay(picked, 1 << 20)
    expect(unsealed).toEqual([])
    expect(batches).toHaveLength(1)
    const relayed = decodeSealedBatch(batches[0]!.bytes)
    expect(relayed.indices).toEqual([3, 4, 17])
    expect(relayed.records.map((r) => r.dot.seq)).toEqual([4, 5, 18])
    expect(openSeal(relayed, verify).leaves).toEqual([3, 4, 17])
    // The receiver can prove part of that onwards again.
    const next = new Provenance()
    const reopened = openSeal(relayed, verify)
    next.attach(reopened.seal, relayed.records, reopened.leaves)
    const onward = decodeSealedBatch(next.relay([relayed.records[2]!], 1 << 20).batches[0]!.bytes)
    expect(openSeal(onward, verify).leaves).toEqual([17])
  })

  it('refuses a forged seal (another key), a tampered record, a spliced record, a reordered batch and a stolen signature', () => {
    const records = writes('A', 6)
    const [batch] = sealed('A', records)
    const [other] = sealed('A', writes('A', 12).slice(6))
    // Forged: the author named is A, the signature is B's.
    const forged = reencode({ ...batch!, signature: signAs('B')(sealStatement(batch!.leaves, PartialTree.full(batch!.records.map((r) => leafHash(signingBytes(r)))).root())) })
    expect(() => openSeal(forged, verify)).toThrow(BatchSealError)
    // Tampered: one value changed after sealing.
    const tampered = reencode({ ...batch!, records: batch!.records.map((r, i) => i === 2 ? { ...r, op: { type: 'put', value: 'evil' } } : r) })
    expect(() => openSeal(tampered, verify)).toThrow(BatchSealError)
    // Spliced: a record of another batch of the same author put in place of one of this batch.
    const spliced = reencode({ ...batch!, records: batch!.records.map((r, i) => i === 1 ? other!.records[1]! : r) })
    expect(() => openSeal(spliced, verify)).toThrow(BatchSealError)
    // Reordered: two records swapped.
    const reordered = reencode({ ...batch!, records: batch!.records.map((r, i) => batch!.records[i === 0 ? 1 : i === 1 ? 0 : i]!) })
    expect(() => openSeal(reordered, verify)).toThrow(BatchSealError)
    // A genuine signature taken to another batch.
    const stolen = reencode({ ...other!, signature: batch!.signature, leaves: other!.leaves })
    expect(() => openSeal(stolen, verify)).toThrow(BatchSealError)
    // A part of a batch with its leaves renumbered.
    const holder = new Provenance()
    const opened = openSeal(batch!, verify)
    holder.attach(opened.seal, batch!.records, opened.leaves)
    const part = decodeSealedBatch(holder.relay([batch!.records[4]!], 1 << 20).batches[0]!.bytes)
    expect(() => openSeal(reencode({ ...part, indices: [3] }), verify)).toThrow(BatchSealError)
    // Untouched, all of them still open.
    expect(() => openSeal(batch!, verify)).not.toThrow()
    expect(() => openSeal(part, verify)).not.toThrow()
  })

  it('a batch naming one author cannot carry another author\'s record', () => {
    const [batch] = sealed('A', writes('A', 2))
    const mixed = { ...batch!, records: [batch!.records[0]!, writes('B', 1)[0]!] }
    expect(() => reencode(mixed)).toThrow(InvalidMessageError)
  })

  it('a verified root is remembered: pieces of one batch cost one verify', () => {
    const records = writes('A', 10)
    const [batch] = sealed('A', records)
    const holder = new Provenance()
    const opened = openSeal(batch!, verify)
    holder.attach(opened.seal, batch!.records, opened.leaves)
    const pieces = [0, 5, 9].map((i) => decodeSealedBatch(holder.relay([batch!.records[i]!], 1 << 20).batches[0]!.bytes))
    let verifies = 0
    const counting = (author: string, bytes: Uint8Array, signature: Uint8Array): boolean => { verifies++; return verify(author, bytes, signature) }
    const seen = new VerifiedRoots()
    for (const piece of pieces) openSeal(piece, counting, seen)
    expect(verifies).toBe(1)
  })

  it('sealing splits by size and count; a relay splits a large batch into frames that each open', () => {
    const records = writes('A', 50)
    const batches = new Provenance().sealOwn('A', records, signAs('A'), 1_000)
    expect(batches.length).toBeGreaterThan(1)
    expect(batches.flatMap((b) => b.records)).toEqual(records)
    for (const { bytes } of batches) expect(() => openSeal(decodeSealedBatch(bytes), verify)).not.toThrow()
    const [whole] = sealed('A', records)
    const holder = new Provenance()
    const opened = openSeal(whole!, verify)
    holder.attach(opened.seal, whole!.records, opened.leaves)
    const { batches: parts } = holder.relay(whole!.records, 1_000)
    expect(parts.length).toBeGreaterThan(1)
    expect(parts.reduce((n, p) => n + p.records, 0)).toBe(50)
    for (const part of parts) expect(() => openSeal(decodeSealedBatch(part.bytes), verify)).not.toThrow()
  })

  it('the decoder refuses garbage with a CodecError and nothing else, and holds to its limits', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      try {
        decodeSealedBatches(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError)
      }
    }), { numRuns: 2_000 })
    const [batch] = sealed('A', writes('A', 3))
    const good = encodeSealedBatches([encodeSealedBatch({ ...batch!, records: batch!.records.map(signingBytes) })])
    expect(decodeSealedBatches(good)).toHaveLength(1)
    expect(() => decodeSealedBatches(good, { maxBatchBytes: good.byteLength - 1 })).toThrow(MessageTooLargeError)
    expect(() => decodeSealedBatches(good, { maxRecords: 2 })).toThrow(MessageTooLargeError)
    expect(() => decodeSealedBatches(new Uint8Array(0))).toThrow(InvalidMessageError)
    // A record of the older format (its own signature) is not part of any seal.
    const legacy = { ...batch!.records[0]!, signature: new Uint8Array([1, 2, 3]) }
    expect(() => decodeSealedBatch(encodeSealedBatch({ ...batch!, leaves: 1, records: [new Uint8Array([...signingBytes(legacy), 0x62, 3, 1, 2, 3])] }))).toThrow(InvalidMessageError)
  })
})
