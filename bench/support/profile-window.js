// Reads V8 CPU profiles (`--cpu-prof`) of peer processes and says where their time went in
// one window: by the task that started the work (a timer's callback, a socket read, a promise
// continuation...), and by function (self time). With bench/idle.js --cpu-prof DIR --census,
// the window is the idle window the census marked; otherwise the whole profile.
//
//   node bench/support/profile-window.js DIR/lan [--census DIR/lan/census] [--top 25]
//   node bench/support/profile-window.js DIR --from-start [--skip-ms 2000] --length-ms 5000     (start-up)
//
// Prints one JSON object. Time is ms of CPU per second of window, averaged over the profiles.

import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const argv = process.argv.slice(2)
const dir = argv[0]
if (dir === undefined) {
  process.stderr.write('usage: profile-window.js DIR [--top N] [--from-end-ms MS --length-ms MS]\n')
  process.exit(2)
}
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`)
  return i < 0 ? fallback : argv[i + 1]
}
const top = Number(opt('top', 25))
// Without census marks: the window is [end - fromEnd, end - fromEnd + length].
const fromEndMs = opt('from-end-ms', undefined)
// Or from the profile's start: [start, start + length] (start-up).
const fromStart = argv.includes('--from-start')
// With --from-start: skip the first ms (module loading) before the window opens.
const skipMs = Number(opt('skip-ms', 0))
const lengthMs = opt('length-ms', undefined)
const censusDir = opt('census', undefined)

const windows = new Map()
if (censusDir !== undefined) {
  for (const f of readdirSync(censusDir).filter((f) => f.endsWith('.json'))) {
    const w = JSON.parse(readFileSync(join(censusDir, f), 'utf8'))
    windows.set(w.pid, [w.window_start_us, w.window_end_us])
  }
}

const internal = (url) => url === '' || url.startsWith('node:')
const label = (frame) => {
  const url = frame.url.replace(/^file:\/\//, '').replace(/.*node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:dist\/)?/, '$1 ').replace(/.*\/dist\/src\//, 'hearsay src/')
  return `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}`
}

const byTask = new Map()
const byFunction = new Map()
const byPackage = new Map()
let totalSeconds = 0
let profiles = 0
let busyMs = 0

for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'))
  const pid = Number(/CPU\.\d+\.\d+\.(\d+)\./.exec(file)?.[1])
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  let [from, to] = windows.get(pid) ?? [profile.startTime, profile.endTime]
  if (!windows.has(pid) && fromStart) {
    from = profile.startTime + skipMs * 1000
    to = lengthMs === undefined ? profile.endTime : from + Number(lengthMs) * 1000
  } else if (!windows.has(pid) && fromEndMs !== undefined) {
    from = profile.endTime - Number(fromEndMs) * 1000
    to = lengthMs === undefined ? profile.endTime : from + Number(lengthMs) * 1000
  }
  const seconds = (to - from) / 1e6
  if (seconds <= 0) continue
  totalSeconds += seconds
  profiles++
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]
    if (t < from || t > to) continue
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000 // this sample lasts until the next one
    const leaf = nodes.get(profile.samples[i])
    const leafName = leaf.callFrame.functionName
    if (leafName === '(idle)') continue
    busyMs += dt
    // Stack from the root down.
    const stack = []
    for (let id = leaf.id; id !== undefined; id = parent.get(id)) stack.push(nodes.get(id).callFrame)
    stack.reverse()
    const entry = stack.slice(1)
    const kind = entry.find((f) => ['listOnTimeout', 'processImmediate', 'processTicksAndRejections', 'onStreamRead', 'afterWriteDispatched', 'emit'].includes(f.functionName) && internal(f.url))?.functionName
    const firstOwn = entry.find((f) => !internal(f.url))
    const task = leafName.startsWith('(') && entry.length <= 1
      ? leafName
      : `${kind ?? 'other'} → ${firstOwn === undefined ? '(node internals)' : label(firstOwn)}`
    byTask.set(task, (byTask.get(task) ?? 0) + dt)
    const fn = leafName.startsWith('(') ? leafName : label(leaf.callFrame)
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt)
    const pkg = leafName.startsWith('(') ? leafName : internal(leaf.callFrame.url) ? 'node internals' : (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(leaf.callFrame.url)?.[1] ?? 'hearsay')
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt)
  }
}

const perSecond = (m) => [...m.entries()].map(([k, v]) => ({ what: k, ms_per_s: Math.round(v / totalSeconds * 100) / 100 }))
  .sort((a, b) => b.ms_per_s - a.ms_per_s).slice(0, top)
process.stdout.write(JSON.stringify({
  profiles,
  seconds_per_profile: Math.round(totalSeconds / Math.max(1, profiles) * 10) / 10,
  busy_ms_per_s_per_peer: Math.round(busyMs / totalSeconds * 100) / 100,
  by_task: perSecond(byTask),
  by_package: perSecond(byPackage),
  by_function: perSecond(byFunction)
}, null, 1) + '\n')
