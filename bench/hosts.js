// Peers on their own hosts (network namespaces, the lan profile, root only), with --loss P %
// of the packets dropped on every link by the kernel. Per round: (1) failover — the coordinator
// (highest priority) is SIGKILLed; time until every live peer follows the next one; (2) a 2|3
// kernel partition with writes on both sides, each side has seen the other dead; heal; time
// until every peer sees every peer alive and all replicas are equal. Times are read by polling
// the peers' APIs every 50 ms (failover) or 100 ms (convergence), so they carry that much slack.
//   node bench/hosts.js --loss 5 --rounds 3
import { createCluster } from '../dist/src/harness/index.js'
import { runBenchmark, parseArgs, summary, now, sleep } from './lib.js'

const args = parseArgs({ peers: 5, rounds: 3, loss: 0, keys: 20, timeout: 120_000 })

async function until (what, predicate, interval) {
  const deadline = now() + args.timeout
  while (now() < deadline) {
    if (await predicate()) return
    await sleep(interval)
  }
  throw new Error(`timed out waiting for ${what}`)
}

await runBenchmark('hosts', async ({ log, defer, partial }) => {
  const cluster = await createCluster({
    size: args.peers,
    hosts: true,
    peers: Array.from({ length: args.peers }, (_, i) => ({ priority: i }))
  })
  defer(async () => cluster.stop())
  await cluster.converged({ timeout: 60_000 })
  await cluster.loss(args.loss)
  log(`${args.peers} peers on ${cluster.subnet}, ${args.loss} % loss on every link`)

  const leaderOf = async (i) => cluster.api(i, 'GET', '/v1/leader', undefined, { timeout: 2_000 }).catch(() => undefined)
  const agreeOn = (indices, expected) => async () => {
    const views = await Promise.all(indices.map(leaderOf))
    const want = cluster.peers[expected].peerId
    return views.every((v) => v !== undefined && v.peerId === want && v.term === views[0].term)
  }
  const aliveCount = async (i) => (await cluster.api(i, 'GET', '/v1/members', undefined, { timeout: 2_000 }).catch(() => [])).filter((m) => m.state === 'alive').length

  const all = cluster.peers.map((_p, i) => i)
  const top = args.peers - 1
  const failovers = []
  const convergence = []
  Object.assign(partial, { failover_ms: failovers, convergence_after_heal_ms: convergence })
  for (let r = 0; r < args.rounds; r++) {
    await until('the first coordinator', agreeOn(all, top), 100)
    await cluster.kill(top)
    const t0 = now()
    await until('failover', agreeOn(all.filter((i) => i !== top), top - 1), 50)
    failovers.push(Math.round(now() - t0))
    await cluster.restart(top)
    await cluster.converged({ timeout: args.timeout })

    const left = all.slice(0, 2)
    const right = all.slice(2)
    await cluster.partition(left, right)
    await until('each side to see the other dead', async () => {
      const counts = await Promise.all(all.map(aliveCount))
      return counts.every((n, i) => n === (left.includes(i) ? left.length : right.length))
    }, 200)
    for (let k = 0; k < args.keys; k++) {
      await cluster.api(left[k % left.length], 'PUT', `/v1/kv/r${r}-left-${k}`, k)
      await cluster.api(right[k % right.length], 'PUT', `/v1/kv/r${r}-right-${k}`, k)
    }
    await cluster.heal()
    const t1 = now()
    await cluster.converged({ timeout: args.timeout })
    convergence.push(Math.round(now() - t1))
    log(`round ${r + 1}/${args.rounds}: failover ${failovers.at(-1)} ms, converged ${convergence.at(-1)} ms after heal`)
  }
  return {
    peers: args.peers,
    profile: 'lan',
    loss_percent: args.loss,
    failover_ms: summary(failovers),
    convergence_after_heal_ms: summary(convergence),
    rounds: failovers.map((f, i) => ({ failover_ms: f, convergence_after_heal_ms: convergence[i] }))
  }
})
