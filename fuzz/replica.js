// A small replica history and the records around it, shared by the replica targets (gossip,
// anti-entropy, seal, replica-log): writers with real Ed25519 keys (PeerIds, checked by the
// SignatureVerifier peers use), a store per input (so a counterexample replays on its own)
// holding a history whose every record has the seal that proves it, its observable state,
// arbitraries of valid records and of sealed batches as their authors make them.
//
// Sealed messages carry `seals`: every seal their batches were built with, by author and
// signature, with the records of each leaf as the author sealed them (decoded). A batch that
// opens must match one of them leaf for leaf (`checkGenuine`): that is what "a seal proves its
// records" means, whatever bytes the batch was mutated into.

import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { SignatureVerifier, withCachedSigner } from '../dist/src/net/identity.js'
import {
  BatchSealError, decodeSealedBatch, decodeSealedBatches, encodeSealedBatch, encodeSealedBatches, HybridClock, openSeal, Provenance, recordLeaf, ReplicaError, ReplicaState, restoreSeal, signingBytes
} from '../dist/src/replica/index.js'
import { resolveRecordLimits, validateRecord } from '../dist/src/replica/validate.js'
import { fc, anyString, check, checkSame, corpus, expectTyped, hex, show } from './lib.js'

export const LIMITS = resolveRecordLimits()
export const NOW = 1_700_000_000_000

/** Every store in these targets reads the same fixed wall clock, so runs replay exactly. */
const fixedClock = () => new HybridClock(() => NOW)

// --- writers -----------------------------------------------------------------------------

/** Keys from fixed seeds, so every run (and every replay of a counterexample) has the same PeerIds. */
async function writer (n) {
  const key = withCachedSigner(await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(n)))
  return { id: peerIdFromPrivateKey(key).toString(), sign: (bytes) => key.sign(bytes) }
}

/** A, B and C write the history; L is the replica under test (its own records come back relayed). */
export const [WA, WB, WC, WL] = await Promise.all([1, 2, 3, 4].map(writer))
export const WRITERS = [WA, WB, WC, WL]
export const [A, B, C, L] = WRITERS.map((w) => w.id)

const verifier = new SignatureVerifier()
/** Answers already known (a pure function, so remembering them changes nothing but the time), bounded. */
const verified = new Map()

/** What a peer verifies seals with: the key inside the author's PeerId. */
export function verify (author, bytes, signature) {
  const key = `${author}/${hex(bytes)}/${hex(signature)}`
  let ok = verified.get(key)
  if (ok === undefined) {
    ok = verifier.verify(author, bytes, signature)
    if (verified.size >= 4096) verified.clear()
    verified.set(key, ok)
  }
  return ok
}

// --- the history -------------------------------------------------------------------------

/** Three writers' history: a register with concurrent versions, a counter, a set, a delete. */
function buildHistory () {
  const [a, b, c] = [A, B, C].map((id) => new ReplicaState(id, { clock: fixedClock() }))
  a.put('k', { text: 'from A', n: [1, 2] })
  b.put('k', 'from B')
  a.increment('count', 3)
  b.decrement('count', 1.5)
  c.setAdd('set', 1)
  c.setAdd('set', { two: 2 })
  c.put('gone', null)
  c.delete('gone')
  a.put('__proto__', 'a key like any other')
  const all = (s) => [...s.allRecords()]
  for (const s of [a, b, c]) s.join([...all(a), ...all(b), ...all(c)])
  const history = all(a)
  // Writes made after that history: they supersede records of it (removes), so applying
  // them to the template is more than adding a key.
  a.put('k', 'A wins')
  b.setRemove('set', 1)
  c.increment('count', 2)
  b.delete('__proto__')
  const later = all(a).concat(all(b), all(c)).filter((r) => !history.includes(r))
  return { history, later: [...new Map(later.map((r) => [`${r.dot.seq}:${r.dot.replica}`, r])).values()] }
}

export const { history: HISTORY, later: LATER } = buildHistory()
export const HISTORY_DOTS = new Set(HISTORY.map((r) => `${r.dot.seq}:${r.dot.replica}`))
/** The history's version vector: horizons at or below it are ones a fresh store can adopt. */
export const HISTORY_VECTOR = Object.fromEntries([A, B, C].map((id) => [id, Math.max(...HISTORY.filter((r) => r.dot.replica === id).map((r) => r.dot.seq))]))

/** Each writer's part of the history, sealed by it as one batch: how a store came to hold it. */
const HISTORY_SEALS = new Map()
const HISTORY_OPENED = [A, B, C].map((id) => {
  const w = WRITERS.find((x) => x.id === id)
  const [{ bytes }] = new Provenance().sealOwn(id, HISTORY.filter((r) => r.dot.replica === id), w.sign, 1 << 20)
  const batch = decodeSealedBatch(bytes)
  registerSeal(HISTORY_SEALS, batch)
  const { seal, leaves } = openSeal(batch, verify)
  // The store keeps the history's own record objects (shared by every fresh store, frozen).
  const records = batch.records.map((r) => HISTORY.find((h) => h.dot.seq === r.dot.seq && h.dot.replica === r.dot.replica))
  checkSame(records.map(recordLeaf), batch.records.map(recordLeaf), 'the history as sealed')
  return { seal, leaves, records }
})

/** A store holding the history, each record with its seal, as a peer that received it by gossip. */
export function freshStore () {
  const clock = fixedClock()
  const store = new ReplicaState(L, { clock })
  const provenance = new Provenance()
  store.join(HISTORY)
  for (const { seal, leaves, records } of HISTORY_OPENED) provenance.attach(seal, records, leaves)
  return { store, clock, provenance }
}

/** Everything observable about a store. */
export function snapshot ({ store, clock }) {
  return {
    digest: store.digest(),
    vector: store.versionVector(),
    entries: store.list(),
    versions: store.list().map(([key]) => store.versions(key)),
    records: store.recordCount(),
    size: store.size(),
    horizon: store.horizon(),
    lastSeq: store.lastSeq,
    clock: clock.peek()
  }
}

// --- valid records -----------------------------------------------------------------------

const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)))
export const replicaId = fc.oneof(fc.constantFrom(A, B, C, L), fc.string({ minLength: 1, maxLength: 12 }), anyString)
export const seq = fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }))
const dot = fc.record({ replica: replicaId, seq }, { noNullPrototype: true })
const count = fc.oneof(fc.double({ min: 0, max: 1e300, noNaN: true }), fc.nat()).map((x) => x + 0)
const op = fc.oneof(
  json.map((value) => ({ type: 'put', value })),
  fc.constant({ type: 'delete' }),
  fc.record({ p: count, n: count }).map(({ p, n }) => ({ type: 'counter', p, n })),
  json.map((element) => ({ type: 'set-add', element })),
  json.map((element) => ({ type: 'set-remove', element }))
)

/** Structurally valid records by `author` (not necessarily ones a replica would write). */
function randomRecordBy (author) {
  return fc.record({
    author,
    seq,
    key: fc.oneof(fc.constantFrom('k', 'count', 'set', 'gone', '__proto__'), fc.string({ minLength: 1, maxLength: 16 }), anyString),
    op,
    hlc: fc.record({ wall: fc.oneof(fc.constant(NOW), fc.nat({ max: Number.MAX_SAFE_INTEGER })), logical: fc.nat({ max: 0xffff_ffff }) }, { noNullPrototype: true }),
    others: fc.array(fc.tuple(replicaId, seq), { maxLength: 4 }),
    removes: fc.array(dot, { maxLength: 4 }),
    signature: fc.option(fc.uint8Array({ minLength: 1, maxLength: 70 }), { nil: undefined })
  }).map(({ author: replica, seq: own, key, op: o, hlc, others, removes, signature }) => ({
    dot: { replica, seq: own },
    key,
    op: o,
    hlc,
    clock: Object.fromEntries([...others.filter(([r]) => r !== replica), [replica, own]]),
    removes: [...new Map(removes.filter((d) => d.replica !== replica || d.seq < own).map((d) => [`${d.seq}:${d.replica}`, d])).values()],
    ...(signature === undefined ? {} : { signature })
  }))
}

export const record = fc.oneof(fc.constantFrom(...HISTORY, ...LATER), randomRecordBy(replicaId))
export const records = fc.array(record, { maxLength: 6 })

/** Records `writer` could have sealed: its own of the history and later, or random ones in its name. */
export function recordsBy (writerIndex, max = 6) {
  const id = WRITERS[writerIndex].id
  const known = [...HISTORY, ...LATER].filter((r) => r.dot.replica === id)
  const one = known.length === 0 ? randomRecordBy(fc.constant(id)) : fc.oneof(fc.constantFrom(...known), randomRecordBy(fc.constant(id)))
  return fc.array(one, { minLength: 1, maxLength: max })
}

// --- sealed batches ----------------------------------------------------------------------

function sealKey (author, signature) {
  return `${author}/${hex(signature)}`
}

/** Remembers a whole batch (as its author sealed it) as genuine: its records by leaf. */
export function registerSeal (seals, batch) {
  check(batch.indices.length === 0, 'only whole batches are registered')
  seals.set(sealKey(batch.author, batch.signature), batch.records)
}

export function mergeSeals (a, b) {
  return new Map([...a.seals, ...b.seals])
}

/** The records (by leaf) its author sealed under this batch's signature, if it made that seal. */
export function genuineSeal (batch, seals) {
  const key = sealKey(batch.author, batch.signature)
  return seals.get(key) ?? HISTORY_SEALS.get(key)
}

/**
 * A batch that opened proves genuine records: its seal is one its author made, of a tree of
 * that size, and each record is the one sealed at its leaf (equal as decoded, not only in hash).
 */
export function checkGenuine (batch, opened, seals) {
  const genuine = genuineSeal(batch, seals)
  check(genuine !== undefined, () => `a batch by ${batch.author} opened with a signature its author never made: ${show(batch)}`)
  check(batch.leaves === genuine.length, () => `a batch opened as a tree of ${batch.leaves} leaves; its author sealed ${genuine.length}`)
  batch.records.forEach((r, i) => {
    const leaf = opened.leaves[i]
    checkSame(r, genuine[leaf], `record ${i} of a batch that opened (leaf ${leaf}), against the record its author sealed there`)
  })
}

/** `arbitrary` `some` times in `some + none`, else undefined. */
export function rarely (arbitrary, some, none) {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: none }, { arbitrary, weight: some })
}

/**
 * One writer's records sealed as it seals them (split into batches of about `maxBytes`),
 * then perhaps relayed in part by a peer that received them (with proofs), perhaps signed
 * with another writer's key (a forgery: never registered, must never open).
 */
const sealedGroup = fc.nat({ max: WRITERS.length - 1 }).chain((w) => fc.record({
  writer: fc.constant(w),
  records: recordsBy(w),
  // Now and then small: a batch a record, or a few (a signature each, so slow to make).
  maxBytes: fc.oneof({ arbitrary: fc.constant(1 << 20), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 600 }), weight: 1 }),
  relay: rarely(fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), 1, 2),
  forger: rarely(fc.nat({ max: WRITERS.length - 1 }).filter((f) => f !== w), 1, 11)
}))

function sealGroup ({ writer: w, records: list, maxBytes, relay, forger }, seals) {
  const { id, sign } = WRITERS[w]
  const sealed = new Provenance().sealOwn(id, list, forger === undefined ? sign : WRITERS[forger].sign, maxBytes)
  // A record the store refuses makes the whole message one the decoder refuses: nothing to relay or register.
  if (!list.every(isValid)) return sealed.map((s) => s.bytes)
  const holder = new Provenance()
  const held = []
  for (const { bytes } of sealed) {
    const batch = decodeSealedBatch(bytes)
    if (forger === undefined) registerSeal(seals, batch)
    const { seal, leaves } = restoreSeal(batch)
    holder.attach(seal, batch.records, leaves)
    held.push(...batch.records)
  }
  if (relay === undefined) return sealed.map((s) => s.bytes)
  const picked = held.filter((_, i) => relay[i % relay.length])
  if (picked.length === 0) return sealed.map((s) => s.bytes)
  return holder.relay(picked, maxBytes).batches.map((b) => b.bytes)
}

/**
 * A message of sealed batches (a gossip message, a RECORDS frame's batch), with the seals it
 * was built from, and whether every record in it is one the store accepts (else the decoder
 * must refuse the message).
 */
export const sealedMessage = fc.array(sealedGroup, { minLength: 1, maxLength: 3 }).map((groups) => {
  const seals = new Map()
  const batches = groups.flatMap((g) => sealGroup(g, seals))
  return { bytes: encodeSealedBatches(batches), seals, valid: groups.every((g) => g.records.every(isValid)) }
})

/**
 * Edits a forger makes to well-formed batches it holds (reorder, drop, splice or alter
 * records; bend leaf indices, proof hashes, the tree size; move signatures and authors
 * between batches), re-encoded so they still decode: what must reach the seal check and fail
 * there, unless the edit left the meaning of the batch as it was.
 */
const EDITS = [
  'swap-records', 'drop-record', 'splice-record', 'add-record', 'alter-record', 'alter-record', 'reseq-record',
  'index', 'swap-indices', 'drop-index', 'proof-drop', 'proof-dup', 'proof-swap', 'proof-replace', 'proof-flip',
  'leaves', 'signature', 'author', 'whole-to-proof', 'duplicate-batch', 'drop-batch', 'swap-batches'
]
export const edit = fc.record({ op: fc.constantFrom(...EDITS), a: fc.nat(), b: fc.nat(), c: fc.nat(), value: fc.oneof(fc.constant('evil'), fc.jsonValue({ maxDepth: 1 })) })

function pick (list, n) {
  return list.length === 0 ? undefined : list[n % list.length]
}

export function applyEdit (batches, donors, e) {
  const out = batches.map((b) => ({ ...b, indices: [...b.indices], proof: [...b.proof], records: [...b.records] }))
  const at = out.length === 0 ? 0 : e.a % out.length
  const batch = out[at]
  const donor = pick(donors, e.b)
  if (batch === undefined) return out
  const n = batch.records.length
  const i = e.b % n
  const j = e.c % n
  const leafOf = (k) => batch.indices.length === 0 ? k : batch.indices[k]
  switch (e.op) {
    case 'swap-records': [batch.records[i], batch.records[j]] = [batch.records[j], batch.records[i]]; break
    case 'drop-record':
      if (n > 1) {
        if (batch.indices.length === 0) {
          // A partial batch as a relay would send it: the dropped leaf's hash joins the proof.
          const keep = batch.records.map((_, k) => k).filter((k) => k !== i)
          try {
            batch.proof = restoreSeal(batch).seal.tree.proof(keep)
          } catch (err) {
            expectTyped(err, [], 'restoreSeal') // an earlier edit broke the tree: drop the record all the same
          }
          batch.indices = keep
        } else batch.indices.splice(i, 1)
        batch.records.splice(i, 1)
      }
      break
    case 'splice-record': if (donor !== undefined) batch.records[i] = pick(donor.records, e.c); break
    case 'add-record': if (donor !== undefined) batch.records.push(pick(donor.records, e.c)); break
    case 'alter-record': {
      const r = batch.records[i]
      batch.records[i] = r.op.type === 'counter' ? { ...r, op: { ...r.op, p: r.op.p + 1 } } : { ...r, op: { type: 'put', value: e.value } }
      break
    }
    case 'reseq-record': {
      const r = batch.records[i]
      const seq = Math.max(1, r.dot.seq + (e.c % 2 === 0 ? 1 : -1))
      batch.records[i] = { ...r, dot: { ...r.dot, seq }, clock: { ...r.clock, [r.dot.replica]: seq }, removes: r.removes.filter((d) => d.replica !== r.dot.replica || d.seq < seq) }
      break
    }
    // Positions in the indices, not the records: after a drop-index there are fewer (a hole would not encode).
    case 'index': if (batch.indices.length > 0) { const k = e.b % batch.indices.length; batch.indices[k] = [batch.indices[k] + 1, batch.indices[k] - 1, e.c % (batch.leaves + 2), 0][e.c % 4] } break
    case 'swap-indices': if (batch.indices.length > 0) { const k = e.b % batch.indices.length; const l = e.c % batch.indices.length; [batch.indices[k], batch.indices[l]] = [batch.indices[l], batch.indices[k]] } break
    case 'drop-index': if (batch.indices.length > 0) batch.indices.splice(e.b % batch.indices.length, 1); break
    case 'proof-drop': if (batch.proof.length > 0) batch.proof.splice(e.c % batch.proof.length, 1); break
    case 'proof-dup': if (batch.proof.length > 0) batch.proof.splice(e.c % batch.proof.length, 0, batch.proof[e.c % batch.proof.length]); break
    case 'proof-swap': if (batch.proof.length > 1) { const k = e.c % batch.proof.length; const l = (k + 1) % batch.proof.length; [batch.proof[k], batch.proof[l]] = [batch.proof[l], batch.proof[k]] } break
    case 'proof-replace': if (batch.proof.length > 0) batch.proof[e.c % batch.proof.length] = recordLeaf(pick(donor?.records ?? batch.records, e.b)); break
    case 'proof-flip': if (batch.proof.length > 0) { const k = e.c % batch.proof.length; const h = Uint8Array.from(batch.proof[k]); h[e.b % 32] ^= 1 << (e.a % 8); batch.proof[k] = h } break
    case 'leaves': batch.leaves = Math.max(1, [batch.leaves + 1, batch.leaves - 1, batch.leaves * 2, n][e.c % 4]); break
    case 'signature': if (donor !== undefined) batch.signature = donor.signature; break
    case 'author': if (donor !== undefined) { batch.author = donor.author; batch.records = batch.records.map((r) => ({ ...r, dot: { ...r.dot, replica: donor.author } })) } break
    case 'whole-to-proof': if (batch.indices.length === 0) batch.indices = batch.records.map((_, k) => leafOf(k)); break
    case 'duplicate-batch': out.splice(at, 0, { ...batch }); break
    case 'drop-batch': if (out.length > 1) out.splice(at, 1); break
    case 'swap-batches': { const k = e.b % out.length; [out[at], out[k]] = [out[k], out[at]]; break }
  }
  return out
}

/** Messages of valid records, as sealed: mostly from a fixed corpus (they are slow to make), some fresh. */
export const validCorpus = corpus(sealedMessage.filter((m) => m.valid), 48)
export const validMessages = fc.oneof({ arbitrary: validCorpus, weight: 4 }, { arbitrary: sealedMessage.filter((m) => m.valid), weight: 1 })

/** Valid messages from `messages` put through one to three forger's edits (see EDITS), with the seals of both messages each drew on. */
export function tampered (messages) {
  return fc.tuple(messages, messages, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([m, donor, edits]) => {
    const donors = decodeSealedBatches(donor.bytes).map((d) => d.batch)
    const batches = edits.reduce((bs, e) => applyEdit(bs, donors, e), decodeSealedBatches(m.bytes).map((d) => d.batch))
    const bytes = encodeSealedBatches(batches.map((b) => encodeSealedBatch({ ...b, records: b.records.map(signingBytes) })))
    return { bytes, seals: new Map([...m.seals, ...donor.seals]), valid: false, genuine: false }
  })
}

export const tamperedMessage = tampered(validMessages)

export function isValid (r) {
  const { signature: _, ...unsigned } = r
  try {
    validateRecord(unsigned, LIMITS)
    return true
  } catch (err) {
    expectTyped(err, [ReplicaError], 'validateRecord')
    return false
  }
}

/** What a message that is not a valid one as made carries. */
export const NO_SEALS = { seals: new Map(), valid: false }

/** Applies records one at a time; refused and duplicate records must change nothing. Returns how many were applied and refused. */
export function applyEach (target, list) {
  let refused = 0
  let applied = 0
  for (const r of list) {
    const before = snapshot(target)
    let result
    try {
      result = target.store.apply(r)
    } catch (err) {
      expectTyped(err, [ReplicaError], 'the store')
      checkSame(snapshot(target), before, 'the store after refusing a record')
      refused++
      continue
    }
    if (result === 'duplicate') checkSame(snapshot(target), before, 'the store after a record it already held')
    else applied++
  }
  return { applied, refused }
}

/**
 * What a peer does with the batches of a message that decoded, step by step: a batch by an
 * author off the writers list is dropped; one that brings nothing new is dropped unopened;
 * otherwise its seal is checked with the real verifier (BatchSealError, changing nothing, or
 * genuine records: `checkGenuine`), then its new records are applied one by one and their
 * seal kept. `session` (anti-entropy) learns every dot sent and whether all was good;
 * `verifier` is the real one but in the harness's own tests.
 * Returns what the receive path counts, and the records applied.
 */
export function receiveSealed (target, decoded, { seals, writers, session, verifier = verify }) {
  const counts = { writesRemote: 0, rejected: 0, rejectedBatches: 0, duplicateBatches: 0, unauthorized: 0 }
  const fresh = []
  for (const { batch } of decoded) {
    if (session !== undefined) for (const r of batch.records) session.vouch(r.dot.replica, [r.dot.seq])
    if (writers !== undefined && !writers.has(batch.author)) {
      counts.unauthorized += batch.records.length
      continue
    }
    const news = []
    batch.records.forEach((r, i) => { if (!target.store.has(r.dot)) news.push(i) })
    if (news.length === 0) {
      counts.duplicateBatches++
      continue
    }
    const before = snapshot(target)
    let opened
    try {
      opened = openSeal(batch, verifier)
    } catch (err) {
      expectTyped(err, [BatchSealError], 'openSeal')
      checkSame(snapshot(target), before, 'the store after a batch whose seal did not open')
      counts.rejectedBatches++
      counts.rejected += batch.records.length
      if (session !== undefined) session.clean = false
      continue
    }
    checkGenuine(batch, opened, seals)
    const applied = []
    const leaves = []
    for (const i of news) {
      const { applied: one, refused } = applyEach(target, [batch.records[i]])
      if (one === 1) {
        applied.push(batch.records[i])
        leaves.push(opened.leaves[i])
      }
      counts.rejected += refused
      if (refused > 0 && session !== undefined) session.clean = false
    }
    target.provenance.attach(opened.seal, applied, leaves)
    counts.writesRemote += applied.length
    fresh.push(...applied)
  }
  return { counts, fresh }
}

/** Everything `target` holds, relayed as it would relay it: every batch must open, and no record may lack a seal. */
export function checkRelayable (target, what) {
  const all = [...target.store.allRecords()]
  const { batches, unsealed } = target.provenance.relay(all, 64 * 1024)
  check(unsealed.length === 0, () => `${what}: ${unsealed.length} record(s) held with no seal to relay them with`)
  let relayed = 0
  for (const { bytes } of batches) {
    const batch = decodeSealedBatch(bytes)
    try {
      openSeal(batch, verify)
    } catch (err) {
      expectTyped(err, [], 'openSeal')
      check(false, () => `${what}: a batch this replica relays does not open (${err.message}): ${show(batch)}`)
    }
    relayed += batch.records.length
  }
  check(relayed === all.length, `${what}: relayed ${relayed} of ${all.length} records`)
}
