import { NoSuchPeerError } from '../errors.js'
import type { ConvergedOptions } from '../types.js'
import {
  createProcessCluster, type ApiCallOptions, type ProcessCluster, type ProcessClusterOptions, type ProcessLine, type ProcessPeer, type UnexpectedExit
} from '../processes.js'
import { TestNetworkError } from './errors.js'
import { FaultPlan, PacketFilter } from './filter.js'
import { createTestNetwork, type TestNetwork } from './network.js'

export interface HostClusterOptions extends Omit<ProcessClusterOptions, 'placement'> {
  /** The TCP port every peer listens on, on all its addresses (`/ip4/0.0.0.0/tcp/PORT`). @default 4001 */
  port?: number
}

/**
 * N peers on N hosts: each peer a `hearsay start` process (the `lan` profile unless told
 * otherwise) in its own network namespace, with its own address on a private /24. The kernel
 * makes the faults: a partition and random loss are packet-filter rules in the hosts, which
 * stay in force while a peer is killed or paused and when it comes back.
 */
export interface HostCluster extends ProcessCluster {
  /** The address of peer i's host. */
  readonly hosts: readonly string[]
  /** The hosts' network, e.g. `10.77.3.0/24`. */
  readonly subnet: string
  /** The namespace of peer i's host (for `ip netns exec`). */
  readonly namespaces: readonly string[]
  /** Cut the network into groups of indices: the hosts drop every packet between groups. */
  partition (...groups: number[][]): Promise<void>
  /** Lift every partition (loss stays as set). */
  heal (): Promise<void>
  /**
   * Drop `percent` % (an integer 0..100) of the packets on the link between peers a and b, both
   * ways, or on every link between peers when no link is given (which also replaces any
   * per-link setting). 0 lifts it.
   */
  loss (percent: number, link?: readonly [number, number]): Promise<void>
}

export const DEFAULT_HOST_PORT = 4001

/** Builds the test network, proves its packet filter works, and starts one peer per host. */
export async function createHostCluster (options: HostClusterOptions): Promise<HostCluster> {
  const network = await createTestNetwork(options.size)
  try {
    const filter = new PacketFilter(network)
    await filter.check()
    const port = options.port ?? DEFAULT_HOST_PORT
    const { port: _port, ...rest } = options
    const processes = await createProcessCluster({
      ...rest,
      peer: { profile: 'lan', ...options.peer },
      placement: {
        listen: () => `/ip4/0.0.0.0/tcp/${port}`,
        api: (index) => `${network.addresses[index] ?? ''}:0`,
        command: (index, file, args) => network.exec(index, file, args)
      }
    })
    return new Hosts(processes, network, filter)
  } catch (err) {
    await network.destroy()
    throw err
  }
}

class Hosts implements HostCluster {
  private readonly plan: FaultPlan
  private stopped = false

  constructor (private readonly processes: ProcessCluster, private readonly hostNetwork: TestNetwork, private readonly filter: PacketFilter) {
    this.plan = new FaultPlan(processes.size)
  }

  get peers (): readonly ProcessPeer[] { return this.processes.peers }
  get network (): string { return this.processes.network }
  get size (): number { return this.processes.size }
  get hosts (): readonly string[] { return this.hostNetwork.addresses }
  get subnet (): string { return this.hostNetwork.subnet }
  get namespaces (): readonly string[] { return this.hostNetwork.namespaces }

  live (): number[] { return this.processes.live() }

  async partition (...groups: number[][]): Promise<void> {
    const seen = new Set<number>()
    for (const i of groups.flat()) {
      this.index(i)
      if (seen.has(i)) throw new TestNetworkError('partition', `peer ${i} is in two groups`)
      seen.add(i)
    }
    this.plan.partition(groups)
    await this.applyAll()
  }

  async heal (): Promise<void> {
    this.plan.heal()
    await this.applyAll()
  }

  async loss (percent: number, link?: readonly [number, number]): Promise<void> {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new TestNetworkError('loss', `percent must be an integer 0..100, not ${percent}`)
    if (link !== undefined) {
      this.index(link[0])
      this.index(link[1])
      if (link[0] === link[1]) throw new TestNetworkError('loss', `a link joins two peers, not peer ${link[0]} to itself`)
    }
    this.plan.loss(percent, link)
    await this.applyAll()
  }

  async kill (index: number): Promise<void> { await this.processes.kill(index) }
  async restart (index: number): Promise<ProcessPeer> { return this.processes.restart(index) }
  async pause (index: number): Promise<void> { await this.processes.pause(index) }
  async resume (index: number): Promise<void> { await this.processes.resume(index) }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    try {
      await this.processes.stop()
    } finally {
      await this.hostNetwork.destroy()
    }
  }

  async converged (options?: ConvergedOptions): Promise<void> { await this.processes.converged(options) }
  async divergence (): Promise<string | undefined> { return this.processes.divergence() }

  async api<T = unknown> (index: number, method: string, path: string, body?: unknown, options?: ApiCallOptions): Promise<T> {
    return this.processes.api<T>(index, method, path, body, options)
  }

  onLine (listener: (index: number, line: ProcessLine) => void): () => void { return this.processes.onLine(listener) }
  unexpectedExits (): UnexpectedExit[] { return this.processes.unexpectedExits() }

  private index (i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new NoSuchPeerError(i, this.size)
    return i
  }

  /** Every host gets its whole rule set, killed and paused peers' hosts too: the kernel keeps them. */
  private async applyAll (): Promise<void> {
    await Promise.all(this.hostNetwork.namespaces.map(async (_ns, i) => this.filter.apply(i, this.plan.rules(i, this.hostNetwork.addresses))))
  }
}
