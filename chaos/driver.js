// What the chaos runner and the soak share: clients writing through random live peers and
// recording every acknowledged write, a fault schedule played against a process cluster, the
// terms and leaders seen all along, the final heal, convergence, and the checks of the end
// state. Each runner brings its own schedule and adds its own checks to the verdict.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sleep } from '../bench/lib.js'
import { checkJobOverlaps, checkLeader, checkSameAnswers, checkTerms, checkWrites, RETIRED_PREFIX } from './check.js'
import { createLogTail } from './logs.js'

/**
 * A driver over `cluster` (a process or hosts cluster). `log(message)` prints progress,
 * `clock()` is ms since the run started. Options: `writeTimeout`, `pollInterval` and
 * `settle` (ms, as the chaos runner's flags).
 */
export function createDriver (cluster, { log, clock, writeTimeout = 3_000, pollInterval = 500, settle = 60_000 }) {
  const acked = []
  const unknown = []
  const refused = new Map() // error code → count
  const faults = { partition: 0, heal: 0, kill: 0, restart: 0, pause: 0, resume: 0 }
  const violations = []
  const terms = new Map() // index → [{ source, term, at }]
  const leaderEvents = []
  // Every job run any peer reported ({ name, peer, term, start, end }, ms since the epoch), and
  // the SIGSTOP pauses by PeerId, for the overlap check.
  const jobRuns = []
  const pauses = new Map()
  // What kept the cluster from converging after the final heal, each time it changed.
  const trail = []
  const tail = createLogTail(cluster.peers.map((p) => p.dataDir))
  let writing = true
  let polling = true
  let background

  const noteTerm = (index, source, term) => {
    if (typeof term !== 'number') return
    if (!terms.has(index)) terms.set(index, [])
    terms.get(index).push({ source, term, at: clock() })
  }

  cluster.onLine((index, line) => {
    if (line.event === 'leader') {
      noteTerm(index, 'leader event', line.term)
      leaderEvents.push({ index, peerId: line.peerId, term: line.term, at: clock() })
    }
    if (line.event === 'job' && typeof line.start === 'number' && typeof line.end === 'number') {
      jobRuns.push({ name: line.name, peer: line.peer, term: line.term, start: line.start, end: line.end, outcome: line.outcome, index })
    }
  })

  /** Every peer's term and leader, over and over, until the checks are done. */
  async function pollTerms () {
    while (polling) {
      await Promise.all(cluster.live().map(async (i) => {
        try {
          const status = await cluster.api(i, 'GET', '/v1/status', undefined, { timeout: 1_000 })
          noteTerm(i, 'status', status.term)
          if (status.leader !== null) noteTerm(i, 'status leader', status.leader.term)
        } catch {
          // Paused or killed since live() answered: its next poll comes after it is back.
        }
      }))
      await sleep(pollInterval)
    }
  }

  /** Reads what the peers append to their logs, before a compaction can drop it. */
  async function followLogs () {
    while (polling) {
      await tail.poll()
      await sleep(250)
    }
  }

  /** One operation through peer `index`; recorded as acknowledged or unknown. */
  async function perform (writer, op, index) {
    const record = { ...op, peer: index }
    const key = encodeURIComponent(op.key)
    const options = { timeout: writeTimeout }
    try {
      let receipt
      if (op.type === 'put') receipt = await cluster.api(index, 'PUT', `/v1/kv/${key}`, op.value, options)
      if (op.type === 'counter') receipt = await cluster.api(index, 'POST', `/v1/test/counter/${key}`, { by: op.by }, options)
      if (op.type === 'set') receipt = await cluster.api(index, 'POST', `/v1/test/set/${key}`, { add: op.element }, options)
      if (op.type === 'set-remove') receipt = await cluster.api(index, 'POST', `/v1/test/set/${key}`, { remove: op.element }, options)
      acked.push({ ...record, receipt })
      writer.acknowledged?.(op, index)
    } catch (err) {
      // Not acknowledged: it may or may not have happened, so it may appear but need not.
      unknown.push(record)
      refused.set(err.code, (refused.get(err.code) ?? 0) + 1)
    }
  }

  return {
    acked,
    unknown,
    faults,
    violations,
    terms,
    leaderEvents,
    trail,
    jobRuns,

    /** Starts following terms and the peers' logs, until `stopPolling()`. */
    startPolling () {
      background = Promise.all([pollTerms(), followLogs()])
    },

    async stopPolling () {
      polling = false
      await background
    },

    /**
     * One client until `stopWriting()`: an operation through a random live peer (a set remove
     * through the peer that acknowledged the add), then `gapMs` of rest, or, with `rate`
     * (operations per second), the next operation on a steady beat that does not catch up
     * in bursts after a slow write.
     */
    async runWriter (writer, { gapMs = 40, rate } = {}) {
      let due = performance.now()
      while (writing) {
        const live = cluster.live()
        if (live.length === 0) {
          await sleep(50)
          continue
        }
        // The target first, as the chaos runner always drew them: one seed, one stream.
        const target = writer.target(live)
        const op = writer.next(live)
        const index = op.peer ?? target
        await perform(writer, op, index)
        if (rate === undefined) {
          await sleep(gapMs)
        } else {
          due = Math.max(due + 1000 / rate, performance.now())
          const wait = due - performance.now()
          if (wait > 0) await sleep(wait)
        }
      }
    },

    stopWriting () {
      writing = false
    },

    /**
     * Plays `schedule` (`{ at, action, peer?, groups? }`, ms after `t0`). A restart takes
     * seconds (a new process loads libp2p); the schedule goes on meanwhile, and the next fault
     * on that peer waits for it.
     */
    async runSchedule (schedule, t0) {
      const restarting = new Map()
      for (const step of schedule) {
        const wait = step.at - (performance.now() - t0)
        if (wait > 0) await sleep(wait)
        if (step.peer !== undefined) await restarting.get(step.peer)
        const peer = step.peer === undefined ? undefined : cluster.peers[step.peer]
        try {
          switch (step.action) {
            case 'partition': await cluster.partition(...step.groups); break
            case 'heal': await cluster.heal(); break
            case 'kill': if (peer.state !== 'running' && peer.state !== 'paused') continue; await cluster.kill(step.peer); break
            case 'restart': {
              if (peer.state !== 'killed') continue
              const index = step.peer
              restarting.set(index, cluster.restart(index)
                .catch((err) => { violations.push(`restart of peer ${index} failed: ${err.message}`) })
                .finally(() => { restarting.delete(index) }))
              break
            }
            case 'pause': {
              if (peer.state !== 'running') continue
              // From just before the signal: a run frozen by it ends after the resume.
              const from = Date.now()
              await cluster.pause(step.peer)
              if (!pauses.has(peer.peerId)) pauses.set(peer.peerId, [])
              pauses.get(peer.peerId).push({ from, to: Infinity })
              break
            }
            case 'resume': {
              if (peer.state !== 'paused') continue
              await cluster.resume(step.peer)
              const open = pauses.get(peer.peerId)?.find((p) => p.to === Infinity)
              if (open !== undefined) open.to = Date.now()
              break
            }
          }
          faults[step.action]++
          log(`${step.action}${step.groups === undefined ? '' : ' ' + step.groups.map((g) => g.join(',')).join(' | ')}${step.peer === undefined ? '' : ' ' + step.peer}`)
        } catch (err) {
          // A partition rule that did not reach a peer that was just paused or killed is set
          // again when it comes back; anything else is the harness failing.
          if (err.code === 'ERR_API_TIMEOUT' || err.code === 'ERR_API_UNREACHABLE') log(`${step.action}: ${err.message}`)
          else throw err
        }
      }
      await Promise.all(restarting.values())
      for (const crash of cluster.unexpectedExits()) violations.push(crashLine(crash))
    },

    /** Everyone back (restarted, resumed), then the network whole again; resolves with when the heal was done. */
    async finalHeal () {
      await Promise.all(cluster.peers.map(async (p, i) => {
        if (p.state === 'paused') {
          await cluster.resume(i)
          const open = pauses.get(p.peerId)?.find((q) => q.to === Infinity)
          if (open !== undefined) open.to = Date.now()
        }
        else if (p.state === 'killed' || p.state === 'exited') await cluster.restart(i)
      }))
      const healedAt = performance.now()
      await cluster.heal()
      trail.push({ ms: Math.round(performance.now() - healedAt), gist: 'healed', why: 'every peer told to refuse nobody' })
      return healedAt
    },

    /** Polls until every peer agrees (views and digests); the ms since the final heal, or null. */
    async waitForConvergence (healedAt) {
      const deadline = performance.now() + settle
      while (performance.now() < deadline) {
        const why = await cluster.divergence()
        const ms = Math.round(performance.now() - healedAt)
        if (why === undefined) return ms
        // Names only: which peer waits for which, not the incarnation numbers or digests.
        const gist = why.replace(/\d{2,}/g, 'N')
        if (trail.at(-1)?.gist !== gist) trail.push({ ms, gist, why })
        await sleep(100)
      }
      return null
    },

    /** Resolves with the ms from the final heal until all peers name one coordinator and term (or null). */
    async waitForOneLeader (healedAt) {
      const deadline = performance.now() + settle
      while (performance.now() < deadline) {
        const leaders = await Promise.all(cluster.peers.map(async (_p, i) => cluster.api(i, 'GET', '/v1/leader').catch(() => undefined)))
        const names = new Set(leaders.map((l) => l === undefined ? 'none' : `${l.peerId}@${l.term}`))
        if (names.size === 1 && !names.has('none')) return Math.round(performance.now() - healedAt)
        await sleep(100)
      }
      return null
    },

    /**
     * What every peer holds, taken again until the digests agree: the coordinator's jobs keep
     * writing (their runs, GC horizons), so one round can catch a write on its way.
     */
    async takeSnapshots () {
      const deadline = performance.now() + settle
      while (true) {
        const snapshots = await snapshotOnce()
        if (new Set(snapshots.map((s) => s.digest)).size === 1 || performance.now() > deadline) return snapshots
        await sleep(100)
      }
    },

    /** Each live peer's figures, for a verdict that did not converge. */
    async describePeers () {
      return Promise.all(cluster.live().map(async (i) => {
        const status = await cluster.api(i, 'GET', '/v1/status').catch((err) => ({ error: err.message }))
        if (status.error !== undefined) return { index: i, ...status }
        const { digest, keys, clock: vector, members, stats } = status
        return { index: i, peerId: cluster.peers[i].peerId, digest, keys, members, clock: vector, kv: stats.kv }
      }))
    },

    /**
     * The checks of the end state every runner makes, and the verdict fields they fill:
     * writes, convergence, leaders, faults, keys. Pushes what fails onto `violations`.
     */
    async endChecks ({ convergenceMs, leaderMs, snapshots }) {
      await tail.poll()
      const digests = new Set(snapshots.map((s) => s.digest))
      if (digests.size !== 1) violations.push(`replicas differ: ${snapshots.map((s) => `peer ${s.index} ${s.digest.slice(0, 12)}`).join(', ')}`)
      violations.push(...checkSameAnswers(snapshots).slice(0, 20))
      const writes = checkWrites(acked, unknown, snapshots, tail.records)
      violations.push(...writes.violations)
      violations.push(...checkTerms(terms))
      const expected = [...cluster.peers].map((p) => p.peerId).sort().at(-1)
      const highestObserved = Math.max(0, ...[...terms.values()].flat().map((o) => o.term))
      violations.push(...checkLeader(snapshots, { expected, highestObserved }))
      const label = (run) => `peer ${cluster.peers.findIndex((p) => p.peerId === run.peer)}`
      const overlaps = checkJobOverlaps(jobRuns, { pauses, label })
      violations.push(...overlaps.violations.slice(0, 20))
      for (const crash of cluster.unexpectedExits()) {
        const line = crashLine(crash)
        if (!violations.includes(line)) violations.push(line)
      }
      const final = snapshots[0].leader
      const count = (type) => acked.filter((w) => w.type === type).length
      return {
        writes: {
          acknowledged: acked.length,
          puts: count('put'),
          increments: count('counter'),
          setAdds: count('set'),
          ...(count('set-remove') > 0 || unknown.some((w) => w.type === 'set-remove') ? { setRemoves: count('set-remove') } : {}),
          unknown: unknown.length,
          unknownBy: Object.fromEntries(refused),
          lost: writes.lost,
          // How each acknowledged register write was found: live, covered by a live version's
          // clock, or superseded through a chain of writes read from the logs.
          registers: writes.found
        },
        convergenceMs,
        // What the cluster waited for after the final heal: [ms, reason] each time it changed.
        convergenceTrail: trail.map((t) => [t.ms, t.why]),
        leaderAgreementMs: leaderMs,
        leaders: {
          final: final === undefined ? null : { index: cluster.peers.findIndex((p) => p.peerId === final.peerId), peerId: final.peerId, term: final.term },
          changes: leaderEvents.length,
          distinct: new Set(leaderEvents.map((e) => e.peerId)).size,
          highestTerm: highestObserved
        },
        faults,
        // Every job run the peers reported, checked for two coordinators' runs overlapping in
        // time; overlaps with a run frozen by a SIGSTOP are counted apart (no lease stops a
        // frozen process: its term fences what it writes).
        jobs: {
          runs: jobRuns.length,
          coordinators: new Set(jobRuns.map((r) => r.peer)).size,
          overlaps: overlaps.overlaps - overlaps.paused,
          pausedOverlaps: overlaps.paused
        },
        keys: snapshots[0].values.size,
        retiredReplicas: snapshots[0].retiredKeys.length,
        digest: snapshots[0].digest
      }
    },

    /** What the clients recorded, next to the kept data dirs, to check them again later. */
    async keepWrites (dir, name) {
      await writeFile(join(dir, name), JSON.stringify({ acked, unknown }))
    }
  }

  /** What every peer holds now, through its API: status, every entry, register versions. */
  async function snapshotOnce () {
    const regKeys = [...new Set([...acked, ...unknown].filter((w) => w.type === 'put').map((w) => w.key))]
    return Promise.all(cluster.peers.map(async (p, index) => {
      const [status, list, leader] = await Promise.all([
        cluster.api(index, 'GET', '/v1/status'),
        cluster.api(index, 'GET', '/v1/kv'),
        cluster.api(index, 'GET', '/v1/leader').catch(() => undefined)
      ])
      const versions = new Map()
      // Retirement records too: their clocks tell when a replica left the clocks.
      const retiredKeys = list.entries.map((e) => e.key).filter((k) => k.startsWith(RETIRED_PREFIX))
      for (const key of [...regKeys, ...retiredKeys]) {
        const reply = await cluster.api(index, 'GET', `/v1/kv/${encodeURIComponent(key)}?versions=true`).catch((err) => {
          if (err.code === 'ERR_KEY_NOT_FOUND') return { versions: [] }
          throw err
        })
        versions.set(key, reply.versions)
      }
      noteTerm(index, 'status', status.term)
      return { index, peerId: p.peerId, digest: status.digest, term: status.term, leader, values: new Map(list.entries.map((e) => [e.key, e.value])), versions, retiredKeys }
    }))
  }
}

function crashLine (crash) {
  return `peer ${crash.index} exited by itself (${crash.code ?? crash.signal}): ${crash.tail.slice(-5).join(' | ')}`
}
