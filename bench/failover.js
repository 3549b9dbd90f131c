// Failover: 5 peers with priorities 0..4; the coordinator is killed (abruptly); time until
// every live peer follows the next one. Also: a 2|3 partition, each side with its own
// coordinator, then heal: time until every peer follows one coordinator again.
//   node bench/failover.js --profile local --rounds 3 [--load 0]
//
// False suspicions: every time a peer marks a member `suspect` or `dead` that is running and
// reachable, counted from the moment the cluster agrees on its first coordinator until --hold
// ms after the failover (suspicions of the killed coordinator do not count). Faster timers
// must not buy speed with them.
// --load N: every live peer writes N keys per second (100-byte values) throughout the round,
// so the timers are tried against a busy machine.
//
// First job run: every peer defines a job (every --jobEvery ms); `first_job_run_ms` is the time
// from the kill until the new coordinator starts its first run: what a user of jobs waits.
import { createCluster } from '../dist/src/harness/index.js'
import { runBenchmark, parseArgs, summary, waitFor, now, uniqueNetwork, sleep } from './lib.js'

const args = parseArgs({ peers: 5, rounds: 3, profile: 'local', timeout: 60_000, load: 0, hold: 2_000, jobEvery: 100 })

/**
 * Counts suspicions of members that are in fact up: `isUp(peerId)` says which are. Returns
 * `{ count, details, stop }`.
 */
function suspicionCounter (cluster, isUp) {
  const details = []
  const offs = []
  cluster.peers.forEach((peer, i) => {
    const onChange = (e) => {
      const m = e.detail
      if ((m.state === 'suspect' || m.state === 'dead') && isUp(m.peerId)) {
        details.push({ by: i, of: cluster.peers.findIndex((p) => p.peerId === m.peerId), state: m.state })
      }
    }
    for (const type of ['member:update', 'member:fail']) {
      peer.addEventListener(type, onChange)
      offs.push(() => { peer.removeEventListener(type, onChange) })
    }
  })
  return {
    get count () { return details.length },
    details,
    stop () { for (const off of offs.splice(0)) off() }
  }
}

/** Every live peer writes `perSecond` keys a second until stopped; returns `{ stop, writes }`. */
function startLoad (cluster, perSecond) {
  let running = perSecond > 0
  let writes = 0
  let failures = 0
  const pad = 'x'.repeat(80)
  const loops = cluster.peers.map(async (peer, i) => {
    let n = 0
    while (running) {
      const t = now()
      if (cluster.live().includes(i) && peer.isRunning()) {
        try {
          await peer.kv.put(`load/${i}/${n++ % 1000}`, { n, pad })
          writes++
        } catch {
          failures++
        }
      }
      await sleep(Math.max(0, 1000 / perSecond - (now() - t)))
    }
  })
  return {
    async stop () {
      running = false
      await Promise.all(loops)
      return { writes, failures }
    }
  }
}

function agreeOn (cluster, indices, expected) {
  return () => {
    const want = cluster.peers[expected].peerId
    const views = indices.map((i) => cluster.peers[i].leader())
    return views.every((v) => v !== undefined && v.peerId === want && v.term === views[0].term)
  }
}

await runBenchmark('failover', async ({ log, defer, partial }) => {
  const failovers = []
  const firstRuns = []
  const heals = []
  const falseSuspicions = []
  const loads = []
  for (let r = 0; r < args.rounds; r++) {
    const cluster = await createCluster({
      size: args.peers,
      network: uniqueNetwork('bench-failover'),
      peer: { profile: args.profile },
      peers: Array.from({ length: args.peers }, (_, i) => ({ priority: i }))
    })
    defer(async () => cluster.stop())
    // Run starts by peer index, for the first run after the failover.
    const runStarts = []
    cluster.peers.forEach((peer, i) => {
      peer.jobs.define('bench.tick', { every: args.jobEvery }, () => { runStarts.push({ peer: i, at: now() }) })
    })
    const all = cluster.peers.map((_p, i) => i)
    const top = args.peers - 1
    const watch = { targets: cluster.peers, events: ['leader'], interval: 5, timeout: args.timeout }
    await waitFor(agreeOn(cluster, all, top), { ...watch, describe: () => 'initial leader' })
    const load = startLoad(cluster, args.load)
    const killed = new Set()
    const suspicions = suspicionCounter(cluster, (peerId) => !killed.has(peerId))
    // With load on, let it run a while before the crash: that is when a timer set too tight misfires.
    if (args.load > 0) await sleep(3_000)
    const rest = all.filter((i) => i !== top)
    const t0 = now()
    killed.add(cluster.peers[top].peerId)
    await cluster.kill(top)
    await waitFor(agreeOn(cluster, rest, top - 1), { ...watch, describe: () => 'failover' })
    failovers.push(now() - t0)
    await waitFor(() => runStarts.some((r) => r.peer === top - 1 && r.at > t0), { interval: 1, timeout: args.timeout, describe: () => 'first job run' })
    firstRuns.push(runStarts.find((r) => r.peer === top - 1 && r.at > t0).at - t0)
    // Suspicions raised just after the failover count too (a follower slowed by the election).
    await sleep(args.hold)
    suspicions.stop()
    const loadResult = await load.stop()

    await cluster.restart(top)
    await waitFor(agreeOn(cluster, all, top), { ...watch, describe: () => 'return' })
    falseSuspicions.push(suspicions.count)
    loads.push(loadResult)
    log(`round ${r + 1}: failover ${Math.round(failovers.at(-1))} ms, first job run ${Math.round(firstRuns.at(-1))} ms, ${suspicions.count} false suspicion(s)` +
      (suspicions.count > 0 ? ` ${JSON.stringify(suspicions.details.slice(0, 5))}` : '') +
      (args.load > 0 ? `, ${loadResult.writes} writes under load` : ''))
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
    partial.first_job_run_ms = summary(firstRuns)
    partial.false_suspicions_per_round = falseSuspicions
    await cluster.stop()
  }
  return {
    peers: args.peers,
    profile: args.profile,
    load_writes_per_s_per_peer: args.load,
    failover_ms: summary(failovers),
    first_job_run_ms: summary(firstRuns),
    job_every_ms: args.jobEvery,
    one_coordinator_after_heal_ms: summary(heals),
    false_suspicions: falseSuspicions.reduce((a, b) => a + b, 0),
    false_suspicions_per_round: falseSuspicions,
    ...(args.load > 0 ? { load: loads } : {})
  }
})
