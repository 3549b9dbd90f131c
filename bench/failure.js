// Failure detection: a cluster of N peers (the harness, on 127.0.0.1, local profile) converges;
// one peer is killed abruptly (no goodbye). Measures the time from the kill until the first
// live peer marks it `suspect`, and until every live peer has it `dead` (member:fail). Then
// another peer stops gracefully: time until every remaining peer has it `left`. Each round
// uses a fresh cluster.
//
//   node bench/failure.js [--peers 5] [--rounds 5] [--profile local] [--membership '{"suspicionTimeout":1000}']
//
// Progress on stderr; the last stdout line is one JSON object.

import { createCluster } from '../dist/src/harness/index.js'
import { LOCAL_MEMBERSHIP, LAN_MEMBERSHIP } from '../dist/src/index.js'
import { loopDelay, ms, now, parseArgs, rssSampler, runBenchmark, summary, waitFor } from './lib.js'

const args = parseArgs({ peers: 5, rounds: 5, profile: 'local', membership: '', timeout: 30_000, durable: true })
if (args.peers < 3) throw new Error('--peers must be at least 3 (one is killed, one leaves, one watches)')
if (args.profile !== 'local' && args.profile !== 'lan') throw new Error('--profile must be local or lan')
const membership = args.membership === '' ? undefined : JSON.parse(args.membership)
const timing = { ...(args.profile === 'local' ? LOCAL_MEMBERSHIP : LAN_MEMBERSHIP), ...membership }

await runBenchmark('failure', async ({ log, defer, partial }) => {
  const rss = rssSampler()
  const rounds = []
  Object.assign(partial, { peers: args.peers, rounds })
  for (let r = 0; r < args.rounds; r++) {
    const round = await failureRound(log, defer, r)
    rounds.push(round)
    log(`round ${r + 1}/${args.rounds}: killed peer ${round.killed}: first suspect ${round.suspect_first_ms} ms, ` +
      `dead everywhere ${round.dead_all_ms} ms; peer ${round.left} stopped: left everywhere ${round.left_all_ms} ms`)
  }
  const pick = (key) => rounds.map((r) => r[key]).filter((v) => v !== null)
  const dead = summary(pick('dead_all_ms'))
  const suspect = summary(pick('suspect_first_ms'))
  const left = summary(pick('left_all_ms'))
  return {
    peers: args.peers,
    profile: args.profile,
    timing: {
      probeInterval: timing.probeInterval,
      probeTimeout: timing.probeTimeout,
      indirectProbeTimeout: timing.indirectProbeTimeout,
      suspicionTimeout: timing.suspicionTimeout,
      gossipInterval: timing.gossipInterval
    },
    rounds,
    dead_all_p50_ms: dead.p50 ?? null,
    dead_all_max_ms: dead.max ?? null,
    suspect_first_p50_ms: suspect.p50 ?? null,
    suspect_first_max_ms: suspect.max ?? null,
    left_all_p50_ms: left.p50 ?? null,
    left_all_max_ms: left.max ?? null,
    dead_all: dead,
    suspect_first: suspect,
    left_all: left,
    false_suspicions: rounds.reduce((a, r) => a + r.false_suspicions, 0),
    peak_rss_mb: rss.stop()
  }
})

async function failureRound (log, defer, r) {
  const t = now()
  const cluster = await createCluster({
    size: args.peers,
    durable: args.durable,
    peer: { profile: args.profile, ...(membership === undefined ? {} : { membership }) }
  })
  defer(async () => { await cluster.stop() })
  await cluster.converged({ timeout: args.timeout })
  log(`round ${r + 1}/${args.rounds}: ${args.peers} peers converged in ${ms(now() - t)} ms`)
  const lag = loopDelay()

  // Every round kills a different peer (the bootstrap peer too, in its turn).
  const victimIndex = r % args.peers
  const leaverIndex = (victimIndex + 1) % args.peers
  const victim = cluster.peers[victimIndex].peerId
  const leaver = cluster.peers[leaverIndex].peerId
  const watchers = cluster.live().filter((i) => i !== victimIndex)

  const suspectAt = new Map()
  const deadAt = new Map()
  const leftAt = new Map()
  let falseSuspicions = 0
  const offs = []
  for (const i of watchers) {
    const peer = cluster.peers[i]
    const onUpdate = (e) => {
      const m = e.detail
      if (m.peerId === victim && m.state === 'suspect' && !suspectAt.has(i)) suspectAt.set(i, now())
      else if (m.peerId !== victim && (m.state === 'suspect' || m.state === 'dead')) falseSuspicions++
    }
    const onFail = (e) => {
      if (e.detail.peerId === victim) deadAt.set(i, deadAt.get(i) ?? now())
      else falseSuspicions++
    }
    const onLeave = (e) => {
      if (e.detail.peerId === leaver) leftAt.set(i, leftAt.get(i) ?? now())
    }
    peer.addEventListener('member:update', onUpdate)
    peer.addEventListener('member:fail', onFail)
    peer.addEventListener('member:leave', onLeave)
    offs.push(() => {
      peer.removeEventListener('member:update', onUpdate)
      peer.removeEventListener('member:fail', onFail)
      peer.removeEventListener('member:leave', onLeave)
    })
  }
  const targets = watchers.map((i) => cluster.peers[i])

  // Crash.
  const tKill = now()
  await cluster.kill(victimIndex)
  const killMs = now() - tKill
  let deadOk = true
  await waitFor(() => deadAt.size === watchers.length, {
    targets, events: ['member:fail'], interval: 20, timeout: args.timeout,
    describe: () => `only ${deadAt.size}/${watchers.length} peers have peer ${victimIndex} dead`
  }).catch((err) => { deadOk = false; log(err.message) })
  const relative = (map, from) => [...map.values()].map((v) => v - from)

  // Graceful stop, watched by the peers still running.
  const stayers = watchers.filter((i) => i !== leaverIndex)
  const tStop = now()
  const stopping = cluster.peers[leaverIndex].stop()
  let leftOk = true
  await waitFor(() => stayers.every((i) => leftAt.has(i)), {
    targets: stayers.map((i) => cluster.peers[i]), events: ['member:leave'], interval: 20, timeout: args.timeout,
    describe: () => `only ${stayers.filter((i) => leftAt.has(i)).length}/${stayers.length} peers have peer ${leaverIndex} left`
  }).catch((err) => { leftOk = false; log(err.message) })
  const leftAllMs = Math.max(...stayers.map((i) => leftAt.get(i) ?? Number.NaN)) - tStop
  await stopping
  const stopMs = now() - tStop
  for (const off of offs) off()
  const loop = lag.stop()
  await cluster.stop()

  const suspects = relative(suspectAt, tKill)
  const deaths = relative(deadAt, tKill)
  return {
    killed: victimIndex,
    watchers: watchers.length,
    kill_call_ms: ms(killMs),
    suspect_first_ms: suspects.length === 0 ? null : ms(Math.min(...suspects)),
    // A peer that hears `dead` by gossip before its own suspicion timer fires never shows `suspect`.
    suspect_seen_by: suspects.length,
    dead_first_ms: deaths.length === 0 ? null : ms(Math.min(...deaths)),
    dead_all_ms: deadOk ? ms(Math.max(...deaths)) : null,
    left: leaverIndex,
    left_all_ms: leftOk ? ms(leftAllMs) : null,
    graceful_stop_call_ms: ms(stopMs),
    false_suspicions: falseSuspicions,
    event_loop_delay: loop
  }
}
