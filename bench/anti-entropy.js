// Anti-entropy: (1) a partition with K divergent keys on each side, then heal: time until all
// replicas are equal and the anti-entropy bytes sent; (2) one missing key in a store of S keys:
// bytes sent to repair it. Gossip is off so only anti-entropy moves data.
//   node bench/anti-entropy.js --keys 10000 --store 100000
import { createCluster } from '../dist/src/harness/index.js'
import { runBenchmark, parseArgs, waitFor, now, ms, uniqueNetwork } from './lib.js'

const args = parseArgs({ keys: 10_000, store: 100_000, timeout: 180_000 })
const value = (i) => ({ i, pad: 'x'.repeat(80) })

async function writeMany (peer, prefix, count) {
  // Concurrent puts: group commit makes the setup fast; it is not what is measured.
  const batch = 500
  for (let start = 0; start < count; start += batch) {
    const puts = []
    for (let i = start; i < Math.min(count, start + batch); i++) puts.push(peer.kv.put(`${prefix}${i}`, value(i)))
    await Promise.all(puts)
  }
}

const aeBytes = (peers) => peers.reduce((sum, p) => sum + p.diagnostics.stats().kv.antiEntropyBytesSent, 0)
const aeRecords = (peers) => peers.reduce((sum, p) => sum + p.diagnostics.stats().kv.antiEntropyRecordsSent, 0)

await runBenchmark('anti-entropy', async ({ log, defer, partial }) => {
  const options = (network) => ({
    size: 2,
    network,
    // Only the sync that a new connection triggers should run while we measure.
    peer: { sync: 'none', replication: { gossip: false, antiEntropyInterval: 3_600_000 } }
  })

  // (1) K divergent keys per side.
  const a = await createCluster(options(uniqueNetwork('bench-ae')))
  defer(async () => a.stop())
  await a.converged({ timeout: 60_000 })
  await a.partition([0], [1])
  await waitFor(() => a.peers.every((p) => p.members().filter((m) => m.state === 'alive').length === 1), { interval: 50, timeout: 60_000, describe: () => 'partition' })
  log(`writing ${args.keys} keys on each side`)
  await Promise.all([writeMany(a.peers[0], 'left/', args.keys), writeMany(a.peers[1], 'right/', args.keys)])
  const bytesBefore = aeBytes(a.peers)
  const recordsBefore = aeRecords(a.peers)
  const t0 = now()
  await a.heal()
  await waitFor(() => a.peers[0].kv.digest() === a.peers[1].kv.digest(), {
    targets: a.peers.map((p) => p.kv), events: ['change'], interval: 20, timeout: args.timeout,
    describe: () => a.peers.map((p) => p.kv.size()).join(',')
  })
  const divergent = {
    keys_per_side: args.keys,
    converge_after_heal_ms: ms(now() - t0),
    bytes_sent: aeBytes(a.peers) - bytesBefore,
    records_sent: aeRecords(a.peers) - recordsBefore
  }
  divergent.bytes_per_missing_record = Math.round(divergent.bytes_sent / (2 * args.keys))
  partial.divergent = divergent
  log(`divergent: ${divergent.converge_after_heal_ms} ms, ${divergent.bytes_sent} bytes`)
  await a.stop()

  // (2) One missing key in a store of S keys.
  const b = await createCluster(options(uniqueNetwork('bench-ae1')))
  defer(async () => b.stop())
  await b.converged({ timeout: 60_000 })
  log(`writing ${args.store} keys and syncing them`)
  await writeMany(b.peers[0], 'big/', args.store)
  await b.peers[1].diagnostics.syncWith(b.peers[0].peerId, b.peers[0].addresses())
  await waitFor(() => b.peers[1].kv.size() === args.store, { interval: 50, timeout: args.timeout, describe: () => String(b.peers[1].kv.size()) })
  await b.partition([0], [1])
  await waitFor(() => b.peers.every((p) => p.members().filter((m) => m.state === 'alive').length === 1), { interval: 50, timeout: 60_000, describe: () => 'partition' })
  await b.peers[0].kv.put('the-one', value(-1))
  const before = aeBytes(b.peers)
  const rounds = b.peers.reduce((s, p) => s + p.diagnostics.stats().kv.antiEntropyRounds, 0)
  const t1 = now()
  await b.heal()
  await waitFor(() => b.peers[1].kv.get('the-one') !== undefined, { targets: [b.peers[1].kv], events: ['change'], interval: 20, timeout: args.timeout })
  const oneMissing = {
    store_keys: args.store,
    repair_ms: ms(now() - t1),
    bytes_sent: aeBytes(b.peers) - before,
    sessions: b.peers.reduce((s, p) => s + p.diagnostics.stats().kv.antiEntropyRounds, 0) - rounds
  }
  log(`one missing of ${args.store}: ${oneMissing.bytes_sent} bytes in ${oneMissing.sessions} session sides`)
  return { divergent, one_missing: oneMissing }
})
