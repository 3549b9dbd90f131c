// A replica's log replayed at start (replayLog over a real log file): a writer's history of
// own writes (plain records), messages received through the real receive path (sealed
// entries, as Intake persists them), compactions (a checkpoint and a snapshot, as logSnapshot
// writes them, after adopting a GC horizon) and the stale append a compaction can race with.
//
// Untouched, the log replays to the writer's state exactly (view, digest, version vector,
// horizon, last seq), every record the writer could relay proven again. Then it is damaged:
// - entries changed under a valid frame (what the log's CRC-32 cannot see: a corruption it
//   misses, a bit flipped before the checksum was taken), by bytes or by a forger's edit of a
//   sealed batch that still decodes: replayLog counts the entries that do not decode (exactly
//   those) and drops the batches whose seal no longer opens, or throws MalformedCheckpointError only;
// - the file itself (flipped bits, zeroed words, cut, garbage appended): the log keeps the
//   intact prefix, and the replay is that prefix's.
// Either way the replica must never hold a record its log did not hold as written (a record
// of a changed plain entry aside: a plain entry carries no proof), must relay only batches
// that open, and must not count as seen a record the writer held that it lost (anti-entropy
// would never bring it back).
//
// `replicaLogTarget({ skip })` leaves named properties out, to look past one already known
// broken: `npm run fuzz -- --module FILE` on a file exporting `replicaLogTarget({ skip: [...] })`.

import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  BatchSealError, decodeCheckpoint, decodeRecord, decodeSealedBatch, dotKey, encodeRecord, encodeSealedBatch, HorizonNotCoveredError, HybridClock,
  isCheckpoint, logSnapshot, MalformedCheckpointError, openSeal, Provenance, ReplicaError, ReplicaState, replayLog, sealedEntry,
  signingBytes
} from '../../dist/src/replica/index.js'
import { Intake } from '../../dist/src/replica/intake.js'
import { newCounters } from '../../dist/src/replica/stats.js'
import { DEFAULT_MAX_RECORD_BYTES, openLog } from '../../dist/src/storage/index.js'
import { encodeRecords } from '../../dist/src/storage/framing.js'
import { fc, check, checkSame, expectTyped, fail, hex, mutate, mutationsOf, same, show } from '../lib.js'
import { applyEdit, edit, L, NOW, tampered, validCorpus, verify } from '../replica.js'

const SEALED_MAGIC = Buffer.from('\0hssb1', 'latin1')
const isSealed = (bytes) => Buffer.from(bytes.subarray(0, SEALED_MAGIC.length)).equals(SEALED_MAGIC)

// --- a writer's history ------------------------------------------------------------------

const json = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)))
const ownWrite = fc.record({
  kind: fc.constantFrom('put', 'put', 'delete', 'increment', 'set-add', 'set-remove'),
  key: fc.constantFrom('k', 'count', 'set', 'gone', 'own', '__proto__'),
  value: json
})
const step = fc.oneof(
  { arbitrary: ownWrite.map((own) => ({ own })), weight: 5 },
  // From the fixed corpus only: a fresh message costs more than the rest of a run.
  { arbitrary: validCorpus.map((m) => ({ receive: m.bytes })), weight: 3 },
  { arbitrary: tampered(validCorpus).map((m) => ({ receive: m.bytes })), weight: 1 },
  { arbitrary: fc.constantFrom('all', 'own', 'none').map((horizon) => ({ compact: horizon })), weight: 1 },
  { arbitrary: fc.constant({ stale: true }), weight: 1 }
)

const entryDamage = fc.record({
  at: fc.nat(),
  // A forger's edit applies to a sealed entry (a batch that still decodes); bytes to any entry.
  how: fc.oneof(
    { arbitrary: mutationsOf(3).map((mutations) => ({ mutations })), weight: 2 },
    { arbitrary: fc.array(edit, { minLength: 1, maxLength: 2 }).map((edits) => ({ edits })), weight: 2 }
  )
})
const fileDamage = fc.record({ kind: fc.constantFrom('flip', 'flip', 'zero', 'cut', 'garbage'), at: fc.nat(), bit: fc.nat({ max: 7 }), garbage: fc.uint8Array({ minLength: 1, maxLength: 64 }) })

const scenario = fc.record({
  steps: fc.array(step, { minLength: 1, maxLength: 10 }),
  damage: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 1 },
    { arbitrary: fc.array(entryDamage, { minLength: 1, maxLength: 3 }).map((entries) => ({ entries })), weight: 3 },
    { arbitrary: fc.array(fileDamage, { minLength: 1, maxLength: 2 }).map((file) => ({ file })), weight: 1 }
  )
})

function ownStep (w, { kind, key, value }) {
  try {
    switch (kind) {
      case 'put': return w.put(key, value)
      case 'delete': return w.delete(key)
      case 'increment': return w.increment(key, typeof value === 'number' ? value : 1)
      case 'set-add': return w.setAdd(key, value)
      case 'set-remove': return w.setRemove(key, value)
    }
  } catch (err) {
    expectTyped(err, [ReplicaError], 'a local write') // a counter op on a register, an amount out of range...
  }
  return undefined
}

/** Runs the steps on a writer as the service does; returns the writer and its log entries. */
function write (steps) {
  const clock = new HybridClock(() => NOW)
  const w = new ReplicaState(L, { clock })
  const provenance = new Provenance()
  let entries = []
  const intake = new Intake({
    state: w,
    provenance,
    counters: newCounters(),
    logDropped: () => {},
    verify,
    writers: () => undefined,
    persist: (persisted) => { entries.push(...persisted) },
    afterApply: () => {}
  })
  let collected = []
  for (const s of steps) {
    if (s.own !== undefined) {
      const record = ownStep(w, s.own)
      if (record !== undefined) entries.push(encodeRecord(record))
    } else if (s.receive !== undefined) {
      intake.receive(s.receive, { path: 'gossip', from: 'fuzz', receivedAt: NOW })
    } else if (s.compact !== undefined) {
      const held = [...w.allRecords()]
      if (s.compact !== 'none') {
        try {
          w.adoptHorizon(s.compact === 'all' ? w.versionVector() : { [L]: w.lastSeq })
        } catch (err) {
          expectTyped(err, [HorizonNotCoveredError], 'adoptHorizon') // gaps below it: no compaction drops anything then
        }
      }
      const kept = new Set(w.allRecords())
      collected = held.filter((r) => !kept.has(r) && r.dot.replica === L)
      entries = [...logSnapshot(w, provenance)]
    } else if (s.stale && collected.length > 0) {
      // An append queued before the compaction that collected it.
      entries.push(encodeRecord(collected[0]))
    }
  }
  return { w, clock, provenance, entries }
}

// --- what an entry says ------------------------------------------------------------------

/**
 * What replayLog makes of one entry: a checkpoint, records (sealed or plain), nothing
 * (malformed: it does not decode), or a sealed batch whose seal does not open (rejected).
 */
function readEntry (bytes) {
  if (isCheckpoint(bytes)) {
    try {
      return { checkpoint: decodeCheckpoint(bytes) }
    } catch (err) {
      expectTyped(err, [MalformedCheckpointError], 'decodeCheckpoint')
      return { badCheckpoint: true }
    }
  }
  let batch
  try {
    if (!isSealed(bytes)) return { plain: [decodeRecord(bytes)] }
    batch = decodeSealedBatch(bytes.subarray(SEALED_MAGIC.length))
  } catch (err) {
    expectTyped(err, [], 'a log entry')
    return { malformed: true }
  }
  try {
    openSeal(batch, verify)
  } catch (err) {
    expectTyped(err, [BatchSealError], 'openSeal')
    return { rejected: batch.records, batch }
  }
  return { sealed: batch.records, batch }
}

const recordId = (r) => hex(encodeRecord(r))

function damageEntry (entries, { at, how }) {
  const i = at % entries.length
  const bytes = entries[i]
  const batch = how.edits !== undefined && isSealed(bytes) ? readEntry(bytes).batch : undefined // a batch that decodes
  if (batch !== undefined) {
    const edited = how.edits.reduce((bs, e) => applyEdit(bs, [batch], e), [batch])[0]
    entries[i] = sealedEntry(encodeSealedBatch({ ...edited, records: edited.records.map(signingBytes) }))
  } else {
    entries[i] = mutate(bytes, how.mutations ?? [{ op: 'flip', a: at, b: 0, c: 0, bytes: new Uint8Array(0), huge: 0n, extra: new Uint8Array(0) }])
  }
}

/** The log file's bytes with `damage` done to them. */
function damageFile (bytes, damage) {
  bytes = Uint8Array.from(bytes)
  for (const d of damage) {
    const at = bytes.byteLength === 0 ? 0 : d.at % bytes.byteLength
    switch (d.kind) {
      case 'flip': if (bytes.byteLength > 0) bytes[at] ^= 1 << d.bit; break
      case 'zero': bytes.fill(0, at, Math.min(bytes.byteLength, at + 4)); break
      case 'cut': bytes = bytes.subarray(0, at); break
      case 'garbage': bytes = Uint8Array.from([...bytes, ...d.garbage]); break
    }
  }
  return bytes
}

// --- the property ------------------------------------------------------------------------

/** Everything observable about a store (its clock aside: replay reads its own). */
function view (store) {
  return {
    digest: store.digest(),
    vector: store.versionVector(),
    entries: store.list(),
    versions: store.list().map(([key]) => store.versions(key)),
    records: store.recordCount(),
    size: store.size(),
    horizon: store.horizon(),
    lastSeq: store.lastSeq
  }
}

/** What the store relays, all of it: batches that open, and which dots it has no seal for. */
function relayAll (store, provenance, what) {
  const { batches, unsealed } = provenance.relay([...store.allRecords()], 64 * 1024)
  for (const { bytes } of batches) {
    const batch = decodeSealedBatch(bytes)
    try {
      openSeal(batch, verify)
    } catch (err) {
      expectTyped(err, [], 'openSeal')
      fail(`${what}: the replica relays a batch that does not open (${err.message}): ${show(batch.records)}`)
    }
  }
  return unsealed.map((r) => dotKey(r.dot)).sort()
}

export function replicaLogTarget ({ skip = [] } = {}) {
  const checking = (name) => !skip.includes(name)
  return {
    name: 'replica-log',
    async: true,
    async setup () {
      // Real log files, on tmpfs where there is one: the log fsyncs its directory on create and after a cut, slow on a shared disk.
      const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
      return { dir: await mkdtemp(join(base, 'hearsay-fuzz-log-')) }
    },
    async teardown (context) {
      // The time limit can end the fuzzing while a run is still closing its log.
      await context.running?.catch(() => {})
      await rm(context.dir, { recursive: true, force: true })
    },
    input: () => scenario,
    format: (input) => ({ ...input, steps: input.steps.map((s) => s.receive !== undefined ? { receive: s.receive } : s) }),
    async run (context, input) {
      context.running = replayDamaged(context, input, checking)
      await context.running
    }
  }
}

/** One scenario: write it, damage it, replay it, check what the replica holds. */
async function replayDamaged (context, input, checking) {
  const { w, provenance, entries: written } = write(input.steps)
  if (written.length === 0) return
  const entries = [...written]
  for (const d of input.damage?.entries ?? []) damageEntry(entries, d)
  // The file as the log writes it (its own framing, a CRC-32 per entry), written at once: one
  // file reused by every run, as opening, appending and closing a log each time costs more
  // than the rest of a run.
  const framed = encodeRecords(entries, DEFAULT_MAX_RECORD_BYTES)
  await writeFile(join(context.dir, 'replica.log'), input.damage?.file === undefined ? framed : damageFile(framed, input.damage.file))
  {
    const skips = []
    const reopened = await openLog(context.dir, 'replica', { sync: 'none', onSkip: (info) => { skips.push(info) } })
    const kept = reopened.stats().records
    const replica = new ReplicaState(L, { clock: new HybridClock(() => NOW) })
    const proofs = new Provenance()
    let result
    try {
      result = await replayLog(reopened, replica, proofs, verify)
    } catch (err) {
      expectTyped(err, [MalformedCheckpointError], 'replayLog')
      check(entries.slice(0, kept).some((e) => readEntry(e).badCheckpoint), () => `replayLog threw ${err.message} with no bad checkpoint in the log`)
      return
    } finally {
      await reopened.close()
    }
    const writtenRead = written.map(readEntry)
    const read = entries.slice(0, kept).map((e, i) => e === written[i] ? writtenRead[i] : readEntry(e))
    check(!read.some((e) => e.badCheckpoint), 'replayLog went past a checkpoint that does not decode')
    checkSame(result.malformed, read.filter((e) => e.malformed).length, 'entries replayLog counted as malformed, against those that do not decode')
    // A batch that brings nothing new is skipped unopened, so rejections are at most those whose seal does not open.
    const rejected = read.filter((e) => e.rejected)
    check(result.rejectedBatches <= rejected.length && result.rejected <= rejected.reduce((n, e) => n + e.rejected.length, 0),
      () => `replayLog rejected ${result.rejectedBatches} batches (${result.rejected} records); only ${rejected.length} entries have a seal that does not open`)
    const checkpoint = read[0]?.checkpoint
    if (checkpoint === undefined) {
      checkSame(result.snapshotMissing, 0, 'snapshot entries missing from a log with no checkpoint')
    } else {
      // An entry whose seal no longer opens but whose records are all held (from other entries)
      // is skipped unopened, as the receive path does: nothing of it is missing.
      const intact = read.slice(1, 1 + checkpoint.records).filter((e) => e.plain !== undefined || e.sealed !== undefined ||
        (e.rejected !== undefined && e.rejected.length > 0 && e.rejected.every((r) => replica.has(r.dot)))).length
      check(result.snapshotMissing >= checkpoint.records - intact, () => `replayLog counted ${result.snapshotMissing} snapshot entries missing; ${checkpoint.records - intact} of ${checkpoint.records} did not replay`)
      checkSame(replica.horizon(), result.withheld === undefined ? checkpoint.horizon : {}, 'the horizon after a replay, against the checkpoint (withheld when its snapshot is incomplete)')
      checkSame(replica.lastSeq >= checkpoint.lastSeq, true, 'whether the replay kept the checkpoint\'s last seq')
    }

    if (input.damage === undefined) {
      checkSame(view(replica), view(w), 'the replica replayed from its log, against the replica that wrote it')
      checkSame(relayAll(replica, proofs, 'after a replay'), relayAll(w, provenance, 'the writer'), 'records a restarted replica holds without a seal, against the writer')
      return
    }
    if (input.damage.file !== undefined) {
      check(kept <= written.length, 'the log recovered more entries than were written')
      check(kept === written.length || skips.length > 0 || input.damage.file.some((d) => d.kind === 'cut'), 'entries went missing with nothing reported')
    }

    // Every record held was written, as it was written (a changed plain entry carries no proof to check).
    const asWritten = new Set(writtenRead.flatMap((r) => [...(r.sealed ?? []), ...(r.plain ?? [])]).map(recordId))
    const plainChanged = new Set(read.flatMap((e) => e.plain ?? []).map(recordId).filter((id) => !asWritten.has(id)))
    if (checking('as-written')) {
      for (const r of replica.allRecords()) {
        const id = recordId(r)
        if (asWritten.has(id) || plainChanged.has(id)) continue
        fail(`the replay applied record ${dotKey(r.dot)} from a changed sealed entry: ${show(r)} was never written (the writer holds ${show([...w.allRecords()].find((x) => dotKey(x.dot) === dotKey(r.dot)))})`)
      }
    }
    if (checking('relays-open')) relayAll(replica, proofs, 'after replaying a damaged log')

    // A record the writer held and the replica lost must not count as seen, or anti-entropy never brings it back.
    const untouched = read.every((e, i) => e.malformed || e.rejected || same(e, writtenRead[i]))
    if (checking('lost-not-seen') && untouched) {
      const held = new Set([...replica.allRecords()].map((r) => dotKey(r.dot)))
      for (const r of w.allRecords()) {
        if (held.has(dotKey(r.dot))) continue
        check(!replica.has(r.dot), () => `record ${dotKey(r.dot)} (key ${JSON.stringify(r.key)}) was lost by the replay and yet counts as seen (version vector ${show(replica.versionVector())}, horizon ${show(replica.horizon())}): anti-entropy will never bring it back`)
      }
    }
  }
}

export default replicaLogTarget()
