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
 * the unknown ones); a set holding every acknowledged element no client tried to remove, and
 * not holding an element whose remove was acknowledged by the peer that had acknowledged its
 * add (elements are unique, so that remove covered the only add). Nothing may be there that
 * no client wrote.
 *
 * `acked`/`unknown`: `{ type, key, value | by | element, peer?, receipt? }` (type `put`,
 * `counter`, `set` for an add, `set-remove` with `receipt.changed`); `snapshots`: per peer
 * `{ index, values: Map key → value, versions: Map key → versions[] }`. Counts how the
 * register writes were found in `found` (present, by clock, by a chain of supersessions).
 */
export function checkWrites (acked, unknown, snapshots, records = new Map()) {
  const found = { present: 0, clock: 0, superseded: 0 }
  const byReplica = indexByReplica(records)
  const violations = []
  let lost = 0
  const written = new Map() // key → Set of canonical values / elements written (acked or not)
  // Elements a client tried to remove (acknowledged or not): `key\n` + canonical element.
  const removeTried = new Set()
  for (const w of [...acked, ...unknown]) {
    if (w.type === 'set-remove') {
      removeTried.add(`${w.key}\n${canonical(w.element)}`)
      continue
    }
    if (!written.has(w.key)) written.set(w.key, new Set())
    if (w.type === 'put') written.get(w.key).add(canonical(w.value))
    if (w.type === 'set') written.get(w.key).add(canonical(w.element))
  }
  // A remove is only a promise when it removed something (`changed`) on the peer that had
  // acknowledged the element's one add: that peer held the add, so the remove covers it.
  const addedAt = new Map() // `key\n` + canonical element → peer that acknowledged the add
  for (const w of acked) if (w.type === 'set') addedAt.set(`${w.key}\n${canonical(w.element)}`, w.peer)
  let notHeld = 0
  for (const w of acked) {
    if (w.type !== 'set-remove' || w.receipt?.changed !== false) continue
    const at = addedAt.get(`${w.key}\n${canonical(w.element)}`)
    if (at === undefined || at !== w.peer) continue
    notHeld++
    violations.push(`peer ${w.peer} acknowledged the add of ${canonical(w.element)} to ${w.key} but held no add of it when asked to remove it`)
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
        // Removed since (or maybe removed): the remove's own check below says what must hold.
        if (removeTried.has(`${w.key}\n${canonical(w.element)}`)) continue
        const members = snap.values.get(w.key)
        if (Array.isArray(members) && members.some((m) => canonical(m) === canonical(w.element))) continue
        lostHere++
        if (violations.length < 50) violations.push(`${where}: acknowledged add of ${canonical(w.element)} to ${w.key} is missing`)
      } else if (w.type === 'set-remove' && w.receipt?.changed !== false && addedAt.get(`${w.key}\n${canonical(w.element)}`) === w.peer) {
        const members = snap.values.get(w.key)
        if (!Array.isArray(members) || !members.some((m) => canonical(m) === canonical(w.element))) continue
        lostHere++
        if (violations.length < 50) violations.push(`${where}: acknowledged remove of ${canonical(w.element)} from ${w.key} (made on peer ${w.peer}, which had acknowledged its only add) is undone: the element is back`)
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
  return { lost: lost + notHeld, violations, found }
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

/** The middle value of a non-empty list (the mean of the two middle ones for an even count). */
function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const mb = (bytes) => Math.round(bytes / 104857.6) / 10
const sec = (ms) => Math.round(ms / 1000)

/** Samples grouped by process, in order: a restart is a new process of the same peer. */
function byProcess (rows) {
  const out = new Map()
  for (const row of rows) {
    if (!out.has(row.process)) out.set(row.process, [])
    out.get(row.process).push(row)
  }
  return out
}

/**
 * Memory over a long run. Each process of a peer (a restart starts a new one) is measured
 * from `fromMs` into the run, or `warmupMs` after it started if that is later, to its last
 * sample: its RSS at the end (the median of its last `edge` samples) may exceed its RSS at the
 * start of that window (the median of the first `edge`) by at most `maxGrowth` (0.1: 10 %).
 * A window shorter than `minSpanMs` or with fewer than 2 × `edge` samples (a process killed
 * soon after the window opened, or started near the end) is reported but not checked; at
 * least one process must be checked, or the check proved nothing.
 *
 * `samples`: Map peer index → `[{ at, process, startedAt, rss }]` in time order (`at` and
 * `startedAt` in ms into the run, `rss` in bytes, `process` the peer's start count).
 */
export function checkRssGrowth (samples, { fromMs, warmupMs, minSpanMs, maxGrowth, edge = 3 }) {
  const violations = []
  const peers = []
  let checked = 0
  for (const [index, rows] of samples) {
    const processes = []
    for (const [process, list] of byProcess(rows.filter((r) => typeof r.rss === 'number' && r.rss > 0))) {
      const startedAt = list[0].startedAt
      const window = list.filter((r) => r.at >= Math.max(fromMs, startedAt + warmupMs))
      const entry = { process, startedAtMs: startedAt, samples: window.length, fromMs: window[0]?.at ?? null, toMs: window.at(-1)?.at ?? null }
      const span = window.length === 0 ? 0 : window.at(-1).at - window[0].at
      if (span < minSpanMs || window.length < 2 * edge) {
        processes.push({ ...entry, checked: false })
        continue
      }
      const baseline = median(window.slice(0, edge).map((r) => r.rss))
      const end = median(window.slice(-edge).map((r) => r.rss))
      const growth = end / baseline - 1
      checked++
      processes.push({ ...entry, checked: true, baselineMb: mb(baseline), endMb: mb(end), growthPct: Math.round(growth * 1000) / 10 })
      if (growth > maxGrowth) {
        violations.push(`peer ${index} (process ${process}): RSS grew ${Math.round(growth * 1000) / 10} % from ${mb(baseline)} MB (${sec(window[0].at)} s) to ${mb(end)} MB (${sec(window.at(-1).at)} s), over ${Math.round(maxGrowth * 1000) / 10} %`)
      }
    }
    peers.push({ index, processes })
  }
  if (checked === 0) violations.push(`the RSS growth check covered no process: none ran ${sec(minSpanMs)} s past its warm-up with ${2 * edge} samples`)
  return { peers, checked, violations }
}

/**
 * Compaction keeps a replica's log in proportion to what it holds: at every sample, the write
 * records in a peer's log file are at most `maxRatio` × the records the replica holds, plus
 * `slack` (a small store's log has its checkpoint and the writes since the last compaction);
 * and every peer compacted its log at least once.
 *
 * `samples`: Map peer index → `[{ at, process, held, logRecords, logBytes, compactions }]`
 * (`held`/`compactions` from the peer, `logRecords`/`logBytes` read from its file; a sample
 * without `held` — the peer did not answer — is skipped). Compactions are counted per
 * process (the count starts again at a restart) and summed.
 */
export function checkLogBound (samples, { maxRatio, slack }) {
  const violations = []
  const peers = []
  for (const [index, rows] of samples) {
    const usable = rows.filter((r) => typeof r.held === 'number' && typeof r.logRecords === 'number')
    let worst
    let over = 0
    for (const r of usable) {
      const ratio = r.logRecords / Math.max(1, r.held)
      if (worst === undefined || ratio > worst.ratio) worst = { ratio, atS: sec(r.at), held: r.held, logRecords: r.logRecords, logBytes: r.logBytes }
      if (r.logRecords > maxRatio * r.held + slack) {
        over++
        if (over <= 3) violations.push(`peer ${index} at ${sec(r.at)} s: its log has ${r.logRecords} write records (${r.logBytes} bytes) for ${r.held} held, over ${maxRatio} × held + ${slack}`)
      }
    }
    if (over > 3) violations.push(`peer ${index}: ${over - 3} more samples over the log bound`)
    let compactions = 0
    for (const list of byProcess(rows).values()) compactions += Math.max(0, ...list.map((r) => r.compactions ?? 0))
    if (usable.length > 0 && compactions === 0) violations.push(`peer ${index} never compacted its log (${usable.length} samples)`)
    peers.push({
      index,
      compactions,
      samples: usable.length,
      worstRatio: worst === undefined ? null : { ...worst, ratio: Math.round(worst.ratio * 100) / 100 }
    })
  }
  return { peers, violations }
}

/**
 * Pairs of job runs by different peers that overlap in time (`a.start < b.end && b.start <
 * a.end`, ms), per job name. A run is `{ name, peer, term, start, end }`; `a` started first.
 * Compares times taken on different peers: meaningful only where they share one clock (peers
 * on one machine, as in the harness and the chaos runner).
 */
export function findOverlaps (runs) {
  const overlaps = []
  const byName = new Map()
  for (const run of runs) {
    if (!byName.has(run.name)) byName.set(run.name, [])
    byName.get(run.name).push(run)
  }
  for (const list of byName.values()) {
    list.sort((x, y) => x.start - y.start || x.end - y.end)
    // Per peer, its run that ends last so far: a later-starting run overlaps it if it starts before that end.
    const latest = new Map()
    for (const run of list) {
      for (const [peer, earlier] of latest) {
        if (peer !== run.peer && earlier.end > run.start) overlaps.push({ a: earlier, b: run, ms: Math.min(earlier.end, run.end) - run.start })
      }
      const mine = latest.get(run.peer)
      if (mine === undefined || run.end > mine.end) latest.set(run.peer, run)
    }
  }
  return overlaps
}

function describeRun (run, label) {
  return `${label(run)} ${run.peer.slice(-6)} term ${run.term} [${run.start}, ${run.end}]`
}

/**
 * The chaos verdict's overlap check over every run recorded. `pauses` (peerId → [{ from, to }],
 * ms since the epoch) are SIGSTOPs: a run whose peer was frozen during it cannot see its lease
 * run out until it is resumed, which no lease can prevent (the fencing token, the term, is what
 * protects against it), so such an overlap is counted apart, not a violation.
 */
export function checkJobOverlaps (runs, { pauses = new Map(), label = () => 'peer' } = {}) {
  const violations = []
  let paused = 0
  const frozen = (run) => (pauses.get(run.peer) ?? []).some((p) => p.from < run.end && p.to > run.start)
  const overlaps = findOverlaps(runs)
  for (const { a, b, ms } of overlaps) {
    if (frozen(a) || frozen(b)) {
      paused++
      continue
    }
    violations.push(`job ${a.name}: ${describeRun(a, label)} overlaps ${describeRun(b, label)} by ${ms} ms`)
  }
  return { overlaps: overlaps.length, paused, violations }
}
