import { mkdir } from 'node:fs/promises'
import { Registry } from 'prom-client'
import { TypedEventTarget } from './events.js'
import { createNetNode, NotStartedError, type NetNode } from './net/index.js'
import {
  createMembership, MEMBER_EVENTS, patchTags, type Member, type Membership, type MembershipEvents, type MembershipStats, type MembershipView
} from './membership/index.js'
import { lockDataDir, openLog, type DataDirLock } from './storage/index.js'
import {
  createReplication, DEFAULT_MAX_KEY_BYTES, DEFAULT_MAX_VALUE_BYTES, type Replication, type KvEvents, type RemoteVector, type ReplicationStats, type VectorClock
} from './replica/index.js'
import { createElection, type ElectionService, type ElectionStats, type ElectionView, type Leader } from './election/index.js'
import { createJobs, defineMaintenance, type Jobs, type JobsView } from './jobs/index.js'
import { createObserver, type Observe, type Observer, type ObserveStats } from './observe/index.js'
import { createEvents, type Events, type EventsService, type EventsStats } from './events/index.js'
import type { PeerOptions } from './options.js'
import { silentLog, type Component, type Log } from './log.js'
import { DEFAULT_PROFILE, type Profile } from './profile.js'

export interface PeerEvents extends MembershipEvents {
  /** The coordinator changed; `undefined` while an election runs. */
  leader: Leader | undefined
}

/** How joining through one address went: the PeerId that answered, or why none did. */
export interface JoinResult {
  address: string
  peerId?: string
  error?: string
}

export interface StopOptions {
  /**
   * `true` (the default) tells the other members this peer has left. `false` stops
   * abruptly, like a crash: others find out through failure detection.
   */
  graceful?: boolean
}

export interface Peer extends TypedEventTarget<PeerEvents> {
  readonly peerId: string
  readonly network: string
  readonly dataDir: string | undefined
  /** Listen addresses others can dial, each ending in /p2p/<peerId>. */
  addresses (): string[]
  start (): Promise<void>
  stop (options?: StopOptions): Promise<void>
  isRunning (): boolean
  /** This peer's view of the members, itself included (marked `self`). */
  members (): Member[]
  /** The coordinator this peer follows, with its term (the fencing token). */
  leader (): Leader | undefined
  /**
   * Adds or changes this peer's tags (and takes out those in `remove`), announced under a new
   * incarnation and spread like every membership update. Resolves with the tags now. Throws
   * InvalidTagsError (ERR_INVALID_TAGS), changing nothing, for tags the other members would refuse.
   */
  setTags (set: Record<string, string>, remove?: readonly string[]): Promise<Record<string, string>>
  /**
   * Replaces the writers list at runtime (`undefined`: anyone): from now on, writes by a peer not
   * listed are dropped and counted on arrival, and a local write here needs this peer listed.
   */
  setWriters (writers: readonly string[] | undefined): void
  /**
   * Joins through more addresses while running: dials each (a multiaddr, with or without
   * /p2p/) and exchanges membership views with whoever answers. One result per address.
   */
  join (addresses: readonly string[], options?: { timeout?: number }): Promise<JoinResult[]>
  /**
   * Marks another member `left` everywhere (Serf's force-leave): for a dead member that would
   * otherwise linger until it is reaped. A live member hears it and refutes it. Returns the member
   * as it is now here; undefined for an unknown member or this peer.
   */
  forceLeave (peerId: string): Member | undefined
  /** The highest term seen, and this peer's role in the election. */
  readonly election: ElectionView
  /** Leader-only scheduled jobs: `define(name, { every, quorum?, timeout? }, run)`, `list()`. */
  readonly jobs: JobsView
  /** A prom-client registry holding libp2p's metrics; the API adds hearsay's own to its output. */
  readonly metrics: Registry
  /** The libp2p side, for the harness and diagnostics: connections, blocks, lookups. */
  readonly net: PeerNet
  /** The membership view, its changes, and joining through a peer. */
  readonly membership: MembershipView
  /** The replicated key-value store: put/get/versions/delete/list, counters, sets, `change` events. */
  readonly kv: Kv
  /** Seeing the network: convergence lag per member, write traces, the graph of links. */
  readonly observe: Observe
  /** Every part's counters, and the store's repair handles: for operators, the API, the harness and tests. */
  readonly diagnostics: Diagnostics
  /** The store's limits as this peer applies them (its options, or the defaults). */
  readonly limits: KvLimits
  /** User events and queries: `publish`, `addEventListener('user', ...)`, `onQuery`, `query` (figures are in `Diagnostics`). */
  readonly events: Events
}

export interface KvLimits {
  /** Longest key, in UTF-8 bytes. */
  maxKeyBytes: number
  /** Largest value, in bytes of its JSON. */
  maxValueBytes: number
}

/** The network side of a peer: its connections, dialling, DHT lookups, and the blocks the harness sets. */
export type PeerNet = Pick<NetNode,
'protocols' | 'connections' | 'refusedConnections' | 'isConnected' | 'connect' | 'dial' | 'lookupMembers' | 'gossipMesh' | 'gossipScore' | 'block' | 'unblock' | 'blocked' |
'addEventListener' | 'removeEventListener'>

/** The store's public face on a peer: data and its `change` events (figures are in `Diagnostics`). */
export type Kv = Pick<Replication,
'put' | 'get' | 'versions' | 'version' | 'typeOf' | 'keys' | 'delete' | 'list' | 'increment' | 'decrement' | 'setAdd' | 'setRemove' |
'digest' | 'size' | 'versionVector' | 'recordCount' |
'addEventListener' | 'removeEventListener' | 'once'>
export type { KvEvents }

/** Every part's counters at one moment. */
export interface PeerStats {
  kv: ReplicationStats
  membership: MembershipStats
  election: ElectionStats
  observe: ObserveStats
  events: EventsStats
}

/** What a peer reports about itself, and the store's repair handles; none of it is data. */
export interface Diagnostics {
  stats (): PeerStats
  /** Run one anti-entropy round with a peer now, and wait for it. */
  syncWith (peerId: string, addresses: string[]): Promise<void>
  /** The GC horizon this replica has adopted. */
  horizon (): VectorClock
  /** The last version vector (and horizon and digest) each peer sent in anti-entropy. */
  remoteVectors (): Map<string, RemoteVector>
}

/**
 * Creates a peer. Its identity is loaded (or created) at once, so `peerId` is known before
 * `start()`; nothing listens until then.
 */
export async function createPeer (options: PeerOptions = {}): Promise<Peer> {
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const metrics = new Registry()
  const logger = options.logger ?? silentLog
  const net = await createNetNode({ logger: logger.child({ component: 'net' }), metricsRegistry: metrics }, {
    network: options.network,
    dataDir: options.dataDir,
    listen: options.listen,
    bootstrap: options.bootstrap,
    profile: options.profile ?? DEFAULT_PROFILE,
    discovery: options.discovery,
    psk: options.psk
  })
  return new HearsayPeer(net, options, metrics)
}

class HearsayPeer extends TypedEventTarget<PeerEvents> implements Peer {
  readonly net: NetNode
  readonly membership: Membership
  readonly dataDir: string | undefined
  private readonly options: PeerOptions
  private readonly logger: Log
  private readonly replication: Replication
  readonly election: ElectionService
  readonly jobs: Jobs
  readonly metrics: Registry
  readonly observe: Observer
  readonly limits: KvLimits
  readonly diagnostics: Diagnostics
  readonly events: EventsService
  private running = false
  private lock: DataDirLock | undefined
  private transition: Promise<void> = Promise.resolve()

  constructor (net: NetNode, options: PeerOptions, metrics: Registry) {
    super()
    this.net = net
    this.metrics = metrics
    this.dataDir = options.dataDir
    this.options = options
    this.logger = options.logger ?? silentLog
    this.limits = {
      maxKeyBytes: options.replication?.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES,
      maxValueBytes: options.replication?.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES
    }
    const profile = options.profile ?? DEFAULT_PROFILE
    this.membership = createMembership({ net, logger: this.component('membership') }, {
      ...options.membership,
      dataDir: options.dataDir,
      priority: options.priority,
      tags: options.tags,
      profile
    })
    const membership = this.membership
    this.replication = this.createReplication(profile)
    this.observe = createObserver({
      net,
      store: this.replication,
      members: () => membership.members(),
      logger: this.component('observe')
    }, { ...options.observe, profile })
    this.events = createEvents({
      net,
      members: () => membership.members(),
      logger: this.component('events')
    }, options.events)
    this.election = createElection({
      net,
      members: () => membership.members(),
      onMembersChanged: (listener) => membership.onChange(listener),
      synced: () => membership.hasSynced(),
      logger: this.component('election')
    }, {
      ...options.election,
      dataDir: options.dataDir,
      priority: options.priority,
      profile
    })
    this.election.addEventListener('leader', (event) => { this.emit('leader', event.detail) })
    const election = this.election
    this.jobs = createJobs({
      selfId: net.peerId,
      logger: this.component('jobs'),
      leader: () => election.leader(),
      onLeaderChange: (listener) => {
        election.addEventListener('leader', listener)
        return () => { election.removeEventListener('leader', listener) }
      },
      members: () => membership.members(),
      onMembersChanged: (listener) => membership.onChange(listener),
      lease: () => election.jobLease(),
      onLeaseChange: (listener) => {
        election.addEventListener('lease', listener)
        return () => { election.removeEventListener('lease', listener) }
      },
      store: this.replication
    }, options.jobs)
    defineMaintenance({
      jobs: this.jobs,
      store: this.replication,
      members: () => membership.members()
    }, { ...options.maintenance, profile })
    for (const type of MEMBER_EVENTS) {
      this.membership.addEventListener(type, (event) => { this.emit(type, event.detail) })
    }
    const replication = this.replication
    const observe = this.observe
    const events = this.events
    this.diagnostics = {
      stats: () => ({
        kv: replication.stats(), membership: membership.stats(), election: election.stats(), observe: observe.stats(), events: events.stats()
      }),
      syncWith: async (peerId, addresses) => { await replication.syncWith(peerId, addresses) },
      horizon: () => replication.horizon(),
      remoteVectors: () => replication.remoteVectors()
    }
  }

  private component (name: Component): Log {
    return this.logger.child({ component: name })
  }

  get kv (): Kv {
    return this.replication
  }

  private createReplication (profile: Profile): Replication {
    const dataDir = this.dataDir
    const storage = this.component('storage')
    // The store opens its log in start() and replays it before anyone can talk to it.
    const openReplicaLog = dataDir === undefined
      ? undefined
      : async () => openLog(dataDir, 'replica', {
        sync: this.options.sync ?? 'always',
        onSkip: (skip) => { storage.warn({ ...skip }, `recovery dropped ${skip.bytes} bytes of ${skip.file}: ${skip.reason}`) }
      })
    return createReplication({
      net: this.net,
      ...(openReplicaLog === undefined ? {} : { openLog: openReplicaLog }),
      members: () => this.membership.members(),
      logger: this.component('replica'),
      onApplied: (batch) => { this.observe.recordApplied(batch) }
    }, {
      ...this.options.replication,
      ...(this.options.writers === undefined ? {} : { writers: this.options.writers }),
      profile
    })
  }

  get peerId (): string {
    return this.net.peerId
  }

  get network (): string {
    return this.net.network
  }

  addresses (): string[] {
    return this.net.addresses()
  }

  isRunning (): boolean {
    return this.running
  }

  members (): Member[] {
    return this.membership.members()
  }

  setWriters (writers: readonly string[] | undefined): void {
    this.replication.setWriters(writers)
  }

  async join (addresses: readonly string[], options: { timeout?: number } = {}): Promise<JoinResult[]> {
    if (!this.running) throw new NotStartedError()
    const timeout = options.timeout ?? 10_000
    return await Promise.all(addresses.map(async (address): Promise<JoinResult> => {
      try {
        const peerId = await this.net.dial(address, AbortSignal.timeout(timeout))
        await this.membership.sync(peerId, [address])
        return { address, peerId }
      } catch (err) {
        return { address, error: (err as Error).message }
      }
    }))
  }

  forceLeave (peerId: string): Member | undefined {
    return this.membership.forceLeave(peerId)
  }

  async setTags (set: Record<string, string>, remove: readonly string[] = []): Promise<Record<string, string>> {
    if (!this.running) throw new NotStartedError()
    const current = this.membership.self()?.tags ?? {}
    const next = patchTags(current, set, remove)
    this.membership.updateSelf({ tags: next })
    return next
  }

  leader (): Leader | undefined {
    return this.election.leader()
  }

  async start (): Promise<void> {
    this.transition = this.transition.catch(() => {}).then(async () => {
      if (this.running) return
      if (this.dataDir !== undefined) this.lock = await lockDataDir(this.dataDir)
      try {
        await this.net.start()
        await this.membership.start()
        await this.replication.start()
        await this.observe.start()
        await this.events.start()
        await this.election.start()
        this.jobs.start()
      } catch (err) {
        // Every part's stop is idempotent and a no-op when it never started: undo in reverse order.
        this.jobs.stop()
        await this.election.stop().catch(() => {})
        await this.events.stop().catch(() => {})
        await this.observe.stop().catch(() => {})
        await this.replication.stop().catch(() => {})
        await this.membership.stop({ announce: false }).catch(() => {})
        await this.net.stop().catch(() => {})
        await this.lock?.release()
        this.lock = undefined
        throw err
      }
      this.running = true
      this.component('peer').info({ peerId: this.peerId, network: this.network, dataDir: this.dataDir ?? null }, 'peer started')
    })
    await this.transition
  }

  async stop (options: StopOptions = {}): Promise<void> {
    this.transition = this.transition.catch(() => {}).then(async () => {
      if (!this.running) return
      this.running = false
      // Reverse order of start: election, events, the observer, the store, then membership (it may announce
      // `left`), then the node.
      this.jobs.stop()
      await this.election.stop()
      await this.events.stop()
      await this.observe.stop()
      await this.replication.stop()
      await this.membership.stop({ announce: options.graceful !== false })
      await this.net.stop()
      await this.lock?.release()
      this.lock = undefined
      this.component('peer').info({ graceful: options.graceful !== false }, 'peer stopped')
    })
    await this.transition
  }
}
