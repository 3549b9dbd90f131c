// The chaos runner's verdict: pure checks over what the clients recorded and what the peers
// hold at the end. No I/O here.

/** JSON with sorted object keys, so equal values compare equal. */
export function canonical (value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

const dotName = (dot) => `${dot.replica.slice(-6)}:${dot.seq}`

/** The prefix of the store's retirement records: `hearsay/retired/<replica>` → `{ seq, term }`. */
export const RETIRED_PREFIX = 'hearsay/retired/'

const hlcAfter = (a, b) => a.wall > b.wall || (a.wall === b.wall && a.logical > b.logical)

/**
 * Retired replicas on one peer: the seq each is retired at and the clock of the newest
 * retirement record. A retired replica is left out of new clocks when the writer has
 * exactly that seq of it, so "absent" in a clock written after the retirement means "at the
 * retired seq".
 */
function retirementsOf (snap) {
  const out = new Map()
  for (const [key, value] of snap.values) {
    if (!key.startsWith(RETIRED_PREFIX) || typeof value?.seq !== 'number') continue
    const records = snap.versions.get(key) ?? []
    const newest = records.reduce((a, v) => a === undefined || hlcAfter(v.hlc, a) ? v.hlc : a, undefined)
    out.set(key.slice(RETIRED_PREFIX.length), { seq: value.seq, hlc: newest })
  }
  return out
}

/** Whether clock `clock` (written at `hlc`) covers dot `d`; see `checkWrites`. */
function clockCovers (clock, hlc, d, retired) {
  if (Object.hasOwn(clock, d.replica)) return clock[d.replica] >= d.seq
  const r = retired.get(d.replica)
  return r !== undefined && r.hlc !== undefined && r.seq >= d.seq && hlc !== undefined && hlcAfter(hlc, r.hlc)
}

/**
 * Whether the write `from` (a live version: dot, clock, hlc) is causally after dot `d`, as far
 * as can be shown; `records` (dot key → `{ dot, clock, removes, hlc }`, from the peers' logs)
 * lets it follow writes that are gone from the store. Every step is a happens-before edge:
 * a clock that covers `d`; a superseded dot of `d`'s replica at or after it (`removes`: the
 * writer held it); a superseded record that is after `d` in turn; an earlier write of the
 * same replica that is after `d` (a replica's writes follow one another).
 */
function isAfter (from, d, retired, records, byReplica) {
  const seen = new Set()
  const stack = [from]
  while (stack.length > 0) {
    const x = stack.pop()
    const key = `${x.dot.replica}:${x.dot.seq}`
    if (seen.has(key)) continue
    seen.add(key)
    if (clockCovers(x.clock, x.hlc, d, retired)) return true
    const logged = records.get(key)
    for (const q of logged?.removes ?? []) {
      if (q.replica === d.replica && q.seq >= d.seq) return true
      const next = records.get(`${q.replica}:${q.seq}`)
      if (next !== undefined) stack.push(next)
    }
    // The write of the same replica just before this one, if a log still has it.
    const earlier = byReplica.get(x.dot.replica)
    if (earlier !== undefined) {
      const i = lastBelow(earlier, x.dot.seq)
      if (i >= 0) stack.push(earlier[i])
    }
  }
  return false
}

/** Index of the last record with seq < `seq` in a list sorted by seq, or -1. */
function lastBelow (list, seq) {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid].dot.seq < seq) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

/** Logged records by replica, each list sorted by seq. */
function indexByReplica (records) {
  const out = new Map()
  for (const record of records.values()) {
    if (!out.has(record.dot.replica)) out.set(record.dot.replica, [])
    out.get(record.dot.replica).push(record)
  }
  for (const list of out.values()) list.sort((a, b) => a.dot.seq - b.dot.seq)
  return out
}

/**
 * Every acknowledged write must be on every peer: a register write as a live version with
 * its dot, or superseded by a causally later write that can be named: a live version whose
 * clock covers the dot, or that is shown to be after it through the records in the peers'
 * logs (see `isAfter`).
 * Clocks leave out a retired replica when the writer has exactly its retired seq, so a
 * clock without the replica, written (by its hybrid clock) after the retirement record,
 * counts as having it at that seq. A counter at least the sum of its acknowledged increments (and at most that plus
 * the unknown ones); a set holding every acknowledged element. Nothing may be there that no
 * client wrote.
 *
 * `acked`/`unknown`: `{ type, key, value | by | element, receipt? }`; `snapshots`: per peer
 * `{ index, values: Map key → value, versions: Map key → versions[] }`. Counts how the
 * register writes were found in `found` (present, by clock, by a chain of supersessions).
 */
export function checkWrites (acked, unknown, snapshots, records = new Map()) {
  const found = { present: 0, clock: 0, superseded: 0 }
  const byReplica = indexByReplica(records)
  const violations = []
  let lost = 0
  const written = new Map() // key → Set of canonical values / elements written (acked or not)
  for (const w of [...acked, ...unknown]) {
    if (!written.has(w.key)) written.set(w.key, new Set())
    if (w.type === 'put') written.get(w.key).add(canonical(w.value))
    if (w.type === 'set') written.get(w.key).add(canonical(w.element))
  }
  const sums = new Map() // counter key → { acked, unknown }
  for (const [list, field] of [[acked, 'acked'], [unknown, 'unknown']]) {
    for (const w of list) {
      if (w.type !== 'counter') continue
      const s = sums.get(w.key) ?? { acked: 0, unknown: 0 }
      s[field] += w.by
      sums.set(w.key, s)
    }
  }
  for (const snap of snapshots) {
    const where = `peer ${snap.index}`
    const retired = retirementsOf(snap)
    let lostHere = 0
    for (const w of acked) {
      if (w.type === 'put') {
        const versions = snap.versions.get(w.key) ?? []
        const present = versions.some((v) => v.dot.replica === w.receipt.dot.replica && v.dot.seq === w.receipt.dot.seq && canonical(v.value) === canonical(w.value))
        const tally = snap === snapshots[0]
        if (present) {
          if (tally) found.present++
          continue
        }
        const known = versions.filter((v) => written.get(w.key)?.has(canonical(v.value)))
        if (known.some((v) => clockCovers(v.clock, v.hlc, w.receipt.dot, retired))) {
          if (tally) found.clock++
          continue
        }
        if (known.some((v) => isAfter(v, w.receipt.dot, retired, records, byReplica))) {
          if (tally) found.superseded++
          continue
        }
        lostHere++
        if (violations.length < 50) {
          const r = w.receipt.dot.replica
          const shown = versions.map((v) => `${canonical(v.value)}@${dotName(v.dot)} with ${Object.hasOwn(v.clock, r) ? `clock ${v.clock[r]}` : 'no clock entry'} for it, hlc ${v.hlc?.wall}.${v.hlc?.logical}`)
          const retirement = retired.get(r)
          const why = retirement === undefined ? 'not retired' : `retired at ${retirement.seq}, hlc ${retirement.hlc?.wall}.${retirement.hlc?.logical}`
          const inLogs = records.has(`${r}:${w.receipt.dot.seq}`) ? 'in a log' : 'in no log'
          violations.push(`${where}: acknowledged write ${w.key}=${canonical(w.value)} (dot ${dotName(w.receipt.dot)}, hlc ${w.receipt.hlc?.wall}.${w.receipt.hlc?.logical}, ${inLogs}) is gone and no live version is shown to be after it (versions: ${shown.join(', ') || 'none'}; its replica ${why})`)
        }
      } else if (w.type === 'set') {
        const members = snap.values.get(w.key)
        if (Array.isArray(members) && members.some((m) => canonical(m) === canonical(w.element))) continue
        lostHere++
        if (violations.length < 50) violations.push(`${where}: acknowledged add of ${canonical(w.element)} to ${w.key} is missing`)
      }
    }
    for (const [key, sum] of sums) {
      const value = snap.values.get(key) ?? 0
      if (typeof value !== 'number' || value < sum.acked) {
        lostHere += typeof value === 'number' ? sum.acked - value : sum.acked
        violations.push(`${where}: counter ${key} is ${canonical(value)}, below the ${sum.acked} acknowledged`)
      } else if (value > sum.acked + sum.unknown) {
        violations.push(`${where}: counter ${key} is ${value}, above the ${sum.acked} acknowledged plus ${sum.unknown} unknown`)
      }
    }
    // Nothing a client did not write.
    for (const [key, versions] of snap.versions) {
      if (key.startsWith('hearsay/')) continue
      for (const v of versions) {
        if (!written.get(key)?.has(canonical(v.value))) violations.push(`${where}: ${key} holds ${canonical(v.value)}, which no client wrote`)
      }
    }
    for (const [key, value] of snap.values) {
      if (!key.startsWith('set/')) continue
      for (const m of Array.isArray(value) ? value : [value]) {
        if (!written.get(key)?.has(canonical(m))) violations.push(`${where}: set ${key} holds ${canonical(m)}, which no client added`)
      }
    }
    lost = Math.max(lost, lostHere)
  }
  return { lost, violations, found }
}

/** Every peer's terms, in the order they were observed, must never go down (restarts included). */
export function checkTerms (observations) {
  const violations = []
  for (const [index, list] of observations) {
    const last = new Map() // source → { term, at }
    for (const o of list) {
      const prev = last.get(o.source)
      if (prev !== undefined && o.term < prev.term) {
        violations.push(`peer ${index}: ${o.source} term went back from ${prev.term} (at ${prev.at} ms) to ${o.term} (at ${o.at} ms)`)
      }
      if (prev === undefined || o.term >= prev.term) last.set(o.source, { term: o.term, at: o.at })
    }
  }
  return violations
}

/**
 * Exactly one coordinator: every peer names the same one and term, that term is the highest
 * any peer has seen, and it is the peer the bully rule picks (highest priority, then PeerId).
 * `snapshots`: `{ index, peerId, term, leader }`; `highestObserved`: the top term seen all run.
 */
export function checkLeader (snapshots, { expected, highestObserved }) {
  const violations = []
  const named = new Set(snapshots.map((s) => s.leader === undefined ? 'none' : `${s.leader.peerId}@${s.leader.term}`))
  if (named.size !== 1 || named.has('none')) {
    violations.push(`the peers do not agree on one coordinator: ${snapshots.map((s) => `peer ${s.index} → ${s.leader === undefined ? 'none' : `${s.leader.peerId.slice(-6)}@${s.leader.term}`}`).join(', ')}`)
    return violations
  }
  const leader = snapshots[0].leader
  const top = Math.max(highestObserved, ...snapshots.map((s) => s.term))
  if (leader.term !== top) violations.push(`the coordinator's term ${leader.term} is not the highest term seen (${top})`)
  if (leader.peerId !== expected) violations.push(`the coordinator is ${leader.peerId}, not ${expected}, the highest-ranked peer`)
  return violations
}

/**
 * Equal digests must mean equal answers: every client key has the same value, and each
 * register the same versions, on every peer. (The digest covers which records a replica
 * holds, not which of them are live.) Keys under `hearsay/` are left out: the coordinator's
 * jobs keep writing them while the snapshots are taken.
 */
export function checkSameAnswers (snapshots) {
  const violations = []
  const [first, ...rest] = snapshots
  if (first === undefined) return violations
  const keys = new Set(snapshots.flatMap((s) => [...s.values.keys()]).filter((k) => !k.startsWith('hearsay/')))
  const versionsOf = (snap, key) => (snap.versions.get(key) ?? []).map((v) => `${v.dot.replica}:${v.dot.seq}`).sort().join(' ')
  for (const key of [...keys].sort()) {
    for (const snap of rest) {
      const a = canonical(first.values.get(key))
      const b = canonical(snap.values.get(key))
      if (a !== b) violations.push(`peer ${snap.index} answers ${key} = ${b}, peer ${first.index} ${a}`)
      else if (versionsOf(first, key) !== versionsOf(snap, key)) violations.push(`peer ${snap.index} has other versions of ${key} than peer ${first.index}: ${versionsOf(snap, key)} against ${versionsOf(first, key)}`)
    }
  }
  return violations
}
