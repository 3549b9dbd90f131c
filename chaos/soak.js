// The soak: real peer processes under a steady load for a long time. Clients write registers,
// counters and sets (adding elements and removing their own older ones, so the live data stays
// bounded) at a steady rate through random live peers; every few minutes a fault: a SIGKILL
// and the restart, or a partition and the heal; the coordinator's maintenance jobs collect
// garbage and the peers compact their logs all along. Every `--sample-every` seconds each
// peer's RSS (from /proc), the records it holds, its compactions, and its log file (size and
// write records, read from the file) are sampled. At the end: the chaos runner's checks
// (acknowledged writes lost, convergence, one coordinator), plus RSS growth of every process
// from the window start to its end (≤ --max-growth %), and the log against the records held
// at every sample (compaction keeps it bounded) with at least one compaction per peer.
// One JSON verdict on stdout, progress on stderr, exit 1 on any violation (the data dirs are
// kept then, named in the verdict).
//   npm run soak -- --minutes 60 --peers 5
//   npm run soak -- --minutes 2 --seed 7          (the short version npm test runs)
// Windows scale with --minutes: the RSS window opens at a sixth of the run (minute 10 of 60),
// a restarted process is measured from a sixth of the run after its start, and a process is
// checked when its window spans at least a sixth of the run.
// Imports the compiled library: run `npx tsc -p tsconfig.json` first.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCluster } from '../dist/src/harness/index.js'
import { parseArgs, sleep } from '../bench/lib.js'
import { createRng, createWriter, scheduleDigest, seedOf, soakSchedule } from './schedule.js'
import { checkLogBound, checkRssGrowth } from './check.js'
import { countLogRecords } from './logs.js'
import { createDriver } from './driver.js'

const args = parseArgs({
  minutes: 60,
  peers: 5,
  seed: '',
  writers: 4,
  // Operations per second, all writers together.
  rate: 10,
  // Acknowledged set adds each writer keeps before it removes its oldest.
  keepElements: 25,
  // Seconds between faults (± a quarter), and how long each lasts; 0: a quarter of the run,
  // at most 180 s, and a third of that, at most 30 s.
  faultEvery: 0,
  faultDown: 0,
  // Seconds between samples; 0: 60 for a run of 10 minutes or more, 5 for a shorter one.
  sampleEvery: 0,
  // RSS of a process may grow at most this much (%) over its window.
  maxGrowth: 10,
  // Write records in a log at most this many times the records held, plus --log-slack.
  maxLogRatio: 2,
  logSlack: 50,
  writeTimeout: 3_000,
  pollInterval: 500,
  // How long the cluster may take to converge after the final heal (ms) before it is a violation.
  maxConvergence: 5_000,
  settle: 60_000,
  // Print the fault schedule and the windows and exit.
  dryRun: false
})
if (args.seed === '') args.seed = String(Math.floor(Math.random() * 0xFFFFFFFF))
if (!Number.isInteger(args.peers) || args.peers < 2 || args.peers > 15) throw new Error('--peers must be 2..15')
if (!(args.minutes > 0)) throw new Error('--minutes must be > 0')
if (!(args.rate > 0)) throw new Error('--rate must be > 0 (operations per second)')
if (!Number.isInteger(args.writers) || args.writers < 1) throw new Error('--writers must be an integer ≥ 1')
if (!Number.isInteger(args.keepElements) || args.keepElements < 1) throw new Error('--keep-elements must be an integer ≥ 1')
const durationMs = args.minutes * 60_000
if (args.faultEvery === 0) args.faultEvery = Math.min(180, durationMs / 4_000)
if (args.faultDown === 0) args.faultDown = Math.min(30, args.faultEvery / 3)
if (args.sampleEvery === 0) args.sampleEvery = args.minutes >= 10 ? 60 : 5
if (!(args.faultDown < args.faultEvery * 0.75)) throw new Error('--fault-down must be under three quarters of --fault-every')
// Minute 10 of 60: a sixth of the run, for the window's start, a restart's warm-up, and the shortest window checked.
const windowMs = durationMs / 6
const rssWindow = { fromMs: windowMs, warmupMs: windowMs, minSpanMs: windowMs, maxGrowth: args.maxGrowth / 100 }

const seed = seedOf(args.seed)
const root = createRng(seed)
const schedule = soakSchedule(root.fork(), { peers: args.peers, durationMs, everyMs: args.faultEvery * 1000, downMs: args.faultDown * 1000 })
const writerRngs = Array.from({ length: args.writers }, () => root.fork())
if (args.dryRun) {
  process.stdout.write(JSON.stringify({ seed: args.seed, schedule: scheduleDigest(schedule), faults: schedule, rssWindow, sampleEverySeconds: args.sampleEvery }) + '\n')
  process.exit(0)
}

const started = performance.now()
const clock = () => Math.round(performance.now() - started)
const log = (message) => { process.stderr.write(`[soak ${(clock() / 1000).toFixed(1)}s] ${message}\n`) }

log(`seed ${args.seed} (${seed}), ${args.peers} peers, ${args.minutes} min, ${args.rate} writes/s, a fault every ~${args.faultEvery} s for ${args.faultDown} s (${schedule.length / 2} faults, schedule ${scheduleDigest(schedule)}), samples every ${args.sampleEvery} s`)
const baseDir = await mkdtemp(join(tmpdir(), 'hearsay-soak-'))
const cluster = await createCluster({ size: args.peers, baseDir, processes: true })
const driver = createDriver(cluster, { log, clock, writeTimeout: args.writeTimeout, pollInterval: args.pollInterval, settle: args.settle })
const { violations } = driver
const onSignal = () => {
  void cluster.stop().then(async () => rm(baseDir, { recursive: true, force: true })).finally(() => process.exit(130))
}
process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)

// Time in the soak: ms since the load started (before it, while the cluster comes up: negative).
let t0 = performance.now()
const soakTime = () => Math.round(performance.now() - t0)
// When each process of each peer printed its `started` line: `index:start` → soak time.
const processStarts = new Map()
cluster.onLine((index, line) => {
  if (line.event === 'started') processStarts.set(`${index}:${cluster.peers[index].starts}`, soakTime())
})
// Every sample: { at, index, process, startedAt, rss, held, keys, compactions, logBytes, logRecords }.
const samples = []
let sampling = true

let final
let diagnostics
try {
  await cluster.converged({ timeout: 60_000 })
  log(`cluster up: ${cluster.peers.map((p, i) => `${i}=${p.peerId.slice(-6)}`).join(' ')}`)
  t0 = performance.now()
  driver.startPolling()
  const sampler = sampleAll()
  const writers = writerRngs.map((rng, id) => driver.runWriter(createWriter(rng, `w${id}`, { keepElements: args.keepElements }), { rate: args.rate / args.writers }))
  await driver.runSchedule(schedule, t0)
  const rest = durationMs - soakTime()
  if (rest > 0) await sleep(rest)
  driver.stopWriting()
  sampling = false
  await Promise.all([...writers, sampler])
  log(`writes: ${driver.acked.length} acknowledged, ${driver.unknown.length} unknown; final heal`)

  const healedAt = await driver.finalHeal()
  const convergenceMs = await driver.waitForConvergence(healedAt)
  if (convergenceMs === null) {
    violations.push(`no convergence within ${args.settle} ms of the final heal: ${driver.trail.at(-1)?.why}`)
    diagnostics = await driver.describePeers()
  } else {
    log(`converged ${convergenceMs} ms after the final heal`)
    if (convergenceMs > args.maxConvergence) violations.push(`convergence took ${convergenceMs} ms after the final heal, over ${args.maxConvergence} ms`)
  }
  const leaderMs = await driver.waitForOneLeader(healedAt)
  await driver.stopPolling()
  final = { convergenceMs, leaderMs, snapshots: await driver.takeSnapshots() }
  // What each peer holds and logs once the load is over and the cluster has converged.
  const at = soakTime()
  final.figures = await Promise.all(cluster.peers.map(async (_p, index) => sampleOne(index, at)))
} catch (err) {
  violations.push(`the runner failed: ${err.stack ?? err}`)
} finally {
  await cluster.stop().catch((err) => { log(`stop failed: ${err.message}`) })
}
const verdict = final === undefined
  ? { soak: 'hearsay', seed: args.seed, ok: false, violations }
  : await finalVerdict(final)
if (diagnostics !== undefined) verdict.diagnostics = diagnostics
if (verdict.ok) await rm(baseDir, { recursive: true, force: true })
else {
  await driver.keepWrites(baseDir, 'soak-writes.json')
  await writeFile(join(baseDir, 'soak-samples.json'), JSON.stringify(samples))
  verdict.dataDir = baseDir
}
process.stdout.write(JSON.stringify(verdict) + '\n')
process.exitCode = verdict.ok ? 0 : 1

// ---------------------------------------------------------------------------------------

/** A sample of every peer at 0, `sampleEvery`, 2 × `sampleEvery`, ... seconds into the load, until it stops. */
async function sampleAll () {
  for (let k = 0; sampling; k++) {
    const wait = k * args.sampleEvery * 1000 - soakTime()
    if (wait > 0) await sleep(wait)
    if (!sampling) break
    const at = soakTime()
    const round = await Promise.all(cluster.peers.map(async (_p, index) => sampleOne(index, at)))
    samples.push(...round.filter((s) => s !== undefined))
    const mbOf = (field) => round.map((s) => s?.[field] === undefined ? '-' : (s[field] / 1048576).toFixed(0)).join(' ')
    const rss = mbOf('rss')
    const anon = mbOf('anon')
    const heap = mbOf('heapTotal')
    const logs = round.map((s) => s?.held === undefined ? '-' : `${s.logRecords}/${s.held}`).join(' ')
    log(`sample ${k}: RSS MB ${rss} (anon ${anon}, heap ${heap}); log records/held ${logs}`)
  }
}

/** One peer now (the round's time `at`): its process's RSS, and (when it answers) what it holds; its log file. Undefined while it has no process. */
async function sampleOne (index, at) {
  const peer = cluster.peers[index]
  if (peer.pid === undefined || !['running', 'paused', 'starting'].includes(peer.state)) return undefined
  const start = peer.starts
  // The first processes came up before the load started: their time starts with it.
  const row = { at, index, process: start, startedAt: processStarts.get(`${index}:${start}`) ?? (start === 1 ? 0 : at) }
  Object.assign(row, await memoryOf(peer.pid))
  if (peer.state === 'running') {
    try {
      const text = await cluster.api(index, 'GET', '/metrics', undefined, { timeout: 2_000 })
      row.held = metric(text, 'hearsay_records')
      row.keys = metric(text, 'hearsay_keys')
      row.compactions = metric(text, 'hearsay_storage_compactions_total')
      row.rss ??= metric(text, 'process_resident_memory_bytes')
      row.heapUsed = metric(text, 'nodejs_heap_size_used_bytes')
      row.heapTotal = metric(text, 'nodejs_heap_size_total_bytes')
      row.external = metric(text, 'nodejs_external_memory_bytes')
    } catch (err) {
      log(`peer ${index} gave no metrics: ${err.message}`)
    }
  }
  const file = await countLogRecords(peer.dataDir).catch(() => undefined)
  if (file !== undefined) {
    row.logBytes = file.bytes
    row.logRecords = file.records
  }
  return row
}

/**
 * A process's resident memory from /proc (bytes): `rss` (VmRSS, what the check holds to its
 * bound), split into `anon` (its own heap and native allocations) and `file` (mapped files:
 * the Node binary and libraries, shared with every other process), and `cpuS`, the CPU seconds
 * it used so far. Empty where there is none.
 */
async function memoryOf (pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const kb = (name) => {
      const value = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, 'm').exec(status)?.[1]
      return value === undefined ? undefined : Number(value) * 1024
    }
    // utime + stime, fields 14 and 15 after the command name, in clock ticks (100 a second).
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cpuS = (Number(fields[11]) + Number(fields[12])) / 100
    return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), ...(Number.isFinite(cpuS) ? { cpuS } : {}) }
  } catch {
    return {}
  }
}

/** One unlabelled sample of a Prometheus text exposition. */
function metric (text, name) {
  const line = String(text).split('\n').find((l) => l.startsWith(`${name} `))
  const value = line === undefined ? NaN : Number(line.slice(name.length + 1))
  return Number.isFinite(value) ? value : undefined
}

/** CPU of one process over its samples (% of one core), from its first sample to its last; null with fewer than two. */
function cpuPct (rows, index, process) {
  const own = rows.filter((r) => r.index === index && r.process === process && typeof r.cpuS === 'number')
  if (own.length < 2) return null
  const first = own[0]
  const last = own.at(-1)
  const span = (last.at - first.at) / 1000
  return span > 0 ? Math.round((last.cpuS - first.cpuS) / span * 1000) / 10 : null
}

function byPeer (rows) {
  const out = new Map(cluster.peers.map((_p, i) => [i, []]))
  for (const row of rows) out.get(row.index).push(row)
  return out
}

async function finalVerdict (final) {
  const end = await driver.endChecks(final)
  const rows = [...samples, ...final.figures.filter((s) => s !== undefined)]
  const memory = checkRssGrowth(byPeer(rows), rssWindow)
  violations.push(...memory.violations)
  const logs = checkLogBound(byPeer(rows), { maxRatio: args.maxLogRatio, slack: args.logSlack })
  violations.push(...logs.violations)
  const times = [...new Set(rows.map((r) => r.at))].sort((a, b) => a - b)
  const series = (index, field, scale = 1) => times.map((at) => {
    const row = rows.find((r) => r.index === index && r.at === at)
    return row?.[field] === undefined ? null : Math.round(row[field] / scale * 10) / 10
  })
  return {
    soak: 'hearsay',
    seed: args.seed,
    ok: violations.length === 0,
    peers: args.peers,
    minutes: args.minutes,
    rate: args.rate,
    faultEverySeconds: args.faultEvery,
    faultDownSeconds: args.faultDown,
    schedule: scheduleDigest(schedule),
    ...end,
    memory: {
      maxGrowthPct: args.maxGrowth,
      windowFromS: windowMs / 1000,
      warmupS: windowMs / 1000,
      minSpanS: windowMs / 1000,
      checkedProcesses: memory.checked,
      // Seconds into the load of every sample (the last one after the final convergence).
      sampleAtS: times.map((t) => Math.round(t / 1000)),
      // RSS split into anonymous and file-backed memory, and the V8 heap (used, total) and
      // external memory as the peer reports them: where growth went, when there is growth.
      peers: memory.peers.map((p) => ({
        index: p.index,
        rssMb: series(p.index, 'rss', 1048576),
        anonMb: series(p.index, 'anon', 1048576),
        fileMb: series(p.index, 'file', 1048576),
        heapUsedMb: series(p.index, 'heapUsed', 1048576),
        heapTotalMb: series(p.index, 'heapTotal', 1048576),
        externalMb: series(p.index, 'external', 1048576),
        processes: p.processes.map((entry) => ({ ...entry, cpuPct: cpuPct(rows, p.index, entry.process) }))
      }))
    },
    log: {
      maxRatio: args.maxLogRatio,
      slack: args.logSlack,
      compactions: logs.peers.reduce((sum, p) => sum + p.compactions, 0),
      peers: logs.peers.map((p) => {
        const last = final.figures[p.index]
        return {
          ...p,
          final: last === undefined ? null : { logBytes: last.logBytes, logRecords: last.logRecords, held: last.held, keys: last.keys },
          logRecords: series(p.index, 'logRecords'),
          held: series(p.index, 'held'),
          logKb: series(p.index, 'logBytes', 1024)
        }
      })
    },
    violations: violations.slice(0, 50),
    durationMs: clock()
  }
}
