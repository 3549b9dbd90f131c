// One peer in its own OS process, driven by a benchmark over the IPC channel (see
// topology.js). It runs what `hearsay start` runs — createPeer with a durable data dir — but
// no HTTP API, so what the benchmark measures is the peer, not a client. Times it reports are
// this machine's clock at sub-millisecond resolution (performance.timeOrigin + now()), the
// same clock in every process.
import { createPeer } from '../dist/src/index.js'

const clock = () => performance.timeOrigin + performance.now()
let peer
/** key prefix → { want, seen: Set, first, last, resolve } */
const watches = new Map()
/** key → resolve(time) for single-key waits */
const keyWaits = new Map()

function onChange (event) {
  const { key, origin } = event.detail
  if (origin !== 'remote') return
  const at = clock()
  const wait = keyWaits.get(key)
  if (wait !== undefined) {
    keyWaits.delete(key)
    wait(at)
  }
  for (const [prefix, watch] of watches) {
    if (!key.startsWith(prefix) || watch.seen.has(key)) continue
    watch.seen.add(key)
    watch.first ??= at
    watch.last = at
    if (watch.seen.size >= watch.want) {
      watches.delete(prefix)
      watch.resolve({ first: watch.first, last: watch.last, count: watch.seen.size })
    }
  }
}

const ops = {
  async start ({ network, dataDir, bootstrap, profile }) {
    peer = await createPeer({ network, dataDir, bootstrap, profile })
    peer.kv.addEventListener('change', onChange)
    await peer.start()
    return { peerId: peer.peerId, addresses: peer.addresses() }
  },
  view () {
    return { alive: peer.members().filter((m) => m.state === 'alive').length, digest: peer.kv.digest() }
  },
  usage () {
    const cpu = process.cpuUsage()
    return { cpu_ms: (cpu.user + cpu.system) / 1000, rss: process.memoryUsage.rss() }
  },
  /** Registers a wait for `key` (resolves through a later `waited` call). */
  watchKey ({ key }) {
    const p = new Promise((resolve) => { keyWaits.set(key, resolve) })
    pending.set(`key:${key}`, p)
    return true
  },
  async waited ({ key }) {
    const at = await pending.get(`key:${key}`)
    pending.delete(`key:${key}`)
    return at
  },
  watchPrefix ({ prefix, count }) {
    const p = new Promise((resolve) => { watches.set(prefix, { want: count, seen: new Set(), first: undefined, last: undefined, resolve }) })
    pending.set(`prefix:${prefix}`, p)
    return true
  },
  async watched ({ prefix }) {
    const result = await pending.get(`prefix:${prefix}`)
    pending.delete(`prefix:${prefix}`)
    return result
  },
  async put ({ key, value }) {
    const t0 = clock()
    await peer.kv.put(key, value)
    return { t0, t1: clock() }
  },
  /** Awaited puts, one after the other: the latency of each and when the loop began and ended. */
  async writeLoop ({ prefix, indices, valueBytes, inflight = 1 }) {
    const latencies = []
    const start = clock()
    let next = 0
    // `inflight` loops side by side, each awaiting its own puts.
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (next < indices.length) {
        const i = indices[next++]
        const t0 = clock()
        await peer.kv.put(`${prefix}${i}`, { i, pad: 'x'.repeat(Math.max(0, valueBytes - 20)) })
        latencies.push(clock() - t0)
      }
    }))
    return { start, end: clock(), latencies }
  },
  stats () {
    return peer.diagnostics.stats().kv
  },
  async stop () {
    await peer?.stop()
    return true
  }
}
const pending = new Map()

process.on('message', (message) => {
  const { id, op, args } = message
  Promise.resolve()
    .then(() => ops[op](args ?? {}))
    .then((result) => { process.send({ id, ok: true, result }) }, (err) => { process.send({ id, ok: false, error: String(err?.stack ?? err) }) })
    .then(() => { if (op === 'stop') process.disconnect() })
})
process.on('disconnect', () => { void peer?.stop().finally(() => process.exit(0)) })
