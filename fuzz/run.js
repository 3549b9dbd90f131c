// Fuzzes every decoder of untrusted input (see fuzz/targets/index.js), one child process per
// target, one after the other, each for its share of the time. Progress goes to stderr; the
// last line on stdout is one JSON object with the inputs run and failures of every target and
// the seed. Exits 1 when any target failed, printing the counterexample and how to replay it.
//
//   npm run fuzz -- --seconds 600                 # every target, ten minutes in all
//   npm run fuzz -- --seconds 60 --target gossip  # one target (repeat --target for more)
//   npm run fuzz -- --runs 2000 --seed 7          # a fixed number of inputs per target
//   npm run fuzz -- --quick                       # the short pass npm test runs (each target's `quick` inputs)
//   npm run fuzz -- --target gossip --seed 7 --path 812:3:1 --runs 1   # replay a counterexample
//   npm run fuzz -- --list
//
// Children: `fuzz/worker.js` (see there for the memory bound checked on every input). A
// child that prints no progress for --hang-seconds is stuck on one input: it is killed and
// reported as a hang, with the seed to replay it. A child that dies (a crash, running out of
// its --max-old-space-size heap) is reported with the end of its stderr.
//
// Needs the compiled library: `npx tsc -p tsconfig.json` (or `npm run build`) first.

import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TARGETS } from './targets/index.js'

const here = dirname(fileURLToPath(import.meta.url))
/** Each child's heap: a decoder that allocates what a hostile length claims runs out of it and is reported. */
const CHILD_HEAP_MB = 1024

const options = parseArgs(process.argv.slice(2))
if (options.list) {
  for (const t of TARGETS) process.stdout.write(`${t.name}\t${t.about}\n`)
  process.exit(0)
}
if (!existsSync(join(here, '..', 'dist', 'src', 'index.js'))) {
  process.stderr.write('dist/ is missing: run `npx tsc -p tsconfig.json` (or `npm run build`) first\n')
  process.exit(2)
}

const selected = options.module !== undefined
  ? [{ name: options.module, weight: 1, quick: 1_000, module: resolve(options.module) }]
  : options.targets.length === 0 ? TARGETS : options.targets.map((name) => {
    const t = TARGETS.find((x) => x.name === name)
    if (t === undefined) {
      process.stderr.write(`no fuzz target ${JSON.stringify(name)}; known: ${TARGETS.map((x) => x.name).join(', ')}\n`)
      process.exit(2)
    }
    return t
  })

const started = Date.now()
const results = []
for (let i = 0; i < selected.length; i++) {
  const target = selected[i]
  let seconds
  const runs = options.quick ? target.quick : options.runs
  if (runs === undefined) {
    // The share of what is left, so a slow start of one child does not eat into the others.
    const left = Math.max(1, options.seconds - (Date.now() - started) / 1000)
    const weights = selected.slice(i).reduce((sum, t) => sum + t.weight, 0)
    seconds = Math.max(1, Math.round(left * target.weight / weights * 10) / 10)
  }
  process.stderr.write(`\n=== ${target.name}: ${seconds === undefined ? `${runs} inputs` : `${seconds} s`}, seed ${options.seed}\n`)
  results.push(await runTarget(target, seconds, runs))
}

const failures = results.reduce((n, r) => n + r.failures, 0)
const summary = {
  fuzz: 'hearsay',
  seed: options.seed,
  seconds: Math.round((Date.now() - started) / 100) / 10,
  inputs: results.reduce((n, r) => n + r.inputs, 0),
  failures,
  targets: results,
  node: process.version,
  cpus: os.cpus().length
}
for (const r of results.filter((x) => x.failures > 0)) {
  process.stderr.write(`\nFAILED ${r.target}: ${r.error}\n` +
    (r.counterexample === undefined || r.counterexample === null ? '' : `  counterexample: ${r.counterexample}\n`) +
    `  replay: ${r.replay}\n`)
}
process.stderr.write(`\n${summary.inputs} inputs in ${summary.seconds} s, ${failures} failure(s)\n`)
process.stdout.write(JSON.stringify(summary) + '\n')
process.exitCode = failures > 0 ? 1 : 0

/** Runs one target in a child; resolves with its result (a failure when it crashed or hung). */
function runTarget (target, seconds, runs) {
  const workerArgs = [
    ...(target.module !== undefined ? ['--module', target.module] : ['--target', target.name]),
    '--seed', String(options.seed),
    ...(seconds !== undefined ? ['--seconds', String(seconds)] : []),
    ...(runs !== undefined ? ['--runs', String(runs)] : []),
    ...(options.path !== undefined ? ['--path', options.path] : [])
  ]
  const replay = `npm run fuzz -- ${target.module !== undefined ? `--module ${target.module}` : `--target ${target.name}`} --seed ${options.seed}`
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${CHILD_HEAP_MB}`, join(here, 'worker.js'), ...workerArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: join(here, '..')
    })
    let stdout = ''
    let stderrTail = ''
    let lastInputs = 0
    let hung = false
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => { stdout += chunk })
    child.stderr.setEncoding('utf8')
    let watchdog
    const armWatchdog = () => {
      clearTimeout(watchdog)
      watchdog = setTimeout(() => {
        hung = true
        child.kill('SIGKILL')
      }, options.hangSeconds * 1000)
    }
    armWatchdog()
    child.stderr.on('data', (chunk) => {
      process.stderr.write(chunk)
      stderrTail = (stderrTail + chunk).slice(-4_000)
      const counts = [...chunk.matchAll(/: (\d+) inputs,/g)]
      if (counts.length > 0) lastInputs = Number(counts[counts.length - 1][1])
      armWatchdog()
    })
    child.on('close', (code, signal) => {
      clearTimeout(watchdog)
      const base = { target: target.name, inputs: lastInputs, failures: 1, seed: options.seed }
      if (hung) {
        resolve({ ...base, error: `hang: no progress for ${options.hangSeconds} s after input ${lastInputs + 1} or soon after (killed)`, replay })
        return
      }
      let parsed
      try {
        parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '')
      } catch {
        parsed = undefined
      }
      if (parsed === undefined || typeof parsed !== 'object' || parsed === null) {
        resolve({ ...base, error: `crash: the worker exited with ${code ?? signal} and no result; its stderr ended with: ${stderrTail.slice(-1_500)}`, replay })
        return
      }
      if (parsed.failures > 0) parsed.replay = `${replay} --path ${parsed.path} --runs 1`
      resolve(parsed)
    })
  })
}

function parseArgs (argv) {
  const out = { seconds: 60, runs: undefined, quick: false, targets: [], module: undefined, seed: undefined, path: undefined, hangSeconds: 30, list: false }
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s, 2)
    if (flag === '--list' || flag === '--quick') {
      out[flag.slice(2)] = true
      continue
    }
    value ??= argv[++i]
    if (value === undefined) usage(`${flag} needs a value`)
    switch (flag) {
      case '--seconds': out.seconds = positive(flag, value); break
      case '--runs': out.runs = Math.round(positive(flag, value)); break
      case '--target': out.targets.push(...value.split(',').filter((s) => s !== '')); break
      case '--module': out.module = value; break
      case '--seed': out.seed = seedOf(value); break
      case '--path': out.path = value; break
      case '--hang-seconds': out.hangSeconds = positive(flag, value); break
      default: usage(`unknown option ${flag}`)
    }
  }
  // 31 bits: what fast-check keeps of a seed, so the printed seed replays exactly.
  out.seed ??= Math.floor(Math.random() * 2 ** 31)
  return out
}

function positive (flag, value) {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) usage(`${flag} must be a positive number, got ${value}`)
  return n
}

function seedOf (value) {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0 || n >= 2 ** 31) usage(`--seed must be an integer from 0 to 2^31 - 1, got ${value}`)
  return n
}

function usage (message) {
  process.stderr.write(`${message}\nusage: npm run fuzz -- [--seconds N | --runs N | --quick] [--target NAME ...] [--module FILE] [--seed S] [--path P] [--hang-seconds N] [--list]\n`)
  process.exit(2)
}
