// Failover: 5 peers with priorities 0..4; the coordinator is killed (abruptly); time until
// every live peer follows the next one. Also: a 2|3 partition, each side with its own
// coordinator, then heal: time until every peer follows one coordinator again.
//   node bench/failover.js --profile local --rounds 3
import { createCluster } from '../dist/src/harness/index.js'
import { runBenchmark, parseArgs, summary, waitFor, now, uniqueNetwork } from './lib.js'

const args = parseArgs({ peers: 5, rounds: 3, profile: 'local', timeout: 60_000 })

function agreeOn (cluster, indices, expected) {
  return () => {
    const want = cluster.peers[expected].peerId
    const views = indices.map((i) => cluster.peers[i].leader())
    return views.every((v) => v !== undefined && v.peerId === want && v.term === views[0].term)
  }
}

await runBenchmark('failover', async ({ log, defer, partial }) => {
  const failovers = []
  const heals = []
  for (let r = 0; r < args.rounds; r++) {
    const cluster = await createCluster({
      size: args.peers,
      network: uniqueNetwork('bench-failover'),
      peer: { profile: args.profile },
      peers: Array.from({ length: args.peers }, (_, i) => ({ priority: i }))
    })
    defer(async () => cluster.stop())
    const all = cluster.peers.map((_p, i) => i)
    const top = args.peers - 1
    const watch = { targets: cluster.peers, events: ['leader'], interval: 5, timeout: args.timeout }
    await waitFor(agreeOn(cluster, all, top), { ...watch, describe: () => 'initial leader' })
    const rest = all.filter((i) => i !== top)
    const t0 = now()
    await cluster.kill(top)
    await waitFor(agreeOn(cluster, rest, top - 1), { ...watch, describe: () => 'failover' })
    failovers.push(now() - t0)
    log(`round ${r + 1}: failover ${Math.round(failovers.at(-1))} ms`)

    await cluster.restart(top)
    await waitFor(agreeOn(cluster, all, top), { ...watch, describe: () => 'return' })
    const left = all.slice(0, 2)
    const right = all.slice(2)
    await cluster.partition(left, right)
    await waitFor(() => agreeOn(cluster, left, left.at(-1))() && agreeOn(cluster, right, top)(), { ...watch, describe: () => 'one per side' })
    const t1 = now()
    await cluster.heal()
    await waitFor(agreeOn(cluster, all, top), { ...watch, describe: () => 'one after heal' })
    heals.push(now() - t1)
    log(`round ${r + 1}: one coordinator ${Math.round(heals.at(-1))} ms after heal`)
    partial.failover_ms = summary(failovers)
    await cluster.stop()
  }
  return { peers: args.peers, profile: args.profile, failover_ms: summary(failovers), one_coordinator_after_heal_ms: summary(heals) }
})
