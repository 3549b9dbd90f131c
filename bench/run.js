// Runs the default benchmark set, one child process per benchmark (sequentially, so they do
// not compete for the CPU), and prints each benchmark's JSON object as one line on stdout.
// Children's progress goes straight to stderr.
//
//   node bench/run.js            # the default set (`npm run bench`)
//   node bench/run.js failure    # only the entries whose name starts with "failure"
//   node bench/run.js --list     # the names in the set
//
// To add a benchmark: drop `bench/<name>.js` in this folder (same contract: progress on
// stderr, one JSON object as the last stdout line) and add an entry to SUITE. `budget` is the
// most it may take (ms); a child still running then is stopped and reported as an error, so
// the whole set stays within its overall budget (15 minutes). Entries marked `optIn` take
// longer than that budget allows and run only when named.

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { existsSync } from 'node:fs'

const here = dirname(fileURLToPath(import.meta.url))

/** The default set, in order. */
export const SUITE = [
  // The floor runs under a replication-* name too, so `npm run bench -- replication` measures
  // both topologies against the floor of the same run.
  { name: 'replication-floor', file: 'floor.js', args: ['--rounds', '300'], budget: 40_000 },
  { name: 'discovery-6', file: 'discovery.js', args: ['--peers', '6', '--rounds', '3'], budget: 40_000 },
  { name: 'discovery-20', file: 'discovery.js', args: ['--peers', '20', '--rounds', '1'], budget: 45_000 },
  { name: 'failure-5', file: 'failure.js', args: ['--peers', '5', '--rounds', '3'], budget: 30_000 },
  { name: 'replication-5-process', file: 'replication.js', args: ['--topology', 'process', '--peers', '5', '--keys', '1000'], budget: 90_000 },
  { name: 'replication-5-processes', file: 'replication.js', args: ['--topology', 'processes', '--peers', '5', '--keys', '1000'], budget: 90_000 },
  { name: 'replication-10-process', file: 'replication.js', args: ['--topology', 'process', '--peers', '10', '--keys', '1000'], budget: 120_000 },
  { name: 'replication-10-processes', file: 'replication.js', args: ['--topology', 'processes', '--peers', '10', '--keys', '1000'], budget: 120_000 },
  { name: 'anti-entropy', file: 'anti-entropy.js', args: ['--keys', '10000', '--store', '100000'], budget: 70_000 },
  { name: 'failover-local', file: 'failover.js', args: ['--profile', 'local', '--rounds', '3'], budget: 30_000 },
  { name: 'failover-lan', file: 'failover.js', args: ['--profile', 'lan', '--rounds', '1'], budget: 30_000 },
  { name: 'events-5', file: 'events.js', args: ['--peers', '5', '--rounds', '50', '--bulk', '1000'], budget: 30_000 },
  { name: 'cli', file: 'cli.js', args: ['--rounds', '30'], budget: 30_000 },
  { name: 'replay', file: 'replay.js', args: ['--batches', '10000', '--runs', '5'], budget: 60_000 },
  // Run by name only (`npm run bench -- idle`): each takes minutes, more than the default set's budget.
  { name: 'idle', file: 'idle.js', args: ['--peers', '5', '--profile', 'both'], budget: 420_000, optIn: true },
  { name: 'discovery-processes-20', file: 'discovery.js', args: ['--processes', '--peers', '20', '--rounds', '1', '--timeout', '60000'], budget: 240_000, optIn: true },
  { name: 'discovery-processes-20-lan', file: 'discovery.js', args: ['--processes', '--peers', '20', '--rounds', '1', '--timeout', '60000', '--profile', 'lan'], budget: 240_000, optIn: true },
  { name: 'discovery-processes-50', file: 'discovery.js', args: ['--processes', '--peers', '50', '--rounds', '1', '--timeout', '60000'], budget: 420_000, optIn: true },
  { name: 'failover-local-load', file: 'failover.js', args: ['--profile', 'local', '--rounds', '3', '--load', '50'], budget: 90_000, optIn: true }
]

/** The whole default set must finish within this. */
const TOTAL_BUDGET = 900_000

const argv = process.argv.slice(2)
if (argv.includes('--list')) {
  for (const b of SUITE) process.stdout.write(`${b.name}\t${b.file} ${b.args.join(' ')}${b.optIn === true ? '\t(by name only)' : ''}\n`)
  process.exit(0)
}
const selected = argv.length === 0 ? SUITE.filter((b) => b.optIn !== true) : SUITE.filter((b) => argv.some((prefix) => b.name.startsWith(prefix)))
if (selected.length === 0) {
  process.stderr.write(`no benchmark matches ${argv.join(' ')}; known: ${SUITE.map((b) => b.name).join(' ')}\n`)
  process.exit(2)
}
if (!existsSync(join(here, '..', 'dist', 'src', 'index.js'))) {
  process.stderr.write('dist/ is missing: run `npx tsc -p tsconfig.json` (or `npm run build`) first\n')
  process.exit(2)
}

const started = Date.now()
let failures = 0
for (const bench of selected) {
  const remaining = TOTAL_BUDGET - (Date.now() - started)
  const budget = bench.optIn === true ? bench.budget : Math.min(bench.budget ?? 120_000, Math.max(remaining, 10_000))
  process.stderr.write(`\n=== ${bench.name}: node bench/${bench.file} ${bench.args.join(' ')} (budget ${Math.round(budget / 1000)} s)\n`)
  const result = await runChild(bench, budget)
  if (result.error !== undefined) failures++
  process.stdout.write(JSON.stringify(result) + '\n')
}
process.stderr.write(`\n${selected.length} benchmark(s) in ${((Date.now() - started) / 1000).toFixed(1)} s` +
  (failures > 0 ? `, ${failures} failed` : '') + '\n')
process.exitCode = failures > 0 ? 1 : 0

/** Runs one benchmark with this same Node; resolves with its JSON object (or an error object). */
function runChild (bench, budget) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, bench.file), ...bench.args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: join(here, '..')
    })
    let stdout = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => { stdout += chunk })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM') // the benchmark stops its peers on SIGTERM
      setTimeout(() => { child.kill('SIGKILL') }, 5_000).unref()
    }, budget)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const last = stdout.trim().split('\n').pop() ?? ''
      let parsed
      try {
        parsed = JSON.parse(last)
      } catch {
        parsed = undefined
      }
      if (parsed === undefined || typeof parsed !== 'object' || parsed === null) {
        resolve({ benchmark: bench.name, error: timedOut ? `exceeded its ${budget} ms budget` : `exited ${code ?? signal} without a JSON result` })
        return
      }
      const result = { name: bench.name, ...parsed }
      if (timedOut) result.error ??= `exceeded its ${budget} ms budget`
      else if (code !== 0 && result.error === undefined) result.error = `exited ${code ?? signal}`
      resolve(result)
    })
  })
}
