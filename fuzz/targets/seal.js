// The Merkle trees and seals under sealed batches (merkle.ts, seal.ts), the parts that decide
// whether relayed records are their author's:
// - trees: any subset of a random tree (duplicate leaves included) proves its root, from the
//   full tree and again from the partial tree a receiver rebuilds (PartialTree.fromProof then
//   .proof of a subset of that); a changed proof hash, leaf index or leaf hash either throws
//   MalformedMessageError or gives another root, unless every leaf it claims is still the true
//   one at its index (a changed size only has to give another size-and-root statement, the
//   signed one: the root alone does not fix the size);
// - seals: records sealed by their writers (real Ed25519 keys), received by a peer that keeps
//   only some of them, relayed on (Provenance.relay, split by size) and relayed again by the
//   next peer: every batch a relay makes opens with openSeal and carries exactly the records
//   sealed at its leaves, each asked-for record exactly once, the rest reported unsealed; a
//   remembered root never lets a changed signature through.

import {
  BatchSealError, decodeSealedBatch, leafHash, MalformedMessageError, MAX_TREE_LEAVES, openSeal, PartialTree, Provenance,
  signingBytes, VerifiedRoots
} from '../../dist/src/replica/index.js'
import { fc, check, checkSame, expectTyped, fail, hex, same } from '../lib.js'
import { checkGenuine, isValid, recordsBy, registerSeal, verify, WRITERS } from '../replica.js'

// --- trees -------------------------------------------------------------------------------

/** mulberry32: picks subsets from a seed, so a tree of thousands of leaves costs one number to shrink. */
function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Ascending indices of `from`, each kept with probability `density` (never none). */
function subset (from, seed, density) {
  const random = prng(seed)
  const out = from.filter(() => random() < density)
  return out.length > 0 ? out : [from[Math.floor(random() * from.length)]]
}

const TREE_MUTATIONS = [
  'proof-flip', 'proof-replace', 'proof-drop', 'proof-dup', 'proof-swap', 'proof-short', 'proof-long', 'proof-add',
  'index-set', 'index-swap', 'index-dup', 'index-drop', 'index-drop-both',
  'leaf-flip', 'leaf-replace', 'leaf-short', 'size'
]
const BAD_INDICES = [-1, 0.5, Number.NaN, 2 ** 53, Number.MAX_SAFE_INTEGER, Infinity]

const treeMutation = fc.record({ op: fc.constantFrom(...TREE_MUTATIONS), a: fc.nat(), b: fc.nat(), c: fc.nat() })

const treeInput = fc.record({
  size: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 14 },
    { arbitrary: fc.integer({ min: 1, max: 300 }), weight: 6 },
    // Up to the largest tree a batch may have: slow (thousands of hashes a root), so rarer.
    { arbitrary: fc.integer({ min: 1, max: MAX_TREE_LEAVES }), weight: 1 }
  ),
  // How many distinct leaves: a few (equal subtrees, equal hashes side by side) or all.
  distinct: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(MAX_TREE_LEAVES)),
  pick: fc.nat(),
  density: fc.double({ min: 0.001, max: 1, noNaN: true }),
  pickAgain: fc.nat(),
  densityAgain: fc.double({ min: 0.001, max: 1, noNaN: true }),
  mutations: fc.array(treeMutation, { maxLength: 3 }),
  second: fc.boolean()
})

/** Leaf hashes of every tree here (shared: never changed in place). */
const LEAVES = Array.from({ length: MAX_TREE_LEAVES }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)))

function flipped (hash, n) {
  const out = Uint8Array.from(hash)
  out[n % out.length] ^= 1 << (n % 8)
  return out
}

/** One change to the parts of a proof: what a relay that lies, or a damaged message, hands over. */
function mutateProof (parts, m, leaves) {
  const { proof, indices, hashes } = parts
  const out = { size: parts.size, proof: [...proof], indices: [...indices], hashes: [...hashes] }
  const k = out.proof.length === 0 ? 0 : m.a % out.proof.length
  const i = m.a % Math.max(1, out.indices.length)
  if (out.indices.length === 0 && (m.op.startsWith('index') || m.op.startsWith('leaf'))) return out
  switch (m.op) {
    case 'proof-flip': if (out.proof.length > 0) out.proof[k] = flipped(out.proof[k], m.b); break
    case 'proof-replace': if (out.proof.length > 0) out.proof[k] = m.c % 2 === 0 ? leaves[m.b % leaves.length] : out.proof[m.b % out.proof.length]; break
    case 'proof-drop': out.proof.splice(k, 1); break
    case 'proof-dup': if (out.proof.length > 0) out.proof.splice(k, 0, out.proof[k]); break
    case 'proof-swap': if (out.proof.length > 1) [out.proof[k], out.proof[(k + 1) % out.proof.length]] = [out.proof[(k + 1) % out.proof.length], out.proof[k]]; break
    case 'proof-short': if (out.proof.length > 0) out.proof[k] = out.proof[k].subarray(0, 31); break
    case 'proof-long': if (out.proof.length > 0) out.proof[k] = Uint8Array.of(...out.proof[k], 0); break
    case 'proof-add': out.proof.splice(out.proof.length === 0 ? 0 : m.b % (out.proof.length + 1), 0, leaves[m.c % leaves.length]); break
    case 'index-set': {
      const choices = [out.indices[i] + 1, out.indices[i] - 1, m.b % (parts.size + 1), parts.size, BAD_INDICES[m.b % BAD_INDICES.length]]
      out.indices[i] = choices[m.c % choices.length]
      break
    }
    case 'index-swap': if (out.indices.length > 1) { const j = (i + 1) % out.indices.length; [out.indices[i], out.indices[j]] = [out.indices[j], out.indices[i]] } break
    case 'index-dup': out.indices.splice(i, 0, out.indices[i]); out.hashes.splice(i, 0, out.hashes[i]); break
    case 'index-drop': out.indices.splice(i, 1); break
    case 'index-drop-both': out.indices.splice(i, 1); out.hashes.splice(i, 1); break
    case 'leaf-flip': out.hashes[i] = flipped(out.hashes[i], m.b); break
    case 'leaf-replace': out.hashes[i] = leaves[m.b % leaves.length]; break
    case 'leaf-short': out.hashes[i] = out.hashes[i].subarray(0, 16); break
    case 'size': out.size = [parts.size + 1, parts.size - 1, parts.size * 2, 0, MAX_TREE_LEAVES + 1, 0.5, Number.NaN][m.c % 7]; break
  }
  return out
}

function rootOf ({ size, indices, hashes, proof }, what) {
  const tree = PartialTree.fromProof(size, indices, hashes, proof)
  check(tree.size === size, `${what}: a tree of ${tree.size} leaves from a proof for ${size}`)
  return tree
}

function runTree (input) {
  const { size } = input
  const leaves = Array.from({ length: size }, (_, i) => LEAVES[i % input.distinct])
  const full = PartialTree.full(leaves)
  const root = full.root()
  const all = leaves.map((_, i) => i)
  const picked = subset(all, input.pick, input.density)
  const depth = Math.ceil(Math.log2(size))
  const proof = full.proof(picked)
  check(proof.length <= picked.length * depth, `a proof of ${picked.length} leaves of ${size} holds ${proof.length} hashes`)
  const parts = { size, indices: picked, hashes: picked.map((i) => leaves[i]), proof }
  const partial = rootOf(parts, 'from the full tree')
  check(same(partial.root(), root), () => `a proof of leaves ${picked.length <= 20 ? picked : picked.length} of ${size} gives another root`)
  for (const i of [0, size - 1, picked[0], (picked[0] + 1) % size]) check(partial.isKnown(i) === picked.includes(i), `leaf ${i} known or not against the proof`)
  const unknown = all.find((i) => !picked.includes(i))
  if (unknown !== undefined) {
    try {
      partial.proof([unknown])
      fail(`a partial tree proved leaf ${unknown}, which it does not know`)
    } catch (err) {
      expectTyped(err, [MalformedMessageError], 'PartialTree.proof')
    }
  }
  // A receiver proves part of what it got onwards.
  const again = subset(picked, input.pickAgain, input.densityAgain)
  const onward = { size, indices: again, hashes: again.map((i) => leaves[i]), proof: partial.proof(again) }
  check(same(rootOf(onward, 'from a partial tree').root(), root), () => `a proof from a partial tree of leaves ${again.length <= 20 ? again : again.length} of ${size} gives another root`)

  if (input.mutations.length === 0) return
  const bent = input.mutations.reduce((p, m) => mutateProof(p, m, leaves), input.second ? onward : parts)
  let tree
  try {
    tree = PartialTree.fromProof(bent.size, bent.indices, bent.hashes, bent.proof)
    tree = { size: tree.size, root: tree.root() }
  } catch (err) {
    expectTyped(err, [MalformedMessageError], 'PartialTree')
    return
  }
  // The root alone does not fix the size: a proof for a tree of 17 leaves also gives that root
  // as a tree of 18 (the last hash standing for leaves 16-17 instead of leaf 16). That is why
  // a seal signs the size with the root (sealStatement): another size is another statement.
  if (tree.size !== size || !same(tree.root, root)) return
  // Same statement: then the proof still tells only the truth about every leaf it claims.
  bent.indices.forEach((index, k) => {
    check(Number.isSafeInteger(index) && index >= 0 && index < size && (k === 0 || index > bent.indices[k - 1]), () => `a proof with leaf indices ${bent.indices} gives the true root`)
    check(same(bent.hashes[k], leaves[index]), () => `a proof claiming another hash for leaf ${index} gives the true root`)
  })
}

// --- seals and relays --------------------------------------------------------------------

const group = fc.nat({ max: WRITERS.length - 1 }).chain((w) => fc.record({ writer: fc.constant(w), records: recordsBy(w, 12) }))
const maxBytes = fc.oneof(fc.constant(1 << 20), fc.integer({ min: 1, max: 800 }))
const mask = fc.array(fc.boolean(), { minLength: 1, maxLength: 16 })

const relayInput = fc.record({
  groups: fc.array(group, { minLength: 1, maxLength: 3 }),
  sealBytes: maxBytes,
  kept: mask,
  asked: mask,
  relayBytes: maxBytes,
  again: mask,
  againBytes: maxBytes,
  flip: fc.nat()
})

const on = (bits, i) => bits[i % bits.length]

/** Opens every batch a relay made and checks it against the seals made; returns the records and seals opened. */
function openRelayed (batches, seals, maxBytes, what) {
  const out = []
  for (const { bytes, records } of batches) {
    const batch = decodeSealedBatch(bytes)
    check(batch.records.length === records && records <= MAX_TREE_LEAVES, `${what}: a relayed batch says ${records} records and holds ${batch.records.length}`)
    if (batch.records.length > 1) {
      const size = batch.records.reduce((n, r) => n + signingBytes(r).byteLength, 0)
      check(size <= maxBytes, `${what}: a batch of ${batch.records.length} records holds ${size} bytes of records, over ${maxBytes}`)
    }
    let opened
    try {
      opened = openSeal(batch, verify)
    } catch (err) {
      expectTyped(err, [BatchSealError], 'openSeal')
      fail(`${what}: a batch a relay made does not open: ${err.message}`)
    }
    checkGenuine(batch, opened, seals)
    check(opened.leaves.every((leaf, i) => i === 0 || leaf > opened.leaves[i - 1]), `${what}: relayed leaves not ascending`)
    out.push({ batch, opened })
  }
  return out
}

function runRelay (input) {
  const seals = new Map()
  // The writers seal; a peer receives every batch, opens it, and keeps only some records (the rest collected).
  const receiver = new Provenance()
  const verified = new VerifiedRoots()
  const received = []
  const dropped = []
  let index = 0
  for (const { writer, records } of input.groups) {
    const { id, sign } = WRITERS[writer]
    const valid = records.filter(isValid)
    if (valid.length === 0) continue
    const sealed = new Provenance().sealOwn(id, valid, sign, input.sealBytes)
    checkSame(sealed.flatMap((s) => s.records), valid, 'records sealed, in order')
    for (const { bytes, records: list } of sealed) {
      if (list.length > 1) check(list.reduce((n, r) => n + signingBytes(r).byteLength, 0) <= input.sealBytes, 'a sealed batch over its size')
      const batch = decodeSealedBatch(bytes)
      registerSeal(seals, batch)
      const opened = openSeal(batch, verify, verified)
      const keep = batch.records.map((_, i) => i).filter((i) => on(input.kept, index + i))
      index += batch.records.length
      receiver.attach(opened.seal, keep.map((i) => batch.records[i]), keep.map((i) => opened.leaves[i]))
      keep.forEach((i) => received.push(batch.records[i]))
      batch.records.forEach((r, i) => { if (!keep.includes(i)) dropped.push(r) })
      // A root already verified does not let another signature through (once an input: a verify is slow).
      if (index > batch.records.length) continue
      const forged = { ...batch, signature: Uint8Array.from(batch.signature, (b, i) => i === input.flip % batch.signature.length ? b ^ (1 << (input.flip % 8)) : b) }
      try {
        openSeal(forged, verify, verified)
        fail('a batch with a changed signature opened (its root was verified before)')
      } catch (err) {
        expectTyped(err, [BatchSealError], 'openSeal')
      }
    }
  }
  if (received.length + dropped.length === 0) return
  // Anti-entropy asks it for some records, some of which it no longer has a seal for.
  const asked = [...received, ...dropped].filter((_, i) => on(input.asked, i))
  const { batches, unsealed } = receiver.relay(asked, input.relayBytes)
  const sealless = asked.filter((r) => !receiver.has(r))
  check(unsealed.length === sealless.length && unsealed.every((r, i) => r === sealless[i]), 'the records relayed with no seal are not the ones asked for that have none')
  const first = openRelayed(batches, seals, input.relayBytes, 'relay')
  const relayed = first.flatMap(({ batch }) => batch.records)
  const wanted = asked.filter((r) => receiver.has(r))
  checkSame(sortedLeaves(relayed), sortedLeaves(wanted), 'records relayed against records asked for that have a seal')
  // The next peer keeps what it got, and relays part of it on.
  const next = new Provenance()
  for (const { batch, opened } of first) next.attach(opened.seal, batch.records, opened.leaves)
  const onward = relayed.filter((_, i) => on(input.again, i))
  const second = next.relay(onward, input.againBytes)
  check(second.unsealed.length === 0, 'the second relay lost a seal')
  const again = openRelayed(second.batches, seals, input.againBytes, 'second relay').flatMap(({ batch }) => batch.records)
  checkSame(sortedLeaves(again), sortedLeaves(onward), 'records relayed by the second peer against records asked for')
}

/** Records as comparable strings (their leaf bytes), sorted: relays group by seal, so order is theirs. */
function sortedLeaves (records) {
  return records.map((r) => hex(signingBytes(r))).sort()
}

export default {
  name: 'seal',
  input: () => fc.oneof({ arbitrary: treeInput.map((tree) => ({ tree })), weight: 3 }, { arbitrary: relayInput.map((relay) => ({ relay })), weight: 1 }),
  run (_context, input) {
    if (input.tree !== undefined) runTree(input.tree)
    else runRelay(input.relay)
  }
}
