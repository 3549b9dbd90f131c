// Replication: N peers on loopback, durable data dirs with the default fsync policy (always),
// 100-byte values, in one of two topologies (bench/topology.js): `process` (all peers in this
// process) or `processes` (one OS process per peer). Measured once the peers have settled
// (their start-up DHT and anti-entropy traffic is over), as in a network that is running:
//   - single write: from the put on peer 0 until every other peer applied it, taken inside the
//     peers on one clock (p50/p90/max over `rounds` after `warmup`);
//   - local put: how long a put takes to resolve (durable) on its writer, awaited one by one;
//   - bulk from one writer and from N concurrent writers, each awaiting its puts: keys fully
//     replicated per second (first put started → last peer applied the last key);
//   - CPU per replicated key: the CPU of every peer together over a bulk phase, per key;
//   - peak RSS, per peer and in all.
// `--inflight W` lets each writer keep W puts outstanding (W loops each awaiting its own puts):
// the workload of the targets is W = 1; a larger W shows what coalescing does with concurrency.
//   node bench/replication.js --topology processes --peers 5 --keys 1000 [--inflight 1] [--cpu-prof DIR]
import { runBenchmark, parseArgs, summary, uniqueNetwork, ms } from './lib.js'
import { createTopology, settledTopology } from './topology.js'

const args = parseArgs({ topology: 'process', peers: 5, keys: 1000, rounds: 30, warmup: 3, valueBytes: 100, inflight: 1, cpuProf: '' })
const valueBytes = args.valueBytes
const value = (i) => ({ i, pad: 'x'.repeat(Math.max(0, valueBytes - 20)) })
const mb = (bytes) => Math.round(bytes / 1_048_576 * 10) / 10

await runBenchmark('replication', async ({ log, defer, partial }) => {
  log(`starting ${args.peers} peers, topology ${args.topology} (durable, sync=always)`)
  const t = await createTopology(args.topology, {
    peers: args.peers,
    network: uniqueNetwork('bench-repl'),
    ...(args.cpuProf === '' ? {} : { cpuProfDir: args.cpuProf })
  })
  defer(async () => t.stop())
  const peak = new Array(args.topology === 'process' ? 1 : args.peers).fill(0)
  const sampleRss = async () => { (await t.rssBytes()).forEach((rss, i) => { peak[i] = Math.max(peak[i], rss) }) }
  const sampler = setInterval(() => { void sampleRss().catch(() => {}) }, 200)
  defer(async () => { clearInterval(sampler) })
  await t.converged(60_000)
  const settle = await settledTopology(t)
  partial.settled = settle
  log(`settled after ${settle.waited_ms} ms (${Math.round(settle.cpu_share * 100)} % of a core at rest)`)
  const others = Array.from({ length: args.peers - 1 }, (_, j) => j + 1)

  // Single write: peer 0 puts; every other peer reports when it applied it.
  const latencies = []
  for (let r = 0; r < args.warmup + args.rounds; r++) {
    const key = `single/${r}`
    await Promise.all(others.map(async (i) => t.watchKey(i, key)))
    const { t0 } = await t.put(0, key, value(r))
    const applied = await Promise.all(others.map(async (i) => t.waited(i, key)))
    if (r >= args.warmup) latencies.push(Math.max(...applied) - t0)
  }
  const single = summary(latencies)
  partial.single_write_ms = single
  log(`single write to all: p50 ${single.p50} ms, p90 ${single.p90} ms, max ${single.max} ms`)

  const bulk = async (label, writers) => {
    const prefix = `${label}/`
    const byWriter = new Map(writers.map((w) => [w, []]))
    for (let i = 0; i < args.keys; i++) byWriter.get(writers[i % writers.length]).push(i)
    // Every peer waits for the keys it did not write itself.
    const expected = (p) => args.keys - (byWriter.get(p)?.length ?? 0)
    const watchers = Array.from({ length: args.peers }, (_, p) => p).filter((p) => expected(p) > 0)
    await Promise.all(watchers.map(async (p) => t.watchPrefix(p, prefix, expected(p))))
    const cpu0 = await t.cpuMs()
    const loops = await Promise.all([...byWriter].map(async ([w, keys]) => t.writeLoop(w, prefix, keys, valueBytes, args.inflight)))
    const seen = await Promise.all(watchers.map(async (p) => t.watched(p, prefix)))
    const cpu = (await t.cpuMs()) - cpu0
    const start = Math.min(...loops.map((l) => l.start))
    const end = Math.max(...seen.map((s) => s.last), ...loops.map((l) => l.end))
    const total = end - start
    const result = {
      keys: args.keys,
      writers: writers.length,
      inflight_per_writer: args.inflight,
      writes_done_ms: ms(Math.max(...loops.map((l) => l.end)) - start),
      all_replicated_ms: ms(total),
      keys_per_s_fully_replicated: Math.round(args.keys / (total / 1000)),
      local_put_ms: summary(loops.flatMap((l) => l.latencies)),
      // Includes the benchmark's own IPC in the processes topology: a few calls per phase.
      cpu_ms_per_replicated_key: Math.round(cpu / args.keys * 1000) / 1000
    }
    log(`${label}: ${result.keys_per_s_fully_replicated} keys/s fully replicated (${result.all_replicated_ms} ms), local put p50 ${result.local_put_ms.p50} ms, ${result.cpu_ms_per_replicated_key} ms CPU a key`)
    return result
  }
  const oneWriter = await bulk('one-writer', [0])
  partial.one_writer = oneWriter
  const nWriters = await bulk('n-writers', Array.from({ length: args.peers }, (_, p) => p))
  await sampleRss()
  const stats = await Promise.all(Array.from({ length: args.peers }, async (_, p) => t.stats(p)))
  const gossipMessages = stats.reduce((a, s) => a + s.gossipMessagesSent, 0)
  return {
    topology: args.topology,
    peers: args.peers,
    keys: args.keys,
    value_bytes: valueBytes,
    sync: 'always',
    profile: 'local',
    single_write_ms: single,
    local_put_ms: oneWriter.local_put_ms,
    one_writer: oneWriter,
    n_writers: nWriters,
    peak_rss_mb: args.topology === 'process' ? { all: mb(peak[0]) } : { per_peer_max: mb(Math.max(...peak)), sum: mb(peak.reduce((a, b) => a + b, 0)) },
    settled: settle,
    gossip_messages_sent: gossipMessages,
    gossip_bytes_per_record: Math.round(stats.reduce((a, s) => a + s.gossipBytesSent, 0) / (args.rounds + args.warmup + 2 * args.keys)),
    records_per_gossip_message: Math.round((args.rounds + args.warmup + 2 * args.keys) / Math.max(1, gossipMessages) * 100) / 100,
    rejected: stats.reduce((a, s) => a + s.rejected, 0)
  }
})
