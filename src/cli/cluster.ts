import { createCluster, type Cluster } from '../harness/index.js'
import { startApi, createToken } from '../api/index.js'
import { table } from './table.js'
import type { Output } from './output.js'

export interface ClusterFlags {
  peers: number
  json?: boolean
  /** Refresh interval of the live view (ms). */
  refresh?: number
}

/**
 * `hearsay cluster --peers N`: N local peers in this process, each with its own API, and a
 * live status view until Ctrl-C; then every peer stops gracefully.
 */
export async function clusterCommand (flags: ClusterFlags, output: Output): Promise<void> {
  output.err(`starting ${flags.peers} peers on 127.0.0.1 ...`)
  const cluster: Cluster = await createCluster({ size: flags.peers, network: `cluster-${process.pid}` })
  const token = createToken()
  const apis = await Promise.all(cluster.peers.map(async (peer, i) => {
    const api = await startApi(peer, { host: '127.0.0.1', port: 0, token, logger: false })
    output.err(`  peer ${i} up: ${peer.peerId}  api ${api.url}  dashboard ${api.url}/`)
    return api
  }))
  if (flags.json === true) {
    output.out(JSON.stringify({ event: 'started', token, peers: cluster.peers.map((p, i) => ({ index: i, peerId: p.peerId, api: apis[i]?.url, dashboard: `${apis[i]?.url ?? ''}/`, addresses: p.addresses() })) }))
  } else {
    output.out(`${flags.peers} peers running; every API takes the token ${token}`)
    // The token rides in the fragment: the browser never sends it, the page keeps it for the tab.
    output.out('dashboards (open in a browser):')
    apis.forEach((api, i) => { output.out(`  peer ${i}: ${api.url}/#token=${token}`) })
    output.out(`try: HEARSAY_API=${apis[0]?.url ?? ''} HEARSAY_TOKEN=${token} npx hearsay put greeting hello`)
  }
  const stop = new Promise<void>((resolve) => {
    // Kept installed while the cluster stops: a second Ctrl-C must not skip the goodbyes.
    process.on('SIGINT', () => { resolve() })
    process.on('SIGTERM', () => { resolve() })
  })
  const render = (): void => {
    const rows = cluster.peers.map((peer, i) => {
      const leader = peer.leader()
      const alive = peer.members().filter((m) => m.state === 'alive').length
      const leaderIndex = leader === undefined ? -1 : cluster.peers.findIndex((p) => p.peerId === leader.peerId)
      return [String(i), peer.peerId.slice(-10), peer.isRunning() ? 'up' : 'down', `${alive}/${peer.members().length}`,
        leader === undefined ? '-' : `peer ${leaderIndex} (term ${leader.term})`, String(peer.kv.size()), peer.kv.digest().slice(0, 10), apis[i]?.url ?? '']
    })
    const converged = cluster.divergence() === undefined
    if (flags.json === true) {
      output.out(JSON.stringify({ event: 'status', converged, peers: rows.map((r) => ({ index: Number(r[0]), peerId: r[1], state: r[2], alive: r[3], leader: r[4], keys: Number(r[5]), digest: r[6], api: r[7] })) }))
      return
    }
    const view = table(['#', 'PEER', 'STATE', 'ALIVE', 'LEADER', 'KEYS', 'DIGEST', 'API'], rows)
    const clear = process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''
    output.out(`${clear}${view}\n${converged ? 'converged' : `converging: ${cluster.divergence() ?? ''}`}  (Ctrl-C to stop)`)
  }
  const timer = setInterval(render, flags.refresh ?? 1_000)
  render()
  await stop
  clearInterval(timer)
  output.err('stopping the cluster ...')
  await Promise.all(apis.map(async (a) => a.close()))
  await cluster.stop()
}
