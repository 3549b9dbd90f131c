// The two ways a benchmark runs N peers, behind one small interface, so a workload is written
// once and measured both ways:
//   - `process`: all peers in this process (the harness; how OrbitDB and Peerbit are measured);
//   - `processes`: one OS process per peer (bench/peer-worker.js: createPeer with a durable
//     data dir, as `hearsay start` runs it), driven over IPC.
// Times are this machine's clock at sub-millisecond resolution (performance.timeOrigin +
// performance.now()), taken inside the peers, the same clock in every process.
import { fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createCluster } from '../dist/src/harness/index.js'
import { sleep, now, ms } from './lib.js'

const here = dirname(fileURLToPath(import.meta.url))
const clock = () => performance.timeOrigin + performance.now()

export const TOPOLOGIES = ['process', 'processes']

/**
 * @param {'process'|'processes'} kind
 * @param {{ peers: number, network: string, profile?: string, cpuProfDir?: string }} options
 */
export async function createTopology (kind, options) {
  if (kind === 'process') return inProcess(options)
  if (kind === 'processes') return inProcesses(options)
  throw new Error(`unknown topology ${kind}: use ${TOPOLOGIES.join(' or ')}`)
}

async function inProcess ({ peers: size, network, profile = 'local' }) {
  const cluster = await createCluster({ size, network, peer: { profile } })
  const keyWaits = new Map()
  const prefixWaits = new Map()
  const watch = (i, prefix, count) => new Promise((resolve) => {
    const kv = cluster.peers[i].kv
    const seen = new Set()
    let first
    const listener = (event) => {
      const { key, origin } = event.detail
      if (origin !== 'remote' || !key.startsWith(prefix) || seen.has(key)) return
      const at = clock()
      seen.add(key)
      first ??= at
      if (seen.size >= count) {
        kv.removeEventListener('change', listener)
        resolve({ first, last: at, count: seen.size })
      }
    }
    kv.addEventListener('change', listener)
  })
  return {
    kind: 'process',
    size,
    converged: async (timeout) => cluster.converged({ timeout }),
    cpuMs: () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000 },
    rssBytes: async () => [process.memoryUsage.rss()],
    watchKey: async (i, key) => { keyWaits.set(`${i}/${key}`, watch(i, key, 1).then((r) => r.last)) },
    waited: async (i, key) => { const at = await keyWaits.get(`${i}/${key}`); keyWaits.delete(`${i}/${key}`); return at },
    watchPrefix: async (i, prefix, count) => { prefixWaits.set(`${i}/${prefix}`, watch(i, prefix, count)) },
    watched: async (i, prefix) => { const r = await prefixWaits.get(`${i}/${prefix}`); prefixWaits.delete(`${i}/${prefix}`); return r },
    put: async (i, key, value) => { const t0 = clock(); await cluster.peers[i].kv.put(key, value); return { t0, t1: clock() } },
    writeLoop: async (i, prefix, indices, valueBytes, inflight = 1) => {
      const kv = cluster.peers[i].kv
      const latencies = []
      const start = clock()
      let next = 0
      await Promise.all(Array.from({ length: inflight }, async () => {
        while (next < indices.length) {
          const k = indices[next++]
          const t0 = clock()
          await kv.put(`${prefix}${k}`, { i: k, pad: 'x'.repeat(Math.max(0, valueBytes - 20)) })
          latencies.push(clock() - t0)
        }
      }))
      return { start, end: clock(), latencies }
    },
    stats: async (i) => cluster.peers[i].diagnostics.stats().kv,
    stop: async () => cluster.stop()
  }
}

async function inProcesses ({ peers: size, network, profile = 'local', cpuProfDir }) {
  const base = await mkdtemp(join(tmpdir(), 'hearsay-bench-'))
  const workers = []
  const call = (worker, op, args) => new Promise((resolve, reject) => {
    const id = worker.next++
    worker.calls.set(id, { resolve, reject })
    worker.child.send({ id, op, args })
  })
  const spawnWorker = (i) => {
    const execArgv = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `peer-${i}.cpuprofile`]
    const child = fork(join(here, 'peer-worker.js'), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const worker = { child, next: 0, calls: new Map(), exited: false }
    child.on('message', ({ id, ok, result, error }) => {
      const pending = worker.calls.get(id)
      worker.calls.delete(id)
      if (ok) pending?.resolve(result)
      else pending?.reject(new Error(`peer ${i}: ${error}`))
    })
    child.on('exit', (code) => {
      worker.exited = true
      for (const { reject } of worker.calls.values()) reject(new Error(`peer ${i} exited (${code})`))
      worker.calls.clear()
    })
    return worker
  }
  try {
    const first = spawnWorker(0)
    workers.push(first)
    const boot = await call(first, 'start', { network, dataDir: join(base, 'p0'), profile })
    const rest = Array.from({ length: size - 1 }, (_, j) => spawnWorker(j + 1))
    workers.push(...rest)
    await Promise.all(rest.map(async (w, j) => call(w, 'start', { network, dataDir: join(base, `p${j + 1}`), profile, bootstrap: boot.addresses })))
  } catch (err) {
    for (const w of workers) w.child.kill('SIGKILL')
    await rm(base, { recursive: true, force: true })
    throw err
  }
  const all = async (op, args) => Promise.all(workers.map(async (w) => call(w, op, args)))
  return {
    kind: 'processes',
    size,
    converged: async (timeout) => {
      const deadline = now() + timeout
      while (true) {
        const views = await all('view')
        if (views.every((v) => v.alive === size && v.digest === views[0].digest)) return
        if (now() > deadline) throw new Error(`not converged within ${timeout} ms: ${JSON.stringify(views)}`)
        await sleep(50)
      }
    },
    // Every peer's CPU: each process's own figure, summed (asked over IPC, which costs each a little).
    cpuMs: async () => (await all('usage')).reduce((a, u) => a + u.cpu_ms, 0),
    rssBytes: async () => (await all('usage')).map((u) => u.rss),
    watchKey: async (i, key) => call(workers[i], 'watchKey', { key }),
    waited: async (i, key) => call(workers[i], 'waited', { key }),
    watchPrefix: async (i, prefix, count) => call(workers[i], 'watchPrefix', { prefix, count }),
    watched: async (i, prefix) => call(workers[i], 'watched', { prefix }),
    put: async (i, key, value) => call(workers[i], 'put', { key, value }),
    writeLoop: async (i, prefix, indices, valueBytes, inflight = 1) => call(workers[i], 'writeLoop', { prefix, indices, valueBytes, inflight }),
    stats: async (i) => call(workers[i], 'stats'),
    stop: async () => {
      await Promise.all(workers.map(async (w) => {
        if (w.exited) return
        const exited = new Promise((resolve) => { w.child.once('exit', resolve) })
        await call(w, 'stop').catch(() => {})
        const timer = setTimeout(() => { w.child.kill('SIGKILL') }, 5_000)
        await exited
        clearTimeout(timer)
      }))
      await rm(base, { recursive: true, force: true })
    }
  }
}

/**
 * Waits until the topology has settled (its start-up DHT and anti-entropy traffic is over):
 * the CPU of all its peers over one window within `tolerance` of the window before and under
 * `ceiling` of a core, or `timeout` ms. Returns how long it waited and the last window's share.
 */
export async function settledTopology (topology, { window = 1_000, tolerance = 0.25, ceiling = 0.75, timeout = 20_000 } = {}) {
  const t0 = now()
  const share = async () => {
    const c0 = await topology.cpuMs()
    await sleep(window)
    return ((await topology.cpuMs()) - c0) / window
  }
  let previous = await share()
  while (now() - t0 < timeout) {
    const current = await share()
    if (current < ceiling && Math.abs(current - previous) <= tolerance * Math.max(previous, 0.05)) return { waited_ms: ms(now() - t0), cpu_share: Math.round(current * 100) / 100 }
    previous = current
  }
  return { waited_ms: ms(now() - t0), cpu_share: Math.round(previous * 100) / 100, timed_out: true }
}
