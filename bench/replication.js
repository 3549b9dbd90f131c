// Replication: N peers in this process on loopback, durable data dirs with the default fsync
// policy, 100-byte values. Single write until every peer applied it (p50/p90/max over 30 rounds
// after 3 warm-ups); bulk from one writer and from N concurrent writers (each awaiting its
// puts) until every peer holds every key; peak RSS. Measuring starts once the cluster has
// settled (its start-up DHT and anti-entropy traffic is over), as in a network that is running.
//   node bench/replication.js --peers 5 --keys 1000
import { createCluster } from '../dist/src/harness/index.js'
import { runBenchmark, parseArgs, summary, rssSampler, waitFor, now, ms, uniqueNetwork, settled } from './lib.js'

const args = parseArgs({ peers: 5, keys: 1000, rounds: 30, warmup: 3, timeout: 120_000 })
const value = (i) => ({ i, pad: 'x'.repeat(100 - 20) })

await runBenchmark('replication', async ({ log, defer, partial }) => {
  const rss = rssSampler()
  log(`starting ${args.peers} peers (durable, sync=always)`)
  const cluster = await createCluster({ size: args.peers, network: uniqueNetwork('bench-repl') })
  defer(async () => cluster.stop())
  await cluster.converged({ timeout: 60_000 })
  const settle = await settled()
  partial.settled = settle
  log(`settled after ${settle.waited_ms} ms (${Math.round(settle.cpu_share * 100)} % of a core at rest)`)
  const peers = cluster.peers
  const others = peers.slice(1)

  // Single write: from the put call on peer 0 until every other peer emitted `change` for it.
  const latencies = []
  for (let r = 0; r < args.warmup + args.rounds; r++) {
    const key = `single/${r}`
    const applied = others.map((p) => p.kv.once('change', (c) => c.key === key))
    const t0 = now()
    await peers[0].kv.put(key, value(r))
    await Promise.all(applied)
    if (r >= args.warmup) latencies.push(now() - t0)
  }
  const single = summary(latencies)
  partial.single_write_ms = single
  log(`single write to all: p50 ${single.p50} ms, p90 ${single.p90} ms, max ${single.max} ms`)

  const holdsAll = (prefix, count) => () => peers.every((p) => p.kv.list(prefix).length === count)
  const bulk = async (label, writerOf) => {
    const prefix = `${label}/`
    const t0 = now()
    const byWriter = new Map()
    for (let i = 0; i < args.keys; i++) {
      const w = writerOf(i)
      if (!byWriter.has(w)) byWriter.set(w, [])
      byWriter.get(w).push(i)
    }
    // Each writer awaits each of its own puts; writers run side by side.
    await Promise.all([...byWriter].map(async ([w, keys]) => {
      for (const i of keys) await peers[w].kv.put(`${prefix}${i}`, value(i))
    }))
    const written = now() - t0
    await waitFor(holdsAll(prefix, args.keys), {
      targets: peers.map((p) => p.kv), events: ['change'], interval: 20, timeout: args.timeout,
      describe: () => peers.map((p) => p.kv.list(prefix).length).join(',')
    })
    const total = now() - t0
    const result = { keys: args.keys, writes_done_ms: ms(written), all_replicated_ms: ms(total), keys_per_s_fully_replicated: Math.round(args.keys / (total / 1000)) }
    log(`${label}: ${result.keys_per_s_fully_replicated} keys/s fully replicated (${result.all_replicated_ms} ms)`)
    return result
  }
  const oneWriter = await bulk('one-writer', () => 0)
  partial.one_writer = oneWriter
  const nWriters = await bulk('n-writers', (i) => i % args.peers)
  const stats = peers.map((p) => p.kv.stats())
  return {
    peers: args.peers,
    keys: args.keys,
    value_bytes: 100,
    sync: 'always',
    single_write_ms: single,
    one_writer: oneWriter,
    n_writers: nWriters,
    peak_rss_mb: rss.stop(),
    settled: settle,
    gossip_messages_sent: stats.reduce((a, s) => a + s.gossipMessagesSent, 0),
    fsyncs_peer0: stats[0].log?.fsyncs ?? null
  }
})
