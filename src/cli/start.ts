import { createPeer, type Peer } from '../peer.js'
import type { Member } from '../membership/index.js'
import { levelEnabled, type LogLevel, type Output } from './output.js'

export interface StartOptions {
  data: string
  memory?: boolean
  network: string
  listen?: string[]
  bootstrap?: string[]
  priority: number
  profile: 'local' | 'lan'
  logLevel: LogLevel
  json?: boolean
}

/** `hearsay start`: run one peer until SIGINT/SIGTERM, then leave gracefully. */
export async function startCommand (options: StartOptions, output: Output): Promise<void> {
  const peer = await createPeer({
    network: options.network,
    ...(options.memory === true ? {} : { dataDir: options.data }),
    ...(options.listen === undefined ? {} : { listen: options.listen }),
    bootstrap: options.bootstrap ?? [],
    priority: options.priority,
    profile: options.profile
  })
  await peer.start()
  printBanner(peer, options, output)
  reportMembership(peer, options, output)
  await waitForSignal()
  if (levelEnabled(options.logLevel, 'info')) output.err('stopping: telling the other members this peer leaves')
  await peer.stop()
}

function printBanner (peer: Peer, options: StartOptions, output: Output): void {
  const addresses = peer.addresses()
  if (options.json === true) {
    output.out(JSON.stringify({ event: 'started', peerId: peer.peerId, network: peer.network, dataDir: peer.dataDir ?? null, addresses }))
    return
  }
  output.out(`hearsay peer ${peer.peerId}`)
  output.out(`network:   ${peer.network}`)
  output.out(`data dir:  ${peer.dataDir ?? '(in memory)'}`)
  output.out('listening on:')
  for (const a of addresses) output.out(`  ${a}`)
  const first = addresses[0]
  if (first !== undefined) {
    output.out('join a second peer to it with:')
    const net = peer.network === 'default' ? '' : ` --network ${peer.network}`
    const profile = options.profile === 'lan' ? '' : ` --profile ${options.profile}`
    output.out(`  npx hearsay start --data ./.hearsay-2${net}${profile} --bootstrap ${first}`)
  }
  output.out('press Ctrl-C to stop')
}

function reportMembership (peer: Peer, options: StartOptions, output: Output): void {
  if (!levelEnabled(options.logLevel, 'info')) return
  let joined = false
  const alive = (): number => peer.members().filter((m) => m.state === 'alive').length
  const report = (what: string, m: Member): void => {
    if (options.json === true) {
      output.out(JSON.stringify({ event: what, peerId: m.peerId, state: m.state, members: alive() }))
      return
    }
    if (!joined && what === 'join') {
      joined = true
      output.out(`joined the network: ${alive()} members alive`)
      return
    }
    output.out(`${what}: ${m.peerId} is ${m.state} (${alive()} members alive)`)
  }
  peer.addEventListener('member:join', (e) => { report('join', e.detail) })
  peer.addEventListener('member:leave', (e) => { report('leave', e.detail) })
  peer.addEventListener('member:fail', (e) => { report('fail', e.detail) })
  if (levelEnabled(options.logLevel, 'debug')) {
    peer.addEventListener('member:update', (e) => { report('update', e.detail) })
  }
}

async function waitForSignal (): Promise<void> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => { resolve() })
    process.once('SIGTERM', () => { resolve() })
  })
}
