// Floor: what this machine allows, measured in the same run as the other benchmarks, so each
// of their figures can be read as a ratio to its floor.
//   - round trip of a raw libp2p stream on loopback (TCP + Noise + yamux, two nodes in this
//     process): one message and its echo on a stream kept open, and a fresh stream per
//     message (what a stream-per-message protocol pays);
//   - Ed25519 sign and verify of one write's signing bytes (what every write costs its
//     author once and every other peer once);
//   - fsync latency of the data dir: a 200-byte append and fdatasync, as the log does it;
//   - one gossipsub message (StrictSign, 500 bytes: about one write's record) from one of N bare
//     libp2p nodes in this process to the N-1 others, nothing of hearsay on top: its latency and
//     the CPU it costs the process — what replication of one write pays before any of our code.
//
//   node bench/floor.js [--rounds 300] [--dir DIR] [--gossip-peers 5]
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNetNode } from '../dist/src/net/index.js'
import { runBenchmark, parseArgs, summary, now, uniqueNetwork } from './lib.js'

const args = parseArgs({ rounds: 300, dir: '', 'gossip-peers': 5 })
const toMicros = (value) => value * 1000

await runBenchmark('floor', async ({ log, defer }) => {
  const network = uniqueNetwork('bench-floor')
  const a = await createNetNode({}, { network, profile: 'local' })
  const b = await createNetNode({}, { network, profile: 'local' })
  await a.start()
  await b.start()
  defer(async () => { await a.stop(); await b.stop() })
  const protocol = a.protocol('echo')
  await b.handle(protocol, async (stream) => {
    while (true) {
      const message = await stream.next({ timeout: 30_000 }).catch(() => undefined)
      if (message === undefined) break
      stream.send(message)
    }
    await stream.close().catch(() => {})
  })
  const payload = new Uint8Array(100).fill(7)

  log(`stream round trips: ${args.rounds} on one open stream`)
  const open1 = await a.openStream(b.peerId, protocol, { addresses: b.addresses() })
  for (let i = 0; i < 20; i++) { open1.send(payload); await open1.next({ timeout: 10_000 }) }
  const kept = []
  for (let i = 0; i < args.rounds; i++) {
    const t0 = now()
    open1.send(payload)
    await open1.next({ timeout: 10_000 })
    kept.push(now() - t0)
  }
  await open1.close().catch(() => {})

  log(`stream round trips: ${args.rounds} on a new stream each`)
  const fresh = []
  for (let i = 0; i < args.rounds; i++) {
    const t0 = now()
    const stream = await a.openStream(b.peerId, protocol, { addresses: b.addresses() })
    stream.send(payload)
    await stream.next({ timeout: 10_000 })
    fresh.push(now() - t0)
    void stream.close().catch(() => { stream.abort() })
  }

  log(`Ed25519: ${args.rounds * 10} signs and verifies of 160 bytes`)
  const bytes = new Uint8Array(160).fill(3)
  const signs = []
  const verifies = []
  let signature = a.sign(bytes)
  for (let i = 0; i < 100; i++) b.verify(a.peerId, bytes, signature)
  for (let i = 0; i < args.rounds * 10; i++) {
    bytes[i % bytes.length] = i & 0xff
    let t0 = now()
    signature = a.sign(bytes)
    signs.push(now() - t0)
    t0 = now()
    if (!b.verify(a.peerId, bytes, signature)) throw new Error('a fresh signature did not verify')
    verifies.push(now() - t0)
  }

  const dir = args.dir === '' ? await mkdtemp(join(tmpdir(), 'hearsay-floor-')) : await mkdtemp(join(args.dir, 'hearsay-floor-'))
  defer(async () => rm(dir, { recursive: true, force: true }))
  log(`fsync: ${args.rounds} appends of 200 bytes + fdatasync in ${dir}`)
  const handle = await open(join(dir, 'probe.log'), 'a')
  const record = new Uint8Array(200).fill(1)
  const syncs = []
  const appends = []
  for (let i = 0; i < args.rounds; i++) {
    const t0 = now()
    await handle.write(record)
    const t1 = now()
    await handle.datasync()
    syncs.push(now() - t1)
    appends.push(now() - t0)
  }
  await handle.close()

  const gossip = await gossipFloor(args['gossip-peers'], args.rounds, log)

  return {
    rounds: args.rounds,
    stream_round_trip_ms: summary(kept),
    new_stream_round_trip_ms: summary(fresh),
    // Microseconds: these are well under the 0.1 ms the other figures are rounded to.
    ed25519_sign_us: summary(signs.map(toMicros)),
    ed25519_verify_us: summary(verifies.map(toMicros)),
    fdatasync_us: summary(syncs.map(toMicros)),
    append_and_fdatasync_us: summary(appends.map(toMicros)),
    gossip_peers: args['gossip-peers'],
    gossip_to_all_ms: gossip.latency,
    gossip_cpu_ms_per_message: gossip.cpuPerMessage,
    dir
  }
})

async function gossipFloor (count, rounds, log) {
  const network = uniqueNetwork('bench-floor-gossip')
  const nodes = []
  try {
    for (let i = 0; i < count; i++) {
      const node = await createNetNode({}, { network, profile: 'local' })
      await node.start()
      nodes.push(node)
    }
    const topic = nodes[0].protocol('floor')
    let waiting = new Map()
    nodes.forEach((node, i) => {
      node.subscribe(topic, (message) => { waiting.get(i)?.(message) })
    })
    for (const a of nodes) for (const b of nodes) if (a !== b) await a.connect(b.peerId, b.addresses())
    log(`gossip: ${count} bare nodes, waiting for the mesh`)
    const deadline = now() + 30_000
    while (nodes.some((node) => node.topicPeers(topic).length < count - 1)) {
      if (now() > deadline) throw new Error('the gossip mesh did not form within 30 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    // Two gossipsub heartbeats, so the mesh (not just subscriptions) is in place.
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    log(`gossip: ${rounds} messages from one node to the ${count - 1} others`)
    const payload = new Uint8Array(500).fill(5)
    const once = async (i) => {
      payload[0] = i & 0xff
      payload[1] = (i >> 8) & 0xff
      const arrived = nodes.slice(1).map((_, k) => new Promise((resolve) => { waiting.set(k + 1, resolve) }))
      const t0 = now()
      await nodes[0].publish(topic, payload)
      await Promise.all(arrived)
      return now() - t0
    }
    for (let i = 0; i < 20; i++) await once(i)
    const latencies = []
    const cpu0 = process.cpuUsage()
    for (let i = 0; i < rounds; i++) latencies.push(await once(20 + i))
    const cpu = process.cpuUsage(cpu0)
    waiting = new Map()
    return { latency: summary(latencies), cpuPerMessage: Math.round((cpu.user + cpu.system) / 1000 / rounds * 100) / 100 }
  } finally {
    await Promise.all(nodes.map(async (node) => node.stop()))
  }
}
