// The chaos runner: real peer processes, a seeded schedule of partitions, heals, SIGKILLs,
// restarts and SIGSTOP pauses, while clients write registers, counters and sets through
// random live peers and record every acknowledged write. At the end everything is healed and
// checked; one JSON verdict goes to stdout (progress to stderr), and the exit code is 1 on
// any violation.
//   npm run chaos -- --peers 5 --seconds 120 --seed 7
//   npm run chaos -- --hosts --loss 5 --seconds 120 --seed 7
// --hosts runs each peer on its own host (a network namespace, the lan profile; root only):
// partitions are packet-filter rules in the kernel, and --loss P drops P % of the packets on
// every link between peers for the whole run, the final convergence included.
// Imports the compiled library: run `npx tsc -p tsconfig.json` first.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCluster } from '../dist/src/harness/index.js'
import { parseArgs, sleep } from '../bench/lib.js'
import { createRng, createWriter, faultSchedule, scheduleDigest, seedOf } from './schedule.js'
import { checkLeader, checkSameAnswers, checkTerms, checkWrites, RETIRED_PREFIX } from './check.js'
import { createLogTail } from './logs.js'

const args = parseArgs({
  peers: 5,
  seconds: 120,
  seed: '',
  writers: 4,
  // Pause between one writer's operations (ms): keeps the clients from starving the peers.
  writeGap: 40,
  writeTimeout: 3_000,
  pollInterval: 500,
  // How long the cluster may take to converge after the final heal (ms) before it is a violation;
  // 0: 5 s for processes on loopback (local timers), 30 s for hosts (lan timers).
  maxConvergence: 0,
  // Each peer on its own host (network namespace), faults made by the kernel.
  hosts: false,
  // With --hosts: % of packets dropped on every link, all run long.
  loss: 0,
  // How long to wait for convergence at all, to measure it when it is slow.
  settle: 60_000,
  // Print the whole fault schedule and exit.
  dryRun: false
})
if (args.seed === '') args.seed = String(Math.floor(Math.random() * 0xFFFFFFFF))
if (!Number.isInteger(args.peers) || args.peers < 2 || args.peers > 15) throw new Error('--peers must be 2..15')
if (!(args.seconds > 0)) throw new Error('--seconds must be > 0')
if (!Number.isInteger(args.loss) || args.loss < 0 || args.loss > 100) throw new Error('--loss must be an integer 0..100')
if (args.loss > 0 && !args.hosts) throw new Error('--loss needs --hosts: only the kernel drops packets')
if (args.maxConvergence === 0) args.maxConvergence = args.hosts ? 30_000 : 5_000

const seed = seedOf(args.seed)
const root = createRng(seed)
const schedule = faultSchedule(root.fork(), { peers: args.peers, durationMs: args.seconds * 1000 })
const writerRngs = Array.from({ length: args.writers }, () => root.fork())
if (args.dryRun) {
  process.stdout.write(JSON.stringify({ seed: args.seed, schedule: scheduleDigest(schedule), faults: schedule }) + '\n')
  process.exit(0)
}

const started = performance.now()
const clock = () => Math.round(performance.now() - started)
const log = (message) => { process.stderr.write(`[chaos ${(clock() / 1000).toFixed(1)}s] ${message}\n`) }

const acked = []
const unknown = []
const refused = new Map() // error code → count
const faults = { partition: 0, heal: 0, kill: 0, restart: 0, pause: 0, resume: 0 }
const violations = []
const terms = new Map() // index → [{ source, term, at }]
const leaderEvents = []
// Writers stop at the end of the schedule; the term poller once the checks are done.
let writing = true
let polling = true

const noteTerm = (index, source, term) => {
  if (typeof term !== 'number') return
  if (!terms.has(index)) terms.set(index, [])
  terms.get(index).push({ source, term, at: clock() })
}

log(`seed ${args.seed} (${seed}), ${args.peers} peers${args.hosts ? ` on their own hosts, ${args.loss} % loss` : ''}, ${args.seconds} s, ${schedule.length} faults scheduled (schedule ${scheduleDigest(schedule)})`)
// Our own directory: the logs are read after the peers stop, and kept when a check fails.
const baseDir = await mkdtemp(join(tmpdir(), 'hearsay-chaos-'))
const cluster = await createCluster({ size: args.peers, baseDir, ...(args.hosts ? { hosts: true } : { processes: true }) })
const tail = createLogTail(cluster.peers.map((p) => p.dataDir))
const onSignal = () => {
  void cluster.stop().then(async () => rm(baseDir, { recursive: true, force: true })).finally(() => process.exit(130))
}
process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)
cluster.onLine((index, line) => {
  if (line.event === 'leader') {
    noteTerm(index, 'leader event', line.term)
    leaderEvents.push({ index, peerId: line.peerId, term: line.term, at: clock() })
  }
})

let final
let diagnostics
// What kept the cluster from converging after the final heal, each time it changed.
const trail = []
try {
  await cluster.converged({ timeout: 60_000 })
  log(`cluster up: ${cluster.peers.map((p, i) => `${i}=${p.peerId.slice(-6)}${args.hosts ? `@${cluster.hosts[i]}` : ''}`).join(' ')}`)
  if (args.loss > 0) await cluster.loss(args.loss)
  const t0 = performance.now()
  const poller = Promise.all([pollTerms(), followLogs()])
  const writers = writerRngs.map((rng, id) => runWriter(createWriter(rng, `w${id}`)))
  await runSchedule(t0)
  writing = false
  await Promise.all(writers)
  log(`writes: ${acked.length} acknowledged, ${unknown.length} unknown; final heal`)

  // Final heal: everyone back, then the network whole again.
  await Promise.all(cluster.peers.map(async (p, i) => {
    if (p.state === 'paused') await cluster.resume(i)
    else if (p.state === 'killed' || p.state === 'exited') await cluster.restart(i)
  }))
  const healedAt = performance.now()
  await cluster.heal()
  trail.push({ ms: Math.round(performance.now() - healedAt), gist: 'healed', why: 'every peer told to refuse nobody' })
  const convergenceMs = await waitForConvergence(healedAt)
  if (convergenceMs === null) {
    violations.push(`no convergence within ${args.settle} ms of the final heal: ${trail.at(-1)?.why}`)
    diagnostics = await describePeers()
  } else {
    log(`converged ${convergenceMs} ms after the final heal`)
    if (convergenceMs > args.maxConvergence) violations.push(`convergence took ${convergenceMs} ms after the final heal, over ${args.maxConvergence} ms`)
  }
  const leaderMs = await waitForOneLeader(healedAt)
  polling = false
  await poller
  final = { convergenceMs, leaderMs, snapshots: await takeSnapshots() }
} catch (err) {
  violations.push(`the runner failed: ${err.stack ?? err}`)
} finally {
  await cluster.stop().catch((err) => { log(`stop failed: ${err.message}`) })
}
const verdict = final === undefined
  ? { chaos: 'hearsay', seed: args.seed, ok: false, violations }
  : finalChecks(final, await tail.poll().then(() => tail.records))
if (diagnostics !== undefined) verdict.diagnostics = diagnostics
if (verdict.ok) await rm(baseDir, { recursive: true, force: true })
else {
  // What the clients recorded, to check the kept data dirs again later.
  await writeFile(join(baseDir, 'chaos-writes.json'), JSON.stringify({ acked, unknown }))
  verdict.dataDir = baseDir
}
process.stdout.write(JSON.stringify(verdict) + '\n')
process.exitCode = verdict.ok ? 0 : 1

// ---------------------------------------------------------------------------------------

async function runSchedule (t0) {
  // A restart takes seconds (a new process loads libp2p); the schedule goes on meanwhile, and
  // the next fault on that peer waits for it.
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
        case 'pause': if (peer.state !== 'running') continue; await cluster.pause(step.peer); break
        case 'resume': if (peer.state !== 'paused') continue; await cluster.resume(step.peer); break
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
  for (const crash of cluster.unexpectedExits()) violations.push(`peer ${crash.index} exited by itself (${crash.code ?? crash.signal}): ${crash.tail.slice(-5).join(' | ')}`)
}

async function runWriter (writer) {
  while (writing) {
    const live = cluster.live()
    if (live.length === 0) {
      await sleep(50)
      continue
    }
    const index = writer.target(live)
    const op = writer.next()
    const record = { ...op, peer: index }
    const key = encodeURIComponent(op.key)
    try {
      let receipt
      const options = { timeout: args.writeTimeout }
      if (op.type === 'put') receipt = await cluster.api(index, 'PUT', `/v1/kv/${key}`, op.value, options)
      if (op.type === 'counter') receipt = await cluster.api(index, 'POST', `/v1/test/counter/${key}`, { by: op.by }, options)
      if (op.type === 'set') receipt = await cluster.api(index, 'POST', `/v1/test/set/${key}`, { add: op.element }, options)
      acked.push({ ...record, receipt })
    } catch (err) {
      // Not acknowledged: it may or may not have happened, so it may appear but need not.
      unknown.push(record)
      refused.set(err.code, (refused.get(err.code) ?? 0) + 1)
    }
    await sleep(args.writeGap)
  }
}

/** Reads what the peers append to their logs, before a compaction can drop it. */
async function followLogs () {
  while (polling) {
    await tail.poll()
    await sleep(250)
  }
}

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
    await sleep(args.pollInterval)
  }
}

/** Polls until every peer agrees (views and digests); the ms since the final heal, or null. */
async function waitForConvergence (healedAt) {
  const deadline = performance.now() + args.settle
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
}

/** Resolves with the ms from the final heal until all peers name one coordinator and term (or null). */
async function waitForOneLeader (healedAt) {
  const deadline = performance.now() + args.settle
  while (performance.now() < deadline) {
    const leaders = await Promise.all(cluster.peers.map(async (_p, i) => cluster.api(i, 'GET', '/v1/leader').catch(() => undefined)))
    const names = new Set(leaders.map((l) => l === undefined ? 'none' : `${l.peerId}@${l.term}`))
    if (names.size === 1 && !names.has('none')) return Math.round(performance.now() - healedAt)
    await sleep(100)
  }
  return null
}

/**
 * What every peer holds, taken again until the digests agree: the coordinator's jobs keep
 * writing (their runs, GC horizons), so one round can catch a write on its way.
 */
async function takeSnapshots () {
  const deadline = performance.now() + args.settle
  while (true) {
    const snapshots = await snapshotOnce()
    if (new Set(snapshots.map((s) => s.digest)).size === 1 || performance.now() > deadline) return snapshots
    await sleep(100)
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

/** Each live peer's figures, for a verdict that did not converge. */
async function describePeers () {
  return Promise.all(cluster.live().map(async (i) => {
    const status = await cluster.api(i, 'GET', '/v1/status').catch((err) => ({ error: err.message }))
    if (status.error !== undefined) return { index: i, ...status }
    const { digest, keys, clock, members, stats } = status
    return { index: i, peerId: cluster.peers[i].peerId, digest, keys, members, clock, kv: stats.kv }
  }))
}

function finalChecks ({ convergenceMs, leaderMs, snapshots }, records) {
  const digests = new Set(snapshots.map((s) => s.digest))
  if (digests.size !== 1) violations.push(`replicas differ: ${snapshots.map((s) => `peer ${s.index} ${s.digest.slice(0, 12)}`).join(', ')}`)
  violations.push(...checkSameAnswers(snapshots).slice(0, 20))
  const writes = checkWrites(acked, unknown, snapshots, records)
  violations.push(...writes.violations)
  violations.push(...checkTerms(terms))
  const expected = [...cluster.peers].map((p) => p.peerId).sort().at(-1)
  const highestObserved = Math.max(0, ...[...terms.values()].flat().map((o) => o.term))
  violations.push(...checkLeader(snapshots, { expected, highestObserved }))
  for (const crash of cluster.unexpectedExits()) {
    const line = `peer ${crash.index} exited by itself (${crash.code ?? crash.signal}): ${crash.tail.slice(-5).join(' | ')}`
    if (!violations.includes(line)) violations.push(line)
  }
  const final = snapshots[0].leader
  const count = (type) => acked.filter((w) => w.type === type).length
  return {
    chaos: 'hearsay',
    seed: args.seed,
    ok: violations.length === 0,
    peers: args.peers,
    seconds: args.seconds,
    hosts: args.hosts,
    ...(args.hosts ? { loss: args.loss, subnet: cluster.subnet } : {}),
    schedule: scheduleDigest(schedule),
    writes: {
      acknowledged: acked.length,
      puts: count('put'),
      increments: count('counter'),
      setAdds: count('set'),
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
    keys: snapshots[0].values.size,
    retiredReplicas: snapshots[0].retiredKeys.length,
    digest: snapshots[0].digest,
    violations: violations.slice(0, 50),
    durationMs: clock()
  }
}
