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
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCluster } from '../dist/src/harness/index.js'
import { parseArgs } from '../bench/lib.js'
import { createRng, createWriter, faultSchedule, scheduleDigest, seedOf } from './schedule.js'
import { createDriver } from './driver.js'

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

log(`seed ${args.seed} (${seed}), ${args.peers} peers${args.hosts ? ` on their own hosts, ${args.loss} % loss` : ''}, ${args.seconds} s, ${schedule.length} faults scheduled (schedule ${scheduleDigest(schedule)})`)
// Our own directory: the logs are read after the peers stop, and kept when a check fails.
const baseDir = await mkdtemp(join(tmpdir(), 'hearsay-chaos-'))
const cluster = await createCluster({ size: args.peers, baseDir, ...(args.hosts ? { hosts: true } : { processes: true }) })
const driver = createDriver(cluster, { log, clock, writeTimeout: args.writeTimeout, pollInterval: args.pollInterval, settle: args.settle })
const { violations } = driver
const onSignal = () => {
  void cluster.stop().then(async () => rm(baseDir, { recursive: true, force: true })).finally(() => process.exit(130))
}
process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)

let final
let diagnostics
try {
  await cluster.converged({ timeout: 60_000 })
  log(`cluster up: ${cluster.peers.map((p, i) => `${i}=${p.peerId.slice(-6)}${args.hosts ? `@${cluster.hosts[i]}` : ''}`).join(' ')}`)
  if (args.loss > 0) await cluster.loss(args.loss)
  const t0 = performance.now()
  driver.startPolling()
  const writers = writerRngs.map((rng, id) => driver.runWriter(createWriter(rng, `w${id}`), { gapMs: args.writeGap }))
  await driver.runSchedule(schedule, t0)
  driver.stopWriting()
  await Promise.all(writers)
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
} catch (err) {
  violations.push(`the runner failed: ${err.stack ?? err}`)
} finally {
  await cluster.stop().catch((err) => { log(`stop failed: ${err.message}`) })
}
const verdict = final === undefined
  ? { chaos: 'hearsay', seed: args.seed, ok: false, violations }
  : await finalVerdict(final)
if (diagnostics !== undefined) verdict.diagnostics = diagnostics
if (verdict.ok) await rm(baseDir, { recursive: true, force: true })
else {
  await driver.keepWrites(baseDir, 'chaos-writes.json')
  verdict.dataDir = baseDir
}
process.stdout.write(JSON.stringify(verdict) + '\n')
process.exitCode = verdict.ok ? 0 : 1

async function finalVerdict (final) {
  const end = await driver.endChecks(final)
  return {
    chaos: 'hearsay',
    seed: args.seed,
    ok: violations.length === 0,
    peers: args.peers,
    seconds: args.seconds,
    hosts: args.hosts,
    ...(args.hosts ? { loss: args.loss, subnet: cluster.subnet } : {}),
    schedule: scheduleDigest(schedule),
    ...end,
    violations: violations.slice(0, 50),
    durationMs: clock()
  }
}
