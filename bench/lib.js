// Shared helpers for the benchmarks in bench/. Plain ESM, no build step: every benchmark
// imports the compiled library from ../dist (run `npx tsc -p tsconfig.json` first).
//
// Contract of a benchmark file: progress goes to stderr, and the LAST line of stdout is one
// JSON object `{ "benchmark": ..., ..., "node": ..., "cpus": ... }`. `bench/run.js` relies
// on that.

import os from 'node:os'
import { performance, monitorEventLoopDelay } from 'node:perf_hooks'

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const now = () => performance.now()

/** Rounds to 0.1 ms, so the JSON stays readable. */
export const ms = (value) => value === undefined || value === null || Number.isNaN(value)
  ? null
  : Math.round(value * 10) / 10

export const sleep = (delay) => new Promise((resolve) => { setTimeout(resolve, delay) })

/**
 * `--peers 20 --rounds=3 --verbose` → `{ peers: 20, rounds: 3, verbose: true }`.
 * Values are coerced to the type of the default; unknown flags are rejected so a typo does
 * not silently run the default.
 */
export function parseArgs (defaults, argv = process.argv.slice(2)) {
  const out = { ...defaults }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`)
    let [key, value] = arg.slice(2).split(/=(.*)/s, 2)
    key = key.replace(/-([a-z])/g, (_m, c) => c.toUpperCase())
    if (!Object.hasOwn(defaults, key)) {
      throw new Error(`unknown option --${key}; known: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')}`)
    }
    const kind = typeof defaults[key]
    if (value === undefined) {
      if (kind === 'boolean') {
        // `--flag`, `--flag true`, `--flag false`
        value = argv[i + 1] === 'true' || argv[i + 1] === 'false' ? argv[++i] : 'true'
      } else {
        value = argv[++i]
        if (value === undefined) throw new Error(`--${key} needs a value`)
      }
    }
    if (kind === 'number') {
      const n = Number(value)
      if (!Number.isFinite(n)) throw new Error(`--${key} must be a number, got ${value}`)
      out[key] = n
    } else if (kind === 'boolean') {
      out[key] = value !== 'false' && value !== '0'
    } else {
      out[key] = value
    }
  }
  return out
}

/** Nearest-rank percentile (p in 0..100) of a list of numbers; null for an empty list. */
export function percentile (values, p) {
  const sorted = values.filter((v) => typeof v === 'number' && !Number.isNaN(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return null
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1]
}

/** The middle value (mean of the two middle ones for an even count); null for an empty list. */
export function median (values) {
  const sorted = values.filter((v) => typeof v === 'number' && !Number.isNaN(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return null
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** p50/p90/max/min/mean of a list, rounded. */
export function summary (values) {
  const clean = values.filter((v) => typeof v === 'number' && !Number.isNaN(v))
  if (clean.length === 0) return { n: 0 }
  return {
    n: clean.length,
    min: ms(Math.min(...clean)),
    p50: ms(median(clean)),
    p90: ms(percentile(clean, 90)),
    max: ms(Math.max(...clean)),
    mean: ms(clean.reduce((a, b) => a + b, 0) / clean.length)
  }
}

/** Samples the resident set size on an interval; `stop()` returns the peak in MB. */
export function rssSampler (interval = 50) {
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, interval)
  timer.unref()
  return {
    peakMb: () => Math.round(Math.max(peak, process.memoryUsage.rss()) / 1_048_576 * 10) / 10,
    stop () {
      clearInterval(timer)
      return this.peakMb()
    }
  }
}

/**
 * Event-loop delay while a benchmark runs: with many peers in one process on a small machine,
 * a busy loop (not the protocol's timers) is often where the time goes.
 */
export function loopDelay () {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  return {
    stop () {
      histogram.disable()
      return {
        p50_ms: ms(histogram.percentile(50) / 1e6),
        p99_ms: ms(histogram.percentile(99) / 1e6),
        max_ms: ms(histogram.max / 1e6)
      }
    }
  }
}

/** A progress logger to stderr: `[discovery +3.2s] message`. */
export function progress (name) {
  const start = now()
  return (...parts) => {
    const elapsed = ((now() - start) / 1000).toFixed(1)
    process.stderr.write(`[${name} +${elapsed}s] ${parts.join(' ')}\n`)
  }
}

/** What every result carries about the machine. */
export function machine () {
  return {
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? null,
    platform: `${process.platform}-${process.arch}`,
    // Other processes on the machine compete for the same cores: read figures against this.
    loadavg_1m: Math.round(os.loadavg()[0] * 100) / 100
  }
}

/**
 * Runs a benchmark body with cleanup guaranteed: `body({ log, defer, partial })` registers
 * things to stop with `defer(fn)`; they run in reverse order after the body, also when it
 * throws or on SIGINT/SIGTERM (then whatever the body put in `partial` is printed). The
 * body's return value (an object) is printed as the last stdout line, merged with
 * `{ benchmark: name, ...machine() }`; a failure prints `{ benchmark, error }` and exits 1.
 * A process kept alive by a stray handle is ended shortly after.
 */
export async function runBenchmark (name, body) {
  const log = progress(name)
  const cleanups = []
  const defer = (fn) => { cleanups.push(fn) }
  const cleanup = async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()
      try {
        await fn()
      } catch (err) {
        log('cleanup failed:', err?.message ?? err)
      }
    }
  }
  // What the body has measured so far, printed if the run is interrupted (run.js's budget).
  const partial = {}
  let interrupted = false
  const onSignal = (signal) => {
    if (interrupted) process.exit(130)
    interrupted = true
    log(`${signal}: stopping`)
    process.stdout.write(JSON.stringify({ benchmark: name, error: `interrupted by ${signal}`, ...partial, ...machine() }) + '\n')
    void cleanup().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const started = now()
  const loadAtStart = Math.round(os.loadavg()[0] * 100) / 100
  let result
  let code = 0
  try {
    result = { benchmark: name, ...(await body({ log, defer, partial })) }
  } catch (err) {
    code = 1
    log('failed:', err?.stack ?? err)
    result = { benchmark: name, error: String(err?.message ?? err), ...partial }
  } finally {
    await cleanup()
  }
  result.wall_s = Math.round((now() - started) / 100) / 10
  Object.assign(result, machine(), { loadavg_1m_at_start: loadAtStart })
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exitCode = code
  // libp2p occasionally leaves a socket or timer behind after stop(); do not hang on it.
  setTimeout(() => { process.exit(code) }, 2_000).unref()
}

/**
 * Resolves once `predicate()` is true, checking on each event from `targets` (EventTargets
 * with the given event types) and every `interval` ms; rejects after `timeout` ms with the
 * message `describe()` gives.
 */
export function waitFor (predicate, { targets = [], events = [], interval = 10, timeout = 30_000, describe = () => 'condition not met' } = {}) {
  return new Promise((resolve, reject) => {
    const deadline = now() + timeout
    const offs = []
    let timer
    let done = false
    const finish = (err) => {
      if (done) return
      done = true
      clearInterval(timer)
      for (const off of offs) off()
      if (err === undefined) resolve()
      else reject(err)
    }
    const check = () => {
      if (done) return
      let ok
      try {
        ok = predicate()
      } catch (err) {
        finish(err)
        return
      }
      if (ok) finish()
      else if (now() >= deadline) finish(new Error(`timed out after ${timeout} ms: ${describe()}`))
    }
    for (const target of targets) {
      for (const type of events) {
        target.addEventListener(type, check)
        offs.push(() => { target.removeEventListener(type, check) })
      }
    }
    timer = setInterval(check, interval)
    check()
  })
}

/** A network name nobody else uses, so concurrent benchmarks and tests never mix. */
export function uniqueNetwork (prefix) {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

/**
 * Resolves once this process has settled: its CPU use over one window is within `tolerance`
 * of the window before and under `ceiling` of a core (start-up work — DHT queries, first
 * anti-entropy rounds, mesh grafting — is over and what is left is the steady background; a
 * process busy at a steady 1.3 cores is still starting; 10 peers at rest use about half a core), or after `timeout` ms.
 * Returns how long it waited and the CPU share (of one core) of the last window.
 */
export async function settled ({ window = 1_000, tolerance = 0.25, ceiling = 0.75, timeout = 20_000 } = {}) {
  const t0 = now()
  const share = async () => {
    const c0 = process.cpuUsage()
    await sleep(window)
    const c = process.cpuUsage(c0)
    return (c.user + c.system) / 1000 / window
  }
  let previous = await share()
  while (now() - t0 < timeout) {
    const current = await share()
    if (current < ceiling && Math.abs(current - previous) <= tolerance * Math.max(previous, 0.05)) return { waited_ms: ms(now() - t0), cpu_share: Math.round(current * 100) / 100 }
    previous = current
  }
  return { waited_ms: ms(now() - t0), cpu_share: Math.round(previous * 100) / 100, timed_out: true }
}
