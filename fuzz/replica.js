// A small replica history and the records around it, shared by the gossip and anti-entropy
// targets: a store per input (so a counterexample replays on its own), its observable
// state, and arbitraries of valid records.

import { encodeBatch, encodeRecord, HybridClock, ReplicaError, ReplicaState } from '../dist/src/replica/index.js'
import { resolveRecordLimits } from '../dist/src/replica/validate.js'
import { fc, anyString, checkSame, expectTyped } from './lib.js'

export const LIMITS = resolveRecordLimits()
export const NOW = 1_700_000_000_000

/** Every store in this target reads the same fixed wall clock, so runs replay exactly. */
const fixedClock = () => new HybridClock(() => NOW)

/** Three writers' history: a register with concurrent versions, a counter, a set, a delete. */
function buildHistory () {
  const [a, b, c] = ['A', 'B', 'C'].map((id) => new ReplicaState(id, { clock: fixedClock() }))
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

export function freshStore () {
  const clock = fixedClock()
  const store = new ReplicaState('L', { clock })
  store.join(HISTORY)
  return { store, clock }
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
export const replicaId = fc.oneof(fc.constantFrom('A', 'B', 'C', 'L'), fc.string({ minLength: 1, maxLength: 12 }), anyString)
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

/** Structurally valid records (not necessarily ones a replica would write). */
const randomRecord = fc.record({
  dot,
  key: fc.oneof(fc.constantFrom('k', 'count', 'set', 'gone', '__proto__'), fc.string({ minLength: 1, maxLength: 16 }), anyString),
  op,
  hlc: fc.record({ wall: fc.oneof(fc.constant(NOW), fc.nat({ max: Number.MAX_SAFE_INTEGER })), logical: fc.nat({ max: 0xffff_ffff }) }, { noNullPrototype: true }),
  others: fc.array(fc.tuple(replicaId, seq), { maxLength: 4 }),
  removes: fc.array(dot, { maxLength: 4 }),
  signature: fc.option(fc.uint8Array({ minLength: 1, maxLength: 70 }), { nil: undefined })
}).map(({ dot: own, key, op: o, hlc, others, removes, signature }) => ({
  dot: own,
  key,
  op: o,
  hlc,
  clock: Object.fromEntries([...others.filter(([r]) => r !== own.replica), [own.replica, own.seq]]),
  removes: [...new Map(removes.filter((d) => d.replica !== own.replica || d.seq < own.seq).map((d) => [`${d.seq}:${d.replica}`, d])).values()],
  ...(signature === undefined ? {} : { signature })
}))

export const record = fc.oneof(fc.constantFrom(...HISTORY, ...LATER), randomRecord)
export const records = fc.array(record, { maxLength: 6 })
export const validBatchBytes = fc.oneof(records.map((rs) => encodeBatch(rs)), record.map((r) => encodeRecord(r)))

/** Applies records one at a time; refused and duplicate records must change nothing. Returns how many were refused. */
export function applyEach (target, list) {
  let refused = 0
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
  }
  return { refused }
}
