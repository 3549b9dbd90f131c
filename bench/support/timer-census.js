// Loaded into a peer process with `NODE_OPTIONS=--import <this file>` (bench/idle.js --census):
// counts every timer callback (setTimeout, setInterval, setImmediate) by the place that armed
// it, with the synchronous time each callback took. It tells which background timer wakes an
// idle peer how often, and what share of its CPU each one takes.
//
// SIGUSR2 starts a window (counts reset); the next SIGUSR2 writes the window to
// $TIMER_CENSUS_DIR/<pid>.json and starts a new one. Nothing is armed by the census itself.

import { createRequire, syncBuiltinESMExports } from 'node:module'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getHeapSpaceStatistics } from 'node:v8'

const require = createRequire(import.meta.url)
const timers = require('node:timers')
const dir = process.env.TIMER_CENSUS_DIR
const self = import.meta.url.replace(/^file:\/\//, '')

/** site → { calls, ms, kind } */
let sites = new Map()
let windowStart = process.hrtime.bigint()

/** The first stack frame outside node internals and this file: who armed the timer. */
function site () {
  const saved = Error.stackTraceLimit
  Error.stackTraceLimit = 12
  const stack = new Error().stack ?? ''
  Error.stackTraceLimit = saved
  for (const line of stack.split('\n').slice(1)) {
    if (line.includes(self) || line.includes('node:internal') || line.includes('(node:') || line.includes(' node:')) continue
    const m = /\((.*)\)$/.exec(line.trim()) ?? /at (.*)$/.exec(line.trim())
    const where = (m?.[1] ?? line.trim()).replace(/^file:\/\//, '').replace(/.*node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:dist\/)?/, '$1 ').replace(/.*\/dist\/src\//, 'hearsay src/')
    const fn = /at (\S+) \(/.exec(line.trim())?.[1]
    return fn === undefined ? where : `${fn} ${where}`
  }
  return 'unknown'
}

function wrap (kind, original) {
  const wrapped = function (callback, ...rest) {
    if (typeof callback !== 'function') return original.call(this, callback, ...rest)
    const where = `${kind} ${site()}`
    const counted = function (...args) {
      const t0 = process.hrtime.bigint()
      try {
        return callback.apply(this, args)
      } finally {
        const entry = sites.get(where) ?? { calls: 0, ns: 0n }
        entry.calls++
        entry.ns += process.hrtime.bigint() - t0
        sites.set(where, entry)
      }
    }
    return original.call(this, counted, ...rest)
  }
  // util.promisify(setTimeout) and friends keep working.
  for (const key of Reflect.ownKeys(original)) {
    if (!(key in wrapped)) {
      try { wrapped[key] = original[key] } catch {}
    }
  }
  return wrapped
}

for (const kind of ['setTimeout', 'setInterval', 'setImmediate']) {
  const original = globalThis[kind]
  const wrapped = wrap(kind, original)
  globalThis[kind] = wrapped
  timers[kind] = wrapped
}
syncBuiltinESMExports()

process.on('SIGUSR2', () => {
  const now = process.hrtime.bigint()
  if (dir !== undefined) {
    const seconds = Number(now - windowStart) / 1e9
    const list = [...sites.entries()].map(([where, e]) => ({ site: where, calls: e.calls, ms: Number(e.ns) / 1e6 }))
      .sort((a, b) => b.ms - a.ms)
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({
      pid: process.pid,
      seconds,
      // hrtime in µs: the same clock as a --cpu-prof profile's timestamps, to cut it to this window.
      window_start_us: Number(windowStart / 1000n),
      window_end_us: Number(now / 1000n),
      cpu: process.cpuUsage(),
      memory: process.memoryUsage(),
      heap_spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size_mb: s.space_size / 1_048_576, used_mb: s.space_used_size / 1_048_576 }])),
      sites: list
    }))
  }
  sites = new Map()
  windowStart = now
})
