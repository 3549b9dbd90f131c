// Runs ONE fuzz target in this process, for a time or a number of inputs, and prints its
// result as one JSON line on stdout. `fuzz/run.js` starts one of these per target and
// watches it: progress lines on stderr are its heartbeat, so a target stuck on an input
// (an endless loop in a decoder) is killed and reported as a hang.
//
//   node fuzz/worker.js --target membership --seed 42 --seconds 30
//   node fuzz/worker.js --target membership --seed 42 --path 1234:5:0 --runs 1   # replay
//   node fuzz/worker.js --module ./my-target.js --seed 1 --runs 1000             # a target from a file
//
// Every input is checked for memory growth: v8's heap plus external memory (ArrayBuffers)
// after the input, minus before it, must stay under the target's bound (`maxGrowth`,
// default 64 MiB), so a decoder that allocates what a length field claims is caught even
// when the allocation itself succeeds.

import { writeSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { fc, FuzzFailure, describeError, heapNow, show } from './lib.js'
import { targetModule } from './targets/index.js'

const DEFAULT_MAX_GROWTH = 64 * 1024 * 1024
const PROGRESS_EVERY_MS = 2_000

const args = parseWorkerArgs(process.argv.slice(2))
const url = args.module !== undefined ? pathToFileURL(resolve(args.module)).href : targetModule(args.target)
const target = (await import(url)).default
const name = target.name
const maxGrowth = target.maxGrowth ?? DEFAULT_MAX_GROWTH

const started = performance.now()
let executed = 0
let lastProgress = started
function progress (force = false) {
  const now = performance.now()
  if (!force && now - lastProgress < PROGRESS_EVERY_MS) return
  lastProgress = now
  const seconds = (now - started) / 1000
  writeSync(2, `fuzz ${name}: ${executed} inputs, ${Math.round(executed / Math.max(seconds, 0.001))}/s, ${seconds.toFixed(1)} s\n`)
}

function grewTooMuch (before) {
  const grown = heapNow() - before
  if (grown > maxGrowth) {
    throw new FuzzFailure(`memory grew by ${(grown / 1_048_576).toFixed(1)} MiB on one input (bound ${(maxGrowth / 1_048_576).toFixed(0)} MiB)`)
  }
}

const context = target.setup === undefined ? undefined : await target.setup()
const arbitrary = target.input(context)
const property = target.async === true
  ? fc.asyncProperty(arbitrary, async (input) => {
    executed++
    progress()
    const before = heapNow()
    await target.run(context, input)
    grewTooMuch(before)
  })
  : fc.property(arbitrary, (input) => {
    executed++
    progress()
    const before = heapNow()
    target.run(context, input)
    grewTooMuch(before)
  })

const params = {
  seed: args.seed,
  numRuns: args.runs ?? Number.MAX_SAFE_INTEGER,
  ...(args.path === undefined ? {} : { path: args.path }),
  ...(args.seconds === undefined ? {} : { plugins: [fc.interruptAfterTimeLimit(args.seconds * 1000)] })
}
writeSync(2, `fuzz ${name}: seed ${args.seed}, ${args.runs !== undefined ? `${args.runs} inputs` : `${args.seconds} s`}${args.path === undefined ? '' : `, path ${args.path}`}\n`)
const details = target.async === true ? await fc.check(property, params) : fc.check(property, params)
if (target.teardown !== undefined) await target.teardown(context)
progress(true)

const seconds = (performance.now() - started) / 1000
const result = {
  target: name,
  inputs: details.numRuns,
  failures: details.failed ? 1 : 0,
  seed: details.seed,
  seconds: Math.round(seconds * 10) / 10,
  inputsPerSecond: Math.round(details.numRuns / Math.max(seconds, 0.001))
}
if (details.failed) {
  result.error = details.errorInstance instanceof FuzzFailure
    ? details.errorInstance.message
    : details.errorInstance === null ? 'no counterexample (too many skipped inputs)' : `the target threw ${describeError(details.errorInstance)}`
  result.counterexample = details.counterexample === null ? null : show(target.format?.(details.counterexample[0]) ?? details.counterexample[0], 4_000)
  result.path = details.counterexamplePath
  result.shrinks = details.numShrinks
}
process.stdout.write(JSON.stringify(result) + '\n')
process.exitCode = details.failed ? 1 : 0
// A target's leftover handles (a peer's sockets) must not keep a finished worker alive.
setTimeout(() => { process.exit(process.exitCode) }, 2_000).unref()

function parseWorkerArgs (argv) {
  const out = { seed: undefined, seconds: undefined, runs: undefined, path: undefined, target: undefined, module: undefined }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[++i]
    if (value === undefined) throw new Error(`${flag} needs a value`)
    switch (flag) {
      case '--target': out.target = value; break
      case '--module': out.module = value; break
      case '--path': out.path = value; break
      case '--seed': out.seed = integer(flag, value); break
      case '--seconds': out.seconds = Number(value); break
      case '--runs': out.runs = integer(flag, value); break
      default: throw new Error(`unknown option ${flag}`)
    }
  }
  if (out.seed === undefined) throw new Error('--seed is required')
  if ((out.target === undefined) === (out.module === undefined)) throw new Error('give --target NAME or --module PATH')
  if (out.seconds !== undefined && !(out.seconds > 0)) throw new Error('--seconds must be a positive number')
  if (out.seconds === undefined && out.runs === undefined) throw new Error('give --seconds or --runs')
  return out
}

function integer (flag, value) {
  const n = Number(value)
  if (!Number.isSafeInteger(n)) throw new Error(`${flag} must be an integer, got ${value}`)
  return n
}
