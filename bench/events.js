// User events and queries among N peers in this process (the harness, loopback, local profile):
// one event until every peer (the sender included) has emitted it, p50/p90/max over R rounds,
// senders in turn; a bulk of K events from one sender back to back, all delivered: events/s and
// CPU per event (all peers together); a query every peer answers, until the asker has every
// answer. The rate limit is lifted (it would pace the bulk), nothing else is changed.
//
//   node bench/events.js [--peers 5] [--rounds 50] [--bulk 1000] [--payload 100]
//
// Progress on stderr; the last stdout line is one JSON object.

import { createCluster } from '../dist/src/harness/index.js'
import { EVENTS_PART } from '../dist/src/events/index.js'
import { protocolId } from '../dist/src/net/index.js'
import { ms, now, parseArgs, rssSampler, runBenchmark, settled, summary, waitFor } from './lib.js'

const args = parseArgs({ peers: 5, rounds: 50, bulk: 1000, payload: 100, timeout: 30_000 })
if (args.peers < 2) throw new Error('--peers must be at least 2')

await runBenchmark('events', async ({ log, defer, partial }) => {
  const rss = rssSampler()
  const cluster = await createCluster({ size: args.peers, durable: false, peer: { events: { ratePerSecond: 1e6, burst: 1e6 } } })
  defer(async () => { await cluster.stop() })
  await cluster.converged({ timeout: args.timeout })
  const peers = cluster.peers
  const topic = protocolId(cluster.network, EVENTS_PART)
  const meshed = (p) => p.net.gossipMesh().find((t) => t.topic === topic)?.peers.length ?? 0
  await waitFor(() => peers.every((p) => meshed(p) >= Math.min(args.peers - 1, 4)), { timeout: args.timeout, describe: () => 'events topic mesh' })
  const quiet = await settled()
  log(`${args.peers} peers converged; settled after ${quiet.waited_ms} ms`)

  // id → how many peers emitted it, and when the last did.
  const arrivals = new Map()
  for (const peer of peers) {
    peer.events.addEventListener('user', (e) => {
      const a = arrivals.get(e.detail.id) ?? { count: 0, last: 0 }
      a.count++
      a.last = now()
      arrivals.set(e.detail.id, a)
    })
  }
  const payload = 'x'.repeat(Math.max(0, args.payload - 2))

  const single = []
  for (let r = 0; r < args.rounds; r++) {
    const t0 = now()
    const { id } = await peers[r % args.peers].events.publish('bench', payload)
    await waitFor(() => arrivals.get(id)?.count === args.peers, { interval: 1, timeout: args.timeout, describe: () => `event ${r}: ${arrivals.get(id)?.count ?? 0} peers` })
    single.push(arrivals.get(id).last - t0)
  }
  partial.single_event_ms = summary(single)
  log(`one event to all: p50 ${ms(partial.single_event_ms.p50)} ms`)

  const cpu0 = process.cpuUsage()
  const t0 = now()
  const ids = []
  for (let i = 0; i < args.bulk; i++) ids.push((await peers[0].events.publish('bulk', payload)).id)
  await waitFor(() => ids.every((id) => arrivals.get(id)?.count === args.peers), { interval: 5, timeout: args.timeout * 4, describe: () => 'bulk delivery' })
  const bulkMs = now() - t0
  const cpu = process.cpuUsage(cpu0)
  const cpuMsPerEvent = (cpu.user + cpu.system) / 1000 / args.bulk
  log(`bulk of ${args.bulk}: ${Math.round(args.bulk / (bulkMs / 1000))} events/s, ${cpuMsPerEvent.toFixed(2)} ms CPU per event`)

  for (const peer of peers) peer.events.onQuery('bench', (p) => p)
  const queries = []
  for (let r = 0; r < args.rounds; r++) {
    const q0 = now()
    const result = await peers[r % args.peers].events.query('bench', payload, { timeout: 10_000 })
    if (result.responses.length !== args.peers) throw new Error(`query ${r}: ${result.responses.length} answers, missing ${result.missing.join(', ')}`)
    queries.push(now() - q0)
  }
  const query = summary(queries)
  log(`query answered by all: p50 ${ms(query.p50)} ms`)
  const dropped = peers.reduce((n, p) => { const s = p.diagnostics.stats().events; return n + s.duplicates + s.rateLimited + s.oversized + s.malformed + s.stale }, 0)
  return {
    peers: args.peers,
    payload_bytes: args.payload,
    settled: quiet,
    single_event_ms: partial.single_event_ms,
    bulk: { events: args.bulk, ms: ms(bulkMs), events_per_s: Math.round(args.bulk / (bulkMs / 1000)), cpu_ms_per_event_all_peers: Math.round(cpuMsPerEvent * 100) / 100 },
    query_all_answer_ms: query,
    dropped_on_receipt: dropped,
    rss_peak_mb: rss.stop()
  }
})
