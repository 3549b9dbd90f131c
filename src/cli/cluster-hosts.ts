import { checkHostsSupport, createHostCluster, type HostCluster } from '../harness/hosts/index.js'
import { table } from './table.js'
import type { Output } from './output.js'

export interface HostsClusterFlags {
  peers: number
  json?: boolean
  /** Refresh interval of the live view (ms). */
  refresh?: number
}

interface Status {
  leader: { peerId: string, term: number } | null
  members: Record<string, number>
  keys: number
  digest: string
}

/**
 * `hearsay cluster --hosts --peers N`: N peer processes, each on its own host (a network
 * namespace with its own address on a private /24), and a live status view read from their
 * APIs until Ctrl-C; then every peer stops gracefully and the namespaces and bridge go.
 */
export async function hostsClusterCommand (flags: HostsClusterFlags, output: Output): Promise<void> {
  // Before saying anything: without root or ip, the one line is the error.
  await checkHostsSupport()
  output.err(`starting ${flags.peers} peers, each on its own host (network namespace) ...`)
  const stop = new Promise<void>((resolve) => {
    // Kept installed while the cluster stops: a second Ctrl-C must not skip the clean-up.
    process.on('SIGINT', () => { resolve() })
    process.on('SIGTERM', () => { resolve() })
  })
  const cluster: HostCluster = await createHostCluster({ size: flags.peers, network: `cluster-${process.pid}` })
  const peers = cluster.peers.map((p, i) => ({ index: i, peerId: p.peerId, host: cluster.hosts[i], namespace: cluster.namespaces[i], api: p.apiUrl, token: p.token, addresses: p.addresses }))
  if (flags.json === true) {
    output.out(JSON.stringify({ event: 'started', subnet: cluster.subnet, peers }))
  } else {
    output.out(`${flags.peers} peers running on ${cluster.subnet}; this machine is ${cluster.subnet.replace(/0\/24$/, '1')} on their bridge`)
    for (const p of peers) output.out(`  peer ${p.index}: ${p.addresses[0] ?? ''}  api ${p.api}  (namespace ${p.namespace})`)
    output.out(`try: HEARSAY_API=${peers[0]?.api ?? ''} HEARSAY_TOKEN=${peers[0]?.token ?? ''} npx hearsay put greeting hello`)
    output.out(`     ip netns exec ${peers[0]?.namespace ?? ''} ip addr   # a shell's view from inside host 0`)
  }
  let rendering = false
  const render = async (): Promise<void> => {
    if (rendering) return
    rendering = true
    try {
      const statuses = await Promise.all(cluster.peers.map(async (_p, i) => cluster.api<Status>(i, 'GET', '/v1/status', undefined, { timeout: 1_000 }).catch(() => undefined)))
      const converged = (await cluster.divergence()) === undefined
      const rows = statuses.map((s, i) => {
        const leader = s?.leader == null ? -1 : cluster.peers.findIndex((p) => p.peerId === s.leader?.peerId)
        return {
          index: i,
          peerId: cluster.peers[i]?.peerId ?? '',
          host: cluster.hosts[i] ?? '',
          state: s === undefined ? 'down' : 'up',
          alive: s === undefined ? '-' : `${s.members.alive ?? 0}/${Object.values(s.members).reduce((a, b) => a + b, 0)}`,
          leader: s?.leader == null ? '-' : `peer ${leader} (term ${s.leader.term})`,
          keys: s?.keys ?? 0,
          digest: s?.digest.slice(0, 10) ?? '-'
        }
      })
      if (flags.json === true) {
        output.out(JSON.stringify({ event: 'status', converged, peers: rows }))
        return
      }
      const view = table(['#', 'PEER', 'HOST', 'STATE', 'ALIVE', 'LEADER', 'KEYS', 'DIGEST'],
        rows.map((r) => [String(r.index), r.peerId.slice(-10), r.host, r.state, r.alive, r.leader, String(r.keys), r.digest]))
      const clear = process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''
      output.out(`${clear}${view}\n${converged ? 'converged' : 'converging'}  (Ctrl-C to stop)`)
    } finally {
      rendering = false
    }
  }
  const timer = setInterval(() => { void render() }, flags.refresh ?? 1_000)
  await render()
  await stop
  clearInterval(timer)
  output.err('stopping the cluster and removing its hosts ...')
  await cluster.stop()
}
