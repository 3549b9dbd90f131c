import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer, type Peer } from '../peer.js'
import type { PeerOptions } from '../options.js'
import { ConvergenceTimeoutError, NoSuchPeerError, UnsupportedOptionError } from './errors.js'
import { createProcessCluster, type ProcessCluster, type ProcessPeerOptions } from './processes.js'
import type { ClusterControl, ConvergedOptions } from './types.js'
import { createHostCluster, type HostCluster } from './hosts/index.js'

export interface ClusterOptions {
  /** How many peers to start. */
  size: number
  /** @default a fresh name per cluster, so clusters in one process never mix */
  network?: string
  /** Options every peer gets (profile defaults to `local`). */
  peer?: Omit<PeerOptions, 'network' | 'dataDir' | 'bootstrap'>
  /** Per-peer options by index, e.g. priorities. */
  peers?: Array<Omit<PeerOptions, 'network' | 'dataDir' | 'bootstrap'>>
  /** Parent directory for the peers' data dirs. @default a new temporary directory, removed by stop() */
  baseDir?: string
  /** `false` runs in-memory peers (a restart then gets a new identity). @default true */
  durable?: boolean
  /**
   * `true` runs each peer as its own `hearsay start` process, driven over its API (see
   * `ProcessCluster`): a kill is SIGKILL. Peer options are then limited to priority, profile
   * and sync. @default false
   */
  processes?: boolean
  /**
   * `true` runs each peer as its own `hearsay start` process on its own host: a Linux network
   * namespace with its own address, on a bridge (see `HostCluster`). Partitions and loss are
   * packet-filter rules in the kernel. Needs root, `ip netns` and python3. Peer options as for
   * `processes`; the profile defaults to `lan`. @default false
   */
  hosts?: boolean
}

/**
 * N peers in this process on loopback. Faults are injected the way a network would: a
 * partition is a connection-gater rule, a kill is an abrupt stop; healing only lifts the
 * rule, and the peers reconnect by themselves.
 */
export interface Cluster extends ClusterControl {
  /** Peer i, also while it is killed (the last instance). */
  readonly peers: Peer[]
  /** Stop peer i abruptly: no goodbye, its connections just drop. */
  kill (index: number): Promise<void>
  /** Start peer i again with the same identity and data dir. */
  restart (index: number): Promise<Peer>
  /** Start one more peer, joined through a live one. */
  add (options?: Omit<PeerOptions, 'network' | 'dataDir' | 'bootstrap'>): Promise<Peer>
  /** Why the cluster has not converged yet, or undefined if it has. */
  divergence (): string | undefined
}

let clusterCounter = 0

export async function createCluster (options: ClusterOptions & { hosts: true }): Promise<HostCluster>
export async function createCluster (options: ClusterOptions & { processes: true, hosts?: false }): Promise<ProcessCluster>
export async function createCluster (options: ClusterOptions & { processes?: false, hosts?: false }): Promise<Cluster>
export async function createCluster (options: ClusterOptions): Promise<Cluster | ProcessCluster | HostCluster> {
  if (options.processes === true || options.hosts === true) {
    if (options.durable === false) throw new UnsupportedOptionError('durable: false')
    return (options.hosts === true ? createHostCluster : createProcessCluster)({
      size: options.size,
      ...(options.network === undefined ? {} : { network: options.network }),
      ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
      ...(options.peer === undefined ? {} : { peer: processOptions(options.peer) }),
      ...(options.peers === undefined ? {} : { peers: options.peers.map(processOptions) })
    })
  }
  const cluster = new LocalCluster(options)
  await cluster.init()
  return cluster
}

/** The peer options `hearsay start` has flags for; anything else is refused, not dropped. */
function processOptions (options: Omit<PeerOptions, 'network' | 'dataDir' | 'bootstrap'>): ProcessPeerOptions {
  const { priority, profile, sync, ...rest } = options
  const other = Object.keys(rest)[0]
  if (other !== undefined) throw new UnsupportedOptionError(other)
  return {
    ...(priority === undefined ? {} : { priority }),
    ...(profile === undefined ? {} : { profile }),
    ...(sync === undefined ? {} : { sync })
  }
}

class LocalCluster implements Cluster {
  readonly peers: Peer[] = []
  readonly network: string
  private readonly options: ClusterOptions
  private readonly running = new Set<number>()
  private readonly peerOptions: Array<Omit<PeerOptions, 'network' | 'dataDir' | 'bootstrap'>> = []
  private groups: number[][] = []
  private baseDir = ''
  private ownsBaseDir = false

  constructor (options: ClusterOptions) {
    this.options = options
    this.network = options.network ?? `harness-${process.pid}-${++clusterCounter}`
  }

  get size (): number {
    return this.peers.length
  }

  async init (): Promise<void> {
    if (this.options.baseDir === undefined) {
      this.baseDir = await mkdtemp(join(tmpdir(), 'hearsay-cluster-'))
      this.ownsBaseDir = true
    } else {
      this.baseDir = this.options.baseDir
    }
    for (let i = 0; i < this.options.size; i++) this.peerOptions.push({ ...this.options.peer, ...this.options.peers?.[i] })
    // The first peer is everyone's bootstrap; the rest start together.
    if (this.options.size > 0) await this.launch(0)
    await Promise.all(this.peerOptions.slice(1).map(async (_o, i) => this.launch(i + 1)))
  }

  live (): number[] {
    return [...this.running].sort((a, b) => a - b)
  }

  async partition (...groups: number[][]): Promise<void> {
    this.groups = groups.map((g) => [...g])
    await Promise.all(this.live().map(async (i) => this.applyBlocks(i)))
  }

  async heal (): Promise<void> {
    this.groups = []
    for (const i of this.live()) this.peer(i).net.unblock()
  }

  async kill (index: number): Promise<void> {
    const peer = this.peer(index)
    this.running.delete(index)
    await peer.stop({ graceful: false })
  }

  async restart (index: number): Promise<Peer> {
    this.peer(index)
    if (this.running.has(index)) await this.kill(index)
    return this.launch(index)
  }

  async add (options: Omit<PeerOptions, 'network' | 'dataDir' | 'bootstrap'> = {}): Promise<Peer> {
    this.peerOptions.push({ ...this.options.peer, ...options })
    return this.launch(this.peerOptions.length - 1)
  }

  async stop (): Promise<void> {
    await Promise.all(this.live().map(async (i) => {
      this.running.delete(i)
      await this.peer(i).stop()
    }))
    if (this.ownsBaseDir) await rm(this.baseDir, { recursive: true, force: true })
  }

  divergence (): string | undefined {
    const live = this.live()
    const liveIds = new Set(live.map((i) => this.peer(i).peerId))
    const incarnations = new Map(live.map((i) => [this.peer(i).peerId, this.peer(i).membership.self()?.incarnation]))
    for (const i of live) {
      const view = this.peer(i).members()
      const alive = new Set(view.filter((m) => m.state === 'alive').map((m) => m.peerId))
      for (const id of liveIds) {
        if (!alive.has(id)) return `peer ${i} does not see ${this.describe(id)} as alive (${view.find((m) => m.peerId === id)?.state ?? 'unknown'})`
        const seen = view.find((m) => m.peerId === id)?.incarnation
        if (seen !== incarnations.get(id)) return `peer ${i} has ${this.describe(id)} at incarnation ${seen}, not its current ${incarnations.get(id)}`
      }
      for (const id of alive) {
        if (!liveIds.has(id)) return `peer ${i} still sees ${this.describe(id)} as alive`
      }
    }
    const first = live[0]
    if (first === undefined) return undefined
    const digest = this.peer(first).kv.digest()
    for (const i of live) {
      const other = this.peer(i).kv
      if (other.digest() !== digest) return `peer ${i}'s replica differs from peer ${first}'s (${other.recordCount()} records against ${this.peer(first).kv.recordCount()})`
    }
    return undefined
  }

  async converged (options: ConvergedOptions = {}): Promise<void> {
    const timeout = options.timeout ?? 10_000
    const deadline = Date.now() + timeout
    // Membership changes arrive as events; checking on each one (and on a short tick, for
    // changes that are not events) waits exactly as long as the cluster needs.
    await new Promise<void>((resolve, reject) => {
      const listeners: Array<() => void> = []
      let timer: NodeJS.Timeout | undefined
      const finish = (err?: Error): void => {
        clearInterval(timer)
        for (const off of listeners) off()
        if (err === undefined) resolve()
        else reject(err)
      }
      const check = (): void => {
        const why = this.divergence()
        if (why === undefined) finish()
        else if (Date.now() >= deadline) finish(new ConvergenceTimeoutError(timeout, why))
      }
      for (const i of this.live()) {
        const peer = this.peer(i)
        listeners.push(peer.membership.onChange(check))
        peer.kv.addEventListener('change', check)
        listeners.push(() => { peer.kv.removeEventListener('change', check) })
      }
      timer = setInterval(check, 50)
      check()
    })
  }

  private peer (index: number): Peer {
    const peer = this.peers[index]
    if (peer === undefined) throw new NoSuchPeerError(index, this.peers.length)
    return peer
  }

  private describe (peerId: string): string {
    const index = this.peers.findIndex((p) => p.peerId === peerId)
    return index >= 0 ? `peer ${index}` : peerId
  }

  private async launch (index: number): Promise<Peer> {
    const bootstrapFrom = this.live().filter((i) => i !== index)[0]
    const bootstrap = bootstrapFrom === undefined ? [] : this.peer(bootstrapFrom).addresses()
    const peer = await createPeer({
      profile: 'local',
      ...this.peerOptions[index],
      network: this.network,
      ...(this.options.durable === false ? {} : { dataDir: join(this.baseDir, `peer-${index}`) }),
      bootstrap
    })
    this.peers[index] = peer
    await this.applyBlocks(index)
    await peer.start()
    this.running.add(index)
    return peer
  }

  /** Block, for peer i, every peer in a group other than its own. */
  private async applyBlocks (index: number): Promise<void> {
    const peer = this.peer(index)
    peer.net.unblock()
    const own = this.groups.find((g) => g.includes(index))
    if (own === undefined) return
    const others = this.groups.filter((g) => g !== own).flat()
    const ids = others.map((i) => this.peers[i]?.peerId).filter((id): id is string => id !== undefined)
    await peer.net.block(ids)
  }
}
