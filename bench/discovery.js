// Discovery from one bootstrap address: N peers on 127.0.0.1 with the local profile. Peer 0
// starts first; peers 1..N-1 get only peer 0's address and start together. Measures the time
// until every peer's members() shows every peer `alive` at the same moment, from the moment
// the last start() resolved and from peer 0's start() call. Then a newcomer that runs only the
// network layer (no membership protocol) measures the DHT alone: how long until its
// lookupMembers() has returned all N.
//
//   node bench/discovery.js [--peers 20] [--rounds 3] [--timeout 30000] [--lookup-timeout 5000] [--dht-deadline 15000]
//                           [--stack full|membership] [--dht false]
//                           [--membership '{"probeTimeout":1000}'] [--discovery '{...}']
//
// --processes: the peers are `hearsay start` processes (the harness, local profile), the way
// users run them: peer 0 starts first, then peers 1..N-1 start together, each given only
// peer 0's address. Measures the time from the last process's start (its `started` line)
// until every peer lists every other as alive, followed through the started/join/leave/fail
// lines the processes print from their first (no polling, which would load the peers), then
// confirmed once through each peer's API. The DHT newcomer is not run.
//   node bench/discovery.js --processes --peers 20 --rounds 1 [--profile local|lan]
// --profile: the processes' timer profile; lan is what `hearsay start` runs unless told
// otherwise, local (the default here) the harness's fast timers.
//
// --stack full (the default) runs complete peers (createPeer: membership, store, election,
// jobs); --stack membership runs only the network layer and the membership protocol, to see
// what discovery itself costs without the store's and the election's traffic.
// --membership / --discovery override the local profile's timers (JSON), to see what a
// different setting would give. A round that does not converge within --timeout is reported
// with `converged: false` and counts as infinitely slow in the median.
//
// Progress on stderr; the last stdout line is one JSON object.

import { createPeer } from '../dist/src/index.js'
import { createProcessCluster } from '../dist/src/harness/index.js'
import { createNetNode } from '../dist/src/net/index.js'
import { createMembership } from '../dist/src/membership/index.js'
import os from 'node:os'
import {
  loopDelay, median, ms, now, parseArgs, rssSampler, runBenchmark, sleep, summary, uniqueNetwork, waitFor
} from './lib.js'

const args = parseArgs({
  peers: 20, rounds: 3, timeout: 30_000, stack: 'full', lookupTimeout: 5_000, dhtDeadline: 15_000, dht: true, hold: 2_000, membership: '', discovery: '',
  processes: false, startTimeout: 300_000, profile: 'local'
})
if (args.profile !== 'local' && args.profile !== 'lan') throw new Error('--profile must be local or lan')
if (args.profile !== 'local' && !args.processes) throw new Error('--profile lan is for --processes (`hearsay start` runs lan unless told otherwise)')
if (args.processes && (args.membership !== '' || args.discovery !== '' || args.stack !== 'full')) {
  throw new Error('--processes runs `hearsay start` as users do: --membership, --discovery and --stack do not apply')
}
if (args.peers < 2) throw new Error('--peers must be at least 2')
if (args.stack !== 'full' && args.stack !== 'membership') throw new Error('--stack must be full or membership')
const overrides = {
  ...(args.membership === '' ? {} : { membership: JSON.parse(args.membership) }),
  ...(args.discovery === '' ? {} : { discovery: JSON.parse(args.discovery) })
}

const MEMBER_EVENTS = ['member:join', 'member:update', 'member:fail', 'member:leave', 'member:reap']

await runBenchmark('discovery', async ({ log, defer, partial }) => {
  const rss = rssSampler()
  const rounds = []
  Object.assign(partial, { peers: args.peers, rounds })
  for (let r = 0; r < args.rounds; r++) {
    log(`round ${r + 1}/${args.rounds}: ${args.peers} peers${args.processes ? ' (processes)' : ''}`)
    const round = args.processes ? await processRound(log, defer, r) : await discoveryRound(log, defer, r)
    rounds.push(round)
    log(`round ${r + 1}: ${round.converged
      ? `all know all ${round.from_last_start_ms} ms after the last start() resolved (${round.from_first_start_ms} ms after peer 0's start())`
      : `NOT converged within ${args.timeout} ms: ${round.divergence}`}` +
      (round.dht === undefined ? '' : `; DHT newcomer found ${round.dht.found}/${args.peers} in ${round.dht.all_found_ms ?? '-'} ms`))
  }
  // A round that never converged is slower than any that did.
  const slowness = (value) => value ?? Number.POSITIVE_INFINITY
  const finite = (value) => Number.isFinite(value) ? ms(value) : null
  const dhtRounds = rounds.map((r) => r.dht).filter((d) => d !== undefined)
  return {
    peers: args.peers,
    profile: args.profile,
    stack: args.processes ? 'processes' : args.stack,
    ...(Object.keys(overrides).length === 0 ? {} : { overrides }),
    rounds,
    converged_rounds: rounds.filter((r) => r.converged).length,
    median_ms: finite(median(rounds.map((r) => slowness(r.from_last_start_ms)))),
    median_from_first_start_ms: finite(median(rounds.map((r) => slowness(r.from_first_start_ms)))),
    max_ms: finite(Math.max(...rounds.map((r) => slowness(r.from_last_start_ms)))),
    ...(args.dht && !args.processes
      ? {
          dht_median_ms: finite(median(dhtRounds.map((d) => slowness(d.all_found_ms)))),
          dht_all_found_rounds: dhtRounds.filter((d) => d.found === args.peers).length
        }
      : {}),
    peak_rss_mb: rss.stop()
  }
})

async function discoveryRound (log, defer, r) {
  const network = uniqueNetwork(`bench-disc${r}`)
  const peers = []
  const stopAll = async () => {
    await Promise.all(peers.map(async (p) => p.stop({ graceful: false }).catch(() => {})))
  }
  defer(stopAll)
  const lag = loopDelay()
  const options = { network, profile: 'local', ...overrides }

  const make = args.stack === 'full' ? createPeer : createMembershipPeer
  const boot = await make(options)
  peers.push(boot)
  const tFirst = now()
  await boot.start()
  const bootStartMs = now() - tFirst
  const bootstrap = boot.addresses()
  for (let i = 1; i < args.peers; i++) peers.push(await make({ ...options, bootstrap }))
  const ids = peers.map((p) => p.peerId)
  const ours = new Set(ids)
  const index = new Map(ids.map((id, i) => [id, i]))

  // Each peer's alive set, kept from its events (every state change emits one, and the
  // listeners are in place before start), so checking "all know all" costs nothing per event.
  const alive = peers.map((p) => new Set([p.peerId]))
  const joinedAt = peers.map(() => new Map())
  const dhtFoundAt = peers.map(() => new Map())
  const knowAllAt = new Array(peers.length).fill(undefined)
  let complete = 0
  let flaps = 0
  peers.forEach((peer, i) => {
    const onChange = (e) => {
      const m = e.detail
      if (!ours.has(m.peerId) || m.self) return
      const had = alive[i].has(m.peerId)
      if (m.state === 'alive' && e.type !== 'member:reap') alive[i].add(m.peerId)
      else alive[i].delete(m.peerId)
      const has = alive[i].has(m.peerId)
      if (had && !has) {
        flaps++
        if (alive[i].size === ids.length - 1) complete--
      }
      if (!had && has && alive[i].size === ids.length) {
        complete++
        knowAllAt[i] ??= now()
      }
      if (!had && has && !joinedAt[i].has(m.peerId)) joinedAt[i].set(m.peerId, now())
    }
    for (const type of MEMBER_EVENTS) peer.addEventListener(type, onChange)
    peer.net.addEventListener('peer:discovered', (e) => {
      if (!dhtFoundAt[i].has(e.detail.peerId)) dhtFoundAt[i].set(e.detail.peerId, now())
    })
  })
  const allKnowAll = () => complete === peers.length
  // Cross-check with the peers' own views (the event bookkeeping must agree with members()).
  const viewsAgree = () => peers.every((p) => {
    const view = new Set(p.members().filter((m) => m.state === 'alive').map((m) => m.peerId))
    return ids.every((id) => view.has(id))
  })
  const divergence = () => {
    const behind = peers.map((p, i) => {
      const view = new Map(p.members().map((m) => [m.peerId, m.state]))
      const missing = ids.filter((id) => view.get(id) !== 'alive').map((id) => `${index.get(id)}:${view.get(id) ?? 'unknown'}`)
      return missing.length === 0 ? '' : `peer ${i} lacks [${missing.join(' ')}]`
    }).filter(Boolean)
    return `${behind.length} of ${peers.length} peers lack members: ${behind.slice(0, 4).join('; ')}${behind.length > 4 ? '; …' : ''}`
  }

  const waiting = waitFor(allKnowAll, { targets: peers, events: MEMBER_EVENTS, interval: 200, timeout: args.timeout, describe: divergence })
  waiting.catch(() => {})
  const t0 = now()
  await Promise.all(peers.slice(1).map(async (p) => { await p.start() }))
  const tLast = now()
  log(`round ${r + 1}: peer 0 started in ${ms(bootStartMs)} ms; ${peers.length - 1} joiners' start() took ${ms(tLast - t0)} ms`)
  let converged = true
  let why
  try {
    await waiting
  } catch (err) {
    converged = false
    why = err.message
  }
  const tDone = now()
  if (converged && !viewsAgree()) throw new Error('event bookkeeping disagrees with members(): ' + divergence())
  // Does the agreement last, or do false suspicions break it right away?
  const flapsBefore = flaps
  if (converged && args.hold > 0) await sleep(args.hold)
  const loop = lag.stop()

  // Where the time went: when each peer first had a complete view, how it learned members
  // (a join before the DHT had returned that member = learned through membership gossip).
  let viaDhtFirst = 0
  let pairs = 0
  for (let i = 0; i < peers.length; i++) {
    for (const [id, at] of joinedAt[i]) {
      pairs++
      const found = dhtFoundAt[i].get(id)
      if (found !== undefined && found <= at) viaDhtFirst++
    }
  }
  const stats = peers.map((p) => p.diagnostics.stats().membership)
  const incarnations = peers.map((p) => p.membership.self()?.incarnation ?? 0)
  const round = {
    converged,
    from_last_start_ms: converged ? ms(tDone - tLast) : null,
    from_first_start_ms: converged ? ms(tDone - tFirst) : null,
    ...(converged ? {} : { divergence: why }),
    joiners_start_ms: ms(tLast - t0),
    boot_start_ms: ms(bootStartMs),
    per_peer_complete_view_ms: summary(knowAllAt.filter((t) => t !== undefined).map((t) => t - tLast)),
    // Per member: how long after its started line the last peer to list it did so.
    member_known_by_all_ms: summary(ids.map((id, j) => Math.max(...ids.map((_x, i) => i === j ? 0 : (learnedAt[i].get(id) ?? Infinity))) - (startedAt[j] ?? tLast)).filter(Number.isFinite)),
    ...(lateJoin === undefined
      ? {}
      : { slowest_peer: { index: slowest, started_ms: ms(startedAt[slowest] - tLast), last_learned: { index: lateJoin, started_ms: ms(startedAt[lateJoin] - tLast), learned_ms: ms(lastLearned[1] - tLast) } } }),
    flaps_before: flapsBefore,
    ...(converged && args.hold > 0 ? { flaps_in_hold: flaps - flapsBefore, hold_ms: args.hold } : {}),
    max_incarnation: Math.max(...incarnations),
    joins_seen_via_dht_first: `${viaDhtFirst}/${pairs}`,
    syncs: stats.reduce((a, s) => a + s.syncs, 0),
    probes: stats.reduce((a, s) => a + s.probes, 0),
    probe_failures: stats.reduce((a, s) => a + s.probeFailures, 0),
    event_loop_delay: loop
  }
  if (args.dht) round.dht = await dhtNewcomer(log, defer, network, bootstrap, ids)
  await stopAll()
  return round
}

/**
 * A peer of only the network layer and the membership protocol (what `createPeer` was before
 * the store and the election joined it), with the few members of Peer this benchmark uses.
 */
async function createMembershipPeer (options) {
  const net = await createNetNode({}, {
    network: options.network, profile: options.profile, bootstrap: options.bootstrap, discovery: options.discovery
  })
  const membership = createMembership({ net }, { ...options.membership, profile: options.profile })
  let running = false
  return {
    net,
    membership,
    get peerId () { return net.peerId },
    addresses: () => net.addresses(),
    members: () => membership.members(),
    diagnostics: { stats: () => ({ membership: membership.stats() }) },
    isRunning: () => running,
    addEventListener: (type, listener) => { membership.addEventListener(type, listener) },
    removeEventListener: (type, listener) => { membership.removeEventListener(type, listener) },
    async start () {
      if (running) return
      await net.start()
      await membership.start()
      running = true
    },
    async stop ({ graceful = true } = {}) {
      if (!running) return
      running = false
      await membership.stop({ announce: graceful })
      await net.stop()
    }
  }
}

/**
 * A node with only the network layer (libp2p and DHT discovery, no membership), given peer
 * 0's address: time from its start() until its lookups have returned every member, with each
 * explicit lookupMembers() call's duration and result.
 */
async function dhtNewcomer (log, defer, network, bootstrap, ids) {
  const node = await createNetNode({}, { network, profile: 'local', bootstrap, ...(overrides.discovery === undefined ? {} : { discovery: overrides.discovery }) })
  defer(async () => { await node.stop().catch(() => {}) })
  const want = new Set(ids)
  const foundAt = new Map()
  node.addEventListener('peer:discovered', (e) => {
    if (want.has(e.detail.peerId) && !foundAt.has(e.detail.peerId)) foundAt.set(e.detail.peerId, now())
  })
  const t0 = now()
  await node.start()
  const tStarted = now()
  const lookups = []
  const deadline = tStarted + args.dhtDeadline
  while (foundAt.size < want.size && now() < deadline) {
    const t = now()
    let found = 0
    let error
    try {
      found = (await node.lookupMembers(Math.round(Math.min(args.lookupTimeout, Math.max(100, deadline - t)))))
        .filter((p) => want.has(p.peerId)).length
    } catch (err) {
      error = err?.code ?? err?.name ?? String(err)
    }
    lookups.push({ ms: ms(now() - t), found, ...(error === undefined ? {} : { error }) })
    if (now() - t < 50) await sleep(50)
  }
  const allFound = foundAt.size === want.size ? Math.max(...foundAt.values()) - tStarted : null
  // Once the routing table is warm, how long does one lookup take?
  let warm
  if (allFound !== null) {
    const t = now()
    const found = (await node.lookupMembers(args.lookupTimeout).catch(() => [])).filter((p) => want.has(p.peerId)).length
    warm = { ms: ms(now() - t), found }
  }
  await node.stop()
  const result = {
    found: foundAt.size,
    all_found_ms: ms(allFound),
    start_ms: ms(tStarted - t0),
    first_found_ms: foundAt.size === 0 ? null : ms(Math.min(...foundAt.values()) - tStarted),
    lookup_calls: lookups.length,
    lookups: lookups.slice(0, 6),
    ...(warm === undefined ? {} : { warm_lookup: warm })
  }
  log(`  DHT newcomer: ${result.found}/${want.size} after ${result.all_found_ms ?? '-'} ms, ${lookups.length} lookupMembers() calls` +
    (warm === undefined ? '' : `; a warm lookup took ${warm.ms} ms and found ${warm.found}`))
  return result
}

/**
 * One round with `hearsay start` processes. Each peer's alive set is kept from the JSON lines
 * it prints (started / join / leave / fail) from its very first line, so nothing is asked of
 * the peers' APIs while they form the network: on a saturated machine those answers took
 * longer than the network took to form, and the time measured was theirs.
 */
async function processRound (log, defer, r) {
  const t0 = now()
  const ids = new Array(args.peers).fill(undefined)
  const alive = ids.map(() => new Set())
  const knowAllAt = new Array(args.peers).fill(undefined)
  // When each process printed its started line, and when peer i first listed peer j.
  const startedAt = new Array(args.peers).fill(undefined)
  const learnedAt = ids.map(() => new Map())
  let doneAt
  let flaps = 0
  let resolveDone
  const done = new Promise((resolve) => { resolveDone = resolve })
  const complete = (i) => ids.every((id, j) => j === i || (id !== undefined && alive[i].has(id)))
  const check = () => {
    if (ids.some((id) => id === undefined)) return
    const at = now()
    for (let i = 0; i < ids.length; i++) if (knowAllAt[i] === undefined && complete(i)) knowAllAt[i] = at
    if (doneAt === undefined && ids.every((_id, i) => complete(i))) {
      doneAt = at
      resolveDone()
    }
  }
  const onLine = (i, line) => {
    if (line.event === 'started') {
      ids[i] = String(line.peerId)
      startedAt[i] = now()
    } else if (line.event === 'join') {
      alive[i].add(String(line.peerId))
      if (!learnedAt[i].has(String(line.peerId))) learnedAt[i].set(String(line.peerId), now())
    }
    else if (line.event === 'leave' || line.event === 'fail') {
      if (alive[i].delete(String(line.peerId))) flaps++
      knowAllAt[i] = undefined
      doneAt = undefined
      return
    } else return
    check()
  }
  const cluster = await createProcessCluster({
    size: args.peers, network: uniqueNetwork(`bench-disc-proc${r}`), peer: { profile: args.profile }, startTimeout: args.startTimeout, onLine
  })
  const tLast = now()
  defer(async () => { await cluster.stop() })
  let timer
  const timedOut = new Promise((resolve) => { timer = setTimeout(() => { resolve('timeout') }, args.timeout) })
  let outcome = await Promise.race([done.then(() => 'done'), timedOut])
  // When the lines last said every peer knows every other (a flap since then undoes it).
  let tDone = doneAt
  // The lines do not show suspect ↔ alive (printed at debug level only): confirm with the
  // peers' own views, and keep asking until they agree; then the time is that of the check.
  let confirmations = 0
  while (outcome === 'done') {
    confirmations++
    const views = await Promise.all(cluster.peers.map(async (_p, i) => cluster.api(i, 'GET', '/v1/members', undefined, { timeout: 30_000 }).catch(() => [])))
    const allAlive = views.every((members) => ids.every((id) => members.some((m) => m.peerId === id && m.state === 'alive')))
    if (allAlive) break
    tDone = undefined
    const more = await Promise.race([sleep(500).then(() => 'again'), timedOut])
    if (more === 'timeout') outcome = 'timeout'
    else tDone = now()
  }
  clearTimeout(timer)
  const converged = outcome === 'done'
  tDone ??= now()
  const flapsBefore = flaps
  if (converged && args.hold > 0) await sleep(args.hold)
  const behind = alive.map((set, i) => {
    const missing = ids.map((_id, j) => j).filter((j) => j !== i && !set.has(ids[j]))
    return missing.length === 0 ? '' : `peer ${i} lacks [${missing.slice(0, 8).join(' ')}${missing.length > 8 ? ' …' : ''}]`
  }).filter(Boolean)
  // Who was learnt last, and how long after it started: a slow join (one member everyone
  // learns late) looks different from a slow peer (one that learns everyone late).
  const index = new Map(ids.map((id, j) => [id, j]))
  const slowest = knowAllAt.reduce((worst, t, i) => (t ?? Infinity) > (knowAllAt[worst] ?? Infinity) ? i : worst, 0)
  const lastLearned = [...learnedAt[slowest]].sort((a, b) => b[1] - a[1])[0]
  const lateJoin = lastLearned === undefined ? undefined : index.get(lastLearned[0])
  const round = {
    converged,
    from_last_start_ms: converged ? ms(Math.max(0, tDone - tLast)) : null,
    from_first_start_ms: converged ? ms(tDone - t0) : null,
    ...(converged ? {} : { divergence: `${behind.length} of ${ids.length} peers lack members: ${behind.slice(0, 6).join('; ')}` }),
    starts_ms: ms(tLast - t0),
    view_checks: confirmations,
    per_peer_complete_view_ms: summary(knowAllAt.filter((t) => t !== undefined).map((t) => t - tLast)),
    // Per member: how long after its started line the last peer to list it did so.
    member_known_by_all_ms: summary(ids.map((id, j) => Math.max(...ids.map((_x, i) => i === j ? 0 : (learnedAt[i].get(id) ?? Infinity))) - (startedAt[j] ?? tLast)).filter(Number.isFinite)),
    ...(lateJoin === undefined
      ? {}
      : { slowest_peer: { index: slowest, started_ms: ms(startedAt[slowest] - tLast), last_learned: { index: lateJoin, started_ms: ms(startedAt[lateJoin] - tLast), learned_ms: ms(lastLearned[1] - tLast) } } }),
    flaps_before: flapsBefore,
    ...(converged && args.hold > 0 ? { flaps_in_hold: flaps - flapsBefore, hold_ms: args.hold } : {}),
    loadavg_1m_at_end: Math.round(os.loadavg()[0] * 100) / 100
  }
  await cluster.stop()
  return round
}
