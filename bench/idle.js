// An idle network: N `hearsay start` processes (the harness, 127.0.0.1, one bootstrap), left
// alone once they all know one another. Measured from outside through /proc, so measuring
// costs the peers nothing: CPU (% of one core) and RSS per peer over the idle window, and how
// often each peer's main thread wakes up. Run per profile (`lan`, `local`, or both).
//
//   node bench/idle.js [--peers 5] [--profile both|lan|local] [--idle 60000] [--warmup 60000]
//                      [--keys 0] [--value-bytes 100] [--census] [--cpu-prof DIR]
//
// --warmup: how long after "all know all" start-up is given before the window opens (DHT
//   start-up queries, first anti-entropy rounds); the window's 10 s slices show whether it was
//   long enough.
// --keys K: peer 0's data dir holds K keys of --value-bytes bytes before the processes start
//   (written in this process, then replayed by the peer); the others receive them by
//   anti-entropy, and the window opens once every replica is equal.
// --census: every peer counts its timer callbacks by where they were armed (bench/support/
//   timer-census.js) over the window; the figures, summed over peers, come out per second.
// --cpu-prof DIR: every peer writes a V8 CPU profile to DIR/<profile> on exit, with the census
//   in DIR/<profile>/census marking the window; `node bench/support/profile-window.js DIR/lan
//   --census DIR/lan/census` says where the window's time went. Profiling costs CPU itself:
//   read CPU figures from a run without it.
//
// Linux only (/proc). Progress on stderr; the last stdout line is one JSON object.

import { mkdtemp, mkdir, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createProcessCluster } from '../dist/src/harness/index.js'
import { createPeer } from '../dist/src/index.js'
import { ms, now, parseArgs, runBenchmark, sleep, summary, uniqueNetwork } from './lib.js'
import { between, readProc } from './support/proc.js'

const args = parseArgs({
  peers: 5, profile: 'both', idle: 60_000, warmup: 60_000, keys: 0, valueBytes: 100, census: false, cpuProf: '', timeout: 120_000, slice: 10_000
})
const profiles = args.profile === 'both' ? ['lan', 'local'] : [args.profile]
for (const p of profiles) if (p !== 'lan' && p !== 'local') throw new Error('--profile must be lan, local or both')
if (args.peers < 1) throw new Error('--peers must be at least 1')
const censusFile = fileURLToPath(new URL('./support/timer-census.js', import.meta.url))
const census = args.census || args.cpuProf !== ''

await runBenchmark('idle', async ({ log, defer, partial }) => {
  const results = {}
  Object.assign(partial, { peers: args.peers, results })
  for (const profile of profiles) {
    results[profile] = await idleRun(profile, log, defer)
    const r = results[profile]
    log(`${profile}: CPU per peer mean ${r.cpu_pct_per_peer.mean} % of a core, RSS per peer mean ${r.rss_mb_per_peer.mean} MB, ` +
      `main-thread wake-ups ${r.main_wakeups_per_s_per_peer.mean}/s`)
  }
  return {
    peers: args.peers,
    idle_ms: args.idle,
    warmup_ms: args.warmup,
    keys: args.keys,
    ...(args.keys > 0 ? { value_bytes: args.valueBytes } : {}),
    ...(args.cpuProf !== '' ? { profiled: true, note: 'CPU profiles were taken: the CPU figures include the profiler' } : {}),
    ...results
  }
})

async function idleRun (profile, log, defer) {
  const baseDir = await mkdtemp(join(tmpdir(), 'hearsay-bench-idle-'))
  defer(async () => { await rm(baseDir, { recursive: true, force: true }) })
  let censusDir
  const savedOptions = process.env.NODE_OPTIONS
  if (census) {
    // Kept beside the profiles when profiling: they mark the window to cut them to.
    censusDir = args.cpuProf === '' ? join(baseDir, 'census') : resolve(args.cpuProf, profile, 'census')
    await mkdir(censusDir, { recursive: true })
    const extra = [`--import=${censusFile}`]
    if (args.cpuProf !== '') extra.push('--cpu-prof', `--cpu-prof-dir=${resolve(args.cpuProf, profile)}`)
    process.env.NODE_OPTIONS = [savedOptions ?? '', ...extra].join(' ').trim()
    process.env.TIMER_CENSUS_DIR = censusDir
  }
  if (args.keys > 0) await prefill(join(baseDir, 'peer-0'), log)

  const t0 = now()
  const cluster = await createProcessCluster({ size: args.peers, network: uniqueNetwork(`bench-idle-${profile}`), baseDir, peer: { profile } })
  defer(async () => { await cluster.stop() })
  if (census) {
    if (savedOptions === undefined) delete process.env.NODE_OPTIONS
    else process.env.NODE_OPTIONS = savedOptions
    delete process.env.TIMER_CENSUS_DIR
  }
  const started = now()
  await cluster.converged({ timeout: args.timeout })
  const converged = now()
  log(`${profile}: ${args.peers} processes started in ${ms(started - t0)} ms, converged ${ms(converged - started)} ms later; warming up ${args.warmup} ms`)
  const pids = cluster.peers.map((p) => p.pid)
  const atStart = pids.map((pid) => readProc(pid))
  await sleep(args.warmup)

  // The window.
  if (census) for (const pid of pids) process.kill(pid, 'SIGUSR2')
  const first = pids.map((pid) => readProc(pid))
  const slices = []
  let previous = first
  const end = now() + args.idle
  while (now() < end) {
    await sleep(Math.min(args.slice, end - now()))
    const current = pids.map((pid) => readProc(pid))
    const shares = current.map((c, i) => c === undefined || previous[i] === undefined ? undefined : between(previous[i], c).cpuShare)
    slices.push(round2(100 * mean(shares.filter((s) => s !== undefined))))
    previous = current
  }
  const last = previous
  if (census) for (const pid of pids) process.kill(pid, 'SIGUSR2')
  const perPeer = pids.map((pid, i) => {
    const a = first[i]
    const b = last[i]
    if (a === undefined || b === undefined) return undefined
    const d = between(a, b)
    return {
      cpu_pct: round2(d.cpuShare * 100),
      rss_mb: round1(b.rssMb),
      rss_anon_mb: round1(b.rssAnonMb),
      rss_file_mb: round1(b.rssFileMb),
      peak_rss_mb: round1(b.peakRssMb),
      main_wakeups_per_s: round1(d.mainWakeupsPerSecond),
      all_wakeups_per_s: round1(d.allWakeupsPerSecond),
      threads: b.threads,
      startup_cpu_s: atStart[i] === undefined ? null : round2(atStart[i].cpuSeconds)
    }
  })
  const alive = perPeer.filter((p) => p !== undefined)
  if (alive.length < pids.length) throw new Error(`${pids.length - alive.length} peer process(es) ended during the window`)
  const memory = await heapFigures(cluster)
  const result = {
    profile,
    converge_after_start_ms: ms(converged - started),
    cpu_pct_per_peer: summary(alive.map((p) => p.cpu_pct)),
    cpu_pct_total: round2(alive.reduce((s, p) => s + p.cpu_pct, 0)),
    cpu_pct_per_peer_by_slice: slices,
    rss_mb_per_peer: summary(alive.map((p) => p.rss_mb)),
    rss_anon_mb_per_peer: summary(alive.map((p) => p.rss_anon_mb)),
    rss_file_mb_per_peer: summary(alive.map((p) => p.rss_file_mb)),
    peak_rss_mb_per_peer: summary(alive.map((p) => p.peak_rss_mb)),
    main_wakeups_per_s_per_peer: summary(alive.map((p) => p.main_wakeups_per_s)),
    all_wakeups_per_s_per_peer: summary(alive.map((p) => p.all_wakeups_per_s)),
    heap: memory,
    per_peer: perPeer
  }
  if (census) result.timers = await readCensus(censusDir, pids.length)
  await cluster.stop()
  return result
}

/** Peer 0's data dir holds `keys` keys before its process starts (written here, in bulk). */
async function prefill (dataDir, log) {
  const t = now()
  const peer = await createPeer({ dataDir, network: uniqueNetwork('bench-idle-prefill'), profile: 'local', sync: 'none' })
  await peer.start()
  // {"i":123,"pad":"xx…"}: the value's JSON is --value-bytes long.
  const pad = (i) => 'x'.repeat(Math.max(0, args.valueBytes - JSON.stringify({ i, pad: '' }).length))
  const batch = 1_000
  for (let start = 0; start < args.keys; start += batch) {
    const puts = []
    for (let i = start; i < Math.min(args.keys, start + batch); i++) puts.push(peer.kv.put(`key/${i}`, { i, pad: pad(i) }))
    await Promise.all(puts)
  }
  await peer.stop()
  log(`prefilled ${args.keys} keys of ${args.valueBytes} bytes in ${ms(now() - t)} ms`)
}

/** What each peer's /metrics says of its heap, after the window (the scrape costs CPU, so not during it). */
async function heapFigures (cluster) {
  const wanted = ['nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes', 'process_resident_memory_bytes']
  const figures = await Promise.all(cluster.live().map(async (i) => {
    const p = cluster.peers[i]
    try {
      const res = await fetch(`${p.apiUrl}/metrics`, { headers: { authorization: `Bearer ${p.token}` } })
      const text = await res.text()
      const out = {}
      for (const name of wanted) {
        const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)
        if (m !== null) out[name] = Number(m[1]) / 1_048_576
      }
      return out
    } catch {
      return {}
    }
  }))
  const pick = (name) => summary(figures.map((f) => f[name]).filter((v) => v !== undefined)).mean ?? null
  return {
    heap_used_mb: pick('nodejs_heap_size_used_bytes'),
    heap_total_mb: pick('nodejs_heap_size_total_bytes'),
    external_mb: pick('nodejs_external_memory_bytes')
  }
}

/** Sums every peer's timer census: callbacks per second and ms of CPU per second, per site. */
async function readCensus (dir, expected) {
  let files = []
  for (let i = 0; i < 50 && files.length < expected; i++) {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json'))
    if (files.length < expected) await sleep(100)
  }
  const windows = await Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8'))))
  const seconds = mean(windows.map((w) => w.seconds))
  const bySite = new Map()
  for (const w of windows) {
    for (const s of w.sites) {
      const e = bySite.get(s.site) ?? { calls: 0, ms: 0 }
      e.calls += s.calls
      e.ms += s.ms
      bySite.set(s.site, e)
    }
  }
  const peers = windows.length
  const list = [...bySite.entries()].map(([site, e]) => ({
    site,
    per_s_per_peer: round2(e.calls / seconds / peers),
    cpu_ms_per_s_per_peer: round2(e.ms / seconds / peers)
  })).sort((a, b) => b.cpu_ms_per_s_per_peer - a.cpu_ms_per_s_per_peer || b.per_s_per_peer - a.per_s_per_peer)
  return {
    peers,
    seconds: round1(seconds),
    callbacks_per_s_per_peer: round1(list.reduce((s, x) => s + x.per_s_per_peer, 0)),
    callback_cpu_ms_per_s_per_peer: round2(list.reduce((s, x) => s + x.cpu_ms_per_s_per_peer, 0)),
    windows: windows.map((w) => ({ pid: w.pid, start_us: w.window_start_us, end_us: w.window_end_us, heap_used_mb: round1(w.memory.heapUsed / 1_048_576), rss_mb: round1(w.memory.rss / 1_048_576), heap_spaces: w.heap_spaces })),
    sites: list.slice(0, 40)
  }
}

function mean (values) {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length
}
function round1 (v) { return Math.round(v * 10) / 10 }
function round2 (v) { return Math.round(v * 100) / 100 }
