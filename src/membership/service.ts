import { join } from 'node:path'
import { TypedEventTarget, type DetailEvent } from '../events.js'
import { rateLimited, silentLog, type Log, type LogFn } from '../log.js'
import { Backoff } from '../backoff.js'
import { CounterFile } from '../counter-file.js'
import { VERSION } from '../version.js'
import { MAX_INCARNATION, MemberTable, type Member, type MemberUpdate, type Outcome } from './state.js'
import { BroadcastQueue } from './broadcasts.js'
import type { MembershipMessage } from './codec.js'
import { INCARNATION_FILE, MAX_PIGGYBACK, MEMBERSHIP_PROFILES, type MembershipTiming } from './constants.js'
import { MembershipTransport, type MembershipNet } from './transport.js'
import { FailureDetector } from './probe.js'
import { Rounds, connectedFirst, shuffle } from './rounds.js'
import { forProfile, type Profile } from '../profile.js'

export type { MembershipNet } from './transport.js'

export interface MembershipComponents {
  net: MembershipNet
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number
  /** Where this part logs (a pino logger, or any with the same methods). @default silent */
  logger?: Log
}

/** The membership timers of the profile can be overridden one by one (`PeerOptions.membership`). */
export interface MembershipInit extends Partial<MembershipTiming> {
  /** Where the incarnation is kept; `undefined` for an in-memory peer. */
  dataDir?: string
  /** Election priority announced to others. @default 0 */
  priority?: number
  tags?: Record<string, string>
  /** @default DEFAULT_PROFILE ('lan') */
  profile?: Profile
  /** The software version announced to others. @default hearsay's package version */
  version?: string
}

export interface MembershipEvents extends Record<string, unknown> {
  'member:join': Member
  'member:leave': Member
  'member:fail': Member
  'member:update': Member
  'member:reap': Member
}

export interface MembershipStats {
  /** Messages dropped because they did not decode or broke a limit. */
  malformed: number
  probes: number
  probeFailures: number
  indirectProbes: number
  syncs: number
}

/** Every membership event, for listeners that react to any change of the view. */
export const MEMBER_EVENTS = ['member:join', 'member:leave', 'member:fail', 'member:update', 'member:reap'] as const

const CHANGE_EVENT = {
  join: 'member:join',
  leave: 'member:leave',
  fail: 'member:fail',
  update: 'member:update',
  reap: 'member:reap'
} as const

/** What a peer's users see of membership (`peer.membership`): the view, and joining through a peer. */
export interface MembershipView {
  /** The whole view, this peer included (marked `self`). */
  members (): Member[]
  member (peerId: string): Member | undefined
  self (): Member | undefined
  /** Calls `listener` on every change of the view; returns the unsubscribe function. */
  onChange (listener: () => void): () => void
  /** Exchange whole views with a peer now (join through it). */
  sync (peerId: string, addresses?: string[]): Promise<void>
}

/** The part as the peer wires it: the view, its lifecycle, its events and its figures. */
export interface Membership extends MembershipView, TypedEventTarget<MembershipEvents> {
  /** The timers in force: the profile's, with the overrides of the init. */
  readonly timing: MembershipTiming
  start (): Promise<void>
  /** With `announce` (a graceful stop) every alive member is told at once that this peer has left. */
  stop (options?: { announce?: boolean }): Promise<void>
  stats (): MembershipStats
  /** Announce new addresses, priority or tags under a new incarnation. */
  updateSelf (patch: { addresses?: string[], priority?: number, tags?: Record<string, string> }): void
  /**
   * Marks another member `left` at its current incarnation and spreads it (Serf's force-leave):
   * a dead member is gone from every view at once; a live one hears it and refutes it. Returns
   * the member as it is now here, or undefined for an unknown member or this peer itself.
   */
  forceLeave (peerId: string): Member | undefined
  /**
   * Whether views were exchanged (a push-pull, either way) with another member since start:
   * until then the view holds only what probes and gossip brought, often nothing but self.
   */
  hasSynced (): boolean
}

export function createMembership (components: MembershipComponents, init: MembershipInit = {}): Membership {
  return new SwimMembership(components, init)
}

/**
 * SWIM-style failure detection and dissemination over a libp2p stream protocol
 * (`/hearsay/<network>/membership/2.0.0`, one long-lived stream per member), with push-pull
 * view exchange on every new connection and periodically. All decisions are the pure MemberTable's; this class keeps
 * the lifecycle, answers inbound messages and spreads updates; probing is the
 * FailureDetector's, the streams the MembershipTransport's.
 */
class SwimMembership extends TypedEventTarget<MembershipEvents> implements Membership {
  readonly timing: MembershipTiming
  private readonly net: MembershipNet
  private readonly init: MembershipInit
  private readonly now: () => number
  private readonly log: Log
  private readonly logDropped: LogFn
  private readonly transport: MembershipTransport
  private readonly detector: FailureDetector
  private readonly rounds = new Rounds()
  /** Wakes the gossip round while updates wait to be spread; an empty queue sends nothing and sets no timer. */
  private readonly gossipRound: { wake: () => void }
  /** One timer at the table's next deadline (a suspicion to expire, a redial, a member to forget). */
  private readonly tickAt: { at: (time: number | undefined) => void }
  private table: MemberTable | undefined
  private broadcasts: BroadcastQueue
  private readonly reconnects = new Map<string, { next: number, backoff: Backoff }>()
  private readonly inFlightSyncs = new Set<string>()
  private running = false
  private synced = false
  private readonly counters = { malformed: 0, syncs: 0 }
  private readonly onConnect = (event: DetailEvent<string>): void => { this.onPeerConnect(event.detail) }
  private readonly onDiscovered = (event: DetailEvent<{ peerId: string, addresses: string[] }>): void => {
    this.onPeerDiscovered(event.detail.peerId, event.detail.addresses)
  }

  constructor (components: MembershipComponents, init: MembershipInit = {}) {
    super()
    this.net = components.net
    this.init = init
    this.now = components.now ?? Date.now
    this.log = components.logger ?? silentLog
    this.logDropped = rateLimited(this.log, 'warn')
    const { dataDir, priority, tags, profile, ...timing } = init
    this.timing = { ...forProfile(MEMBERSHIP_PROFILES, profile), ...timing }
    this.broadcasts = new BroadcastQueue(this.timing.retransmitMult)
    this.transport = new MembershipTransport(this.net, {
      onMalformed: (from, reason, what) => {
        this.counters.malformed++
        this.logDropped({ from, reason }, `dropped a malformed membership ${what}`)
      },
      onIncompatible: (peerId, theirs) => {
        this.logDropped({ peer: peerId, theirs, ours: this.transport.protocol },
          'a peer speaks an older membership protocol (a stream per message): it is refused; upgrade it to the same hearsay version')
      }
    })
    this.detector = new FailureDetector({
      timing: this.timing,
      now: this.now,
      table: () => this.table,
      running: () => this.running,
      request: async (to, message, timeout) => this.transport.request(to, message, timeout),
      receive: (message, from) => { this.receive(message, from) },
      piggyback: (to) => this.piggyback(to),
      suspect: (peerId) => {
        if (this.table !== undefined) this.handle(this.table.suspect(peerId, this.now()))
      },
      recentLag: () => this.rounds.recentLag(),
      noteLag: (ms) => { this.rounds.noteLag(ms) }
    })
    this.gossipRound = this.rounds.onDemand(this.timing.gossipInterval, async () => this.gossip())
    this.tickAt = this.rounds.deadline(() => { this.tick() }, this.now)
  }

  async start (): Promise<void> {
    if (this.running) return
    const incarnation = await this.nextIncarnation()
    this.table = new MemberTable({
      peerId: this.net.peerId,
      addresses: this.net.addresses(),
      priority: this.init.priority ?? 0,
      tags: this.init.tags ?? {},
      version: this.init.version ?? VERSION,
      protocols: this.net.protocols(),
      incarnation
    }, this.now())
    this.broadcasts = new BroadcastQueue(this.timing.retransmitMult)
    this.running = true
    this.synced = false
    this.rounds.start()
    await this.transport.listen(async (message, from) => this.answer(message, from))
    this.net.addEventListener('peer:connect', this.onConnect)
    this.net.addEventListener('peer:discovered', this.onDiscovered)
    // The node may have connected (to a bootstrap peer, or been dialled) before we listened:
    // those connections had their 'peer:connect' already, so join through them now.
    this.joinThroughConnections()
    this.every(this.timing.probeInterval, async (lateBy) => {
      // Alone: a sync through a connection failed or was missed. Keep trying, or this peer
      // waits for the DHT to find anyone (seconds to minutes) while others cannot see it.
      if (this.alone()) this.joinThroughConnections()
      await this.detector.probeNext(lateBy)
    })
    this.every(this.timing.pushPullInterval, async () => { await this.pushPullRandom() })
  }

  /**
   * Stops the protocol. With `announce` (a graceful stop) every alive member is told at once
   * that this peer has left; without it (a crash, as the harness's kill) others find out by
   * failure detection.
   */
  async stop (options: { announce?: boolean } = {}): Promise<void> {
    if (!this.running) return
    if (options.announce !== false && this.table !== undefined) {
      const outcome = this.table.leave(this.now())
      const left = outcome.broadcast
      const targets = this.table.members().filter((m) => !m.self && (m.state === 'alive' || m.state === 'suspect'))
      // Wait for each member to close the stream, which it does only after applying the
      // message: once the connection closes, bytes it has not read yet may be discarded.
      const results = await Promise.allSettled(targets.map(async (m) => {
        await this.transport.request(m, { type: 'gossip', updates: left }, Math.min(1_000, this.timing.probeTimeout * 4))
      }))
      const failed = results.flatMap((r, i) => r.status === 'rejected' ? [{ member: targets[i]?.peerId, reason: (r.reason as Error).message }] : [])
      this.log.info({ told: targets.length - failed.length, failed }, `leaving: told ${targets.length - failed.length} of ${targets.length} members`)
    }
    this.running = false
    this.rounds.stop()
    this.net.removeEventListener('peer:connect', this.onConnect)
    this.net.removeEventListener('peer:discovered', this.onDiscovered)
    await this.transport.close()
  }

  members (): Member[] {
    return this.table?.members() ?? []
  }

  /** Calls `listener` on every change of the view; returns the unsubscribe function. */
  onChange (listener: () => void): () => void {
    for (const type of MEMBER_EVENTS) this.addEventListener(type, listener)
    return () => { for (const type of MEMBER_EVENTS) this.removeEventListener(type, listener) }
  }

  member (peerId: string): Member | undefined {
    return this.table?.get(peerId)
  }

  self (): Member | undefined {
    return this.table?.get(this.net.peerId)
  }

  stats (): MembershipStats {
    const probes = this.detector.stats()
    return { malformed: this.counters.malformed, probes: probes.probes, probeFailures: probes.probeFailures, indirectProbes: probes.indirectProbes, syncs: this.counters.syncs }
  }

  /** Exchange whole views with a peer now (join through it). */
  async sync (peerId: string, addresses: string[] = []): Promise<void> {
    if (this.inFlightSyncs.has(peerId) || peerId === this.net.peerId) return
    this.inFlightSyncs.add(peerId)
    try {
      const reply = await this.transport.request({ peerId, addresses }, { type: 'sync', updates: this.snapshot() }, this.timing.probeTimeout * 4)
      this.counters.syncs++
      if (reply !== undefined) {
        this.receive(reply, peerId)
        this.markSynced()
      }
    } finally {
      this.inFlightSyncs.delete(peerId)
    }
  }

  hasSynced (): boolean {
    return this.synced
  }

  private markSynced (): void {
    if (this.running) this.synced = true
  }

  /** Announce new addresses, priority or tags under a new incarnation. */
  updateSelf (patch: { addresses?: string[], priority?: number, tags?: Record<string, string> }): void {
    if (this.table === undefined) return
    this.handle(this.table.updateSelf(patch, this.now()))
  }

  forceLeave (peerId: string): Member | undefined {
    const table = this.table
    const member = table?.get(peerId)
    if (table === undefined || member === undefined || member.self) return undefined
    this.handle(table.apply({ kind: 'left', peerId, incarnation: member.incarnation }, this.now()))
    return table.get(peerId)
  }

  // --- inbound ----------------------------------------------------------------------------

  private async answer (message: MembershipMessage, from: string): Promise<MembershipMessage | undefined> {
    this.receive(message, from)
    switch (message.type) {
      case 'ping':
        return { type: 'ack', updates: this.piggyback(from) }
      case 'ping-req': {
        const ok = await this.detector.probeFor({ peerId: message.target ?? '', addresses: message.targetAddresses ?? [] })
        return { type: 'ack', ok, updates: this.piggyback(from) }
      }
      case 'sync':
        this.markSynced()
        return { type: 'sync-reply', updates: this.snapshot() }
      case 'gossip':
      case 'ack':
      case 'sync-reply':
        return undefined
    }
  }

  /** Apply what a message carries; the sender itself is alive, whatever it says. */
  private receive (message: MembershipMessage, from: string): void {
    const table = this.table
    if (table === undefined || !this.running) return
    const now = this.now()
    const incarnation = table.get(this.net.peerId)?.incarnation
    for (const update of message.updates) this.handle(table.apply(update, now))
    if (table.get(this.net.peerId)?.incarnation !== incarnation) this.detector.refuted()
    table.heard(from, now)
    const sender = table.get(from)
    if (sender !== undefined && sender.state !== 'alive') {
      // It is talking, so it is not dead: make sure it learns what we think, so it refutes.
      this.queue(this.viewOf(sender))
    }
    if (sender?.state === 'alive') this.reconnects.delete(from)
  }

  private handle (outcome: Outcome): void {
    for (const update of outcome.broadcast) this.queue(update)
    for (const change of outcome.changes) {
      if (change.type === 'reap') this.reconnects.delete(change.member.peerId)
      logChange(this.log, change.type, change.member, () => this.members().filter((m) => m.state === 'alive').length)
      this.emit(CHANGE_EVENT[change.type], change.member)
    }
    if (outcome.changes.length > 0) this.scheduleTick()
  }

  private queue (update: MemberUpdate): void {
    this.broadcasts.push(update)
    this.gossipRound.wake()
  }

  /** Arms the tick for the earliest thing it has to do: a suspicion's end, a redial, a reap. */
  private scheduleTick (): void {
    const table = this.table
    if (table === undefined || !this.running) return
    let next = table.nextDeadline({ suspicionTimeout: this.timing.suspicionTimeout, reapTimeout: this.timing.reapTimeout })
    for (const m of table.members()) {
      if (m.self || m.state !== 'dead') continue
      const at = this.reconnects.get(m.peerId)?.next ?? this.now()
      if (next === undefined || at < next) next = at
    }
    this.tickAt.at(next)
  }

  private tick (): void {
    const table = this.table
    if (table === undefined) return
    const now = this.now()
    this.handle(table.tick(now, { suspicionTimeout: this.timing.suspicionTimeout, reapTimeout: this.timing.reapTimeout }))
    // libp2p 2 does not reconnect after a long partition: redial members we lost, with backoff.
    for (const m of table.members()) {
      if (m.self || m.state !== 'dead') continue
      const entry = this.reconnects.get(m.peerId) ?? { next: now, backoff: new Backoff(this.timing.reconnectMinDelay, this.timing.reconnectMaxDelay) }
      this.reconnects.set(m.peerId, entry)
      if (now < entry.next || this.inFlightSyncs.has(m.peerId)) continue
      entry.next = now + entry.backoff.next()
      void this.sync(m.peerId, m.addresses).catch(() => {})
    }
    this.scheduleTick()
  }

  // --- dissemination ---------------------------------------------------------------------

  /** One gossip round; resolves true while updates are left to spread (the round runs again). */
  private async gossip (): Promise<boolean> {
    const table = this.table
    if (table === undefined || this.broadcasts.size() === 0) return false
    const targets = this.gossipTargets(table.members().filter((m) => !m.self && m.state === 'alive'))
    // Nobody to tell yet: the updates wait for piggybacking (probes, syncs) or the next wake.
    if (targets.length === 0) return false
    const updates = this.broadcasts.take(MAX_PIGGYBACK, table.size())
    await Promise.allSettled(targets.map(async (m) => { await this.transport.send(m, { type: 'gossip', updates }, this.timing.probeTimeout * 2) }))
    return this.broadcasts.size() > 0
  }

  /**
   * Up to `gossipFanout` random alive members, those we hold a connection to first. A send to
   * anyone else dials first (TCP, Noise, yamux, identify), which can take longer than the
   * send may wait while a network forms on a busy machine: the update's transmission was
   * counted and lost, and members learnt of late joiners only from the next push-pull.
   */
  private gossipTargets (alive: Member[]): Member[] {
    return connectedFirst(alive, new Set(this.net.connections().map((c) => c.peerId)), this.timing.gossipFanout)
  }

  /** No other member is alive in our view. */
  private alone (): boolean {
    return this.table?.members().every((m) => m.self || m.state !== 'alive') ?? false
  }

  /** Exchange views with every connected peer we do not know as alive (at most once at a time each). */
  private joinThroughConnections (): void {
    for (const peerId of new Set(this.net.connections().map((c) => c.peerId))) this.onPeerConnect(peerId)
  }

  private async pushPullRandom (): Promise<void> {
    const table = this.table
    if (table === undefined) return
    const target = shuffle(table.members().filter((m) => !m.self && m.state === 'alive'))[0]
    if (target !== undefined) await this.sync(target.peerId, target.addresses).catch(() => {})
  }

  private onPeerConnect (peerId: string): void {
    const known = this.table?.get(peerId)
    if (known?.state === 'alive') return
    void this.sync(peerId, known?.addresses ?? []).catch(() => {})
  }

  private onPeerDiscovered (peerId: string, addresses: string[]): void {
    const known = this.table?.get(peerId)
    if (known?.state === 'alive' || known?.state === 'left') return
    void this.sync(peerId, addresses).catch(() => {})
  }

  /** Our own alive update first (so the receiver always knows us), then queued updates. */
  private piggyback (to: string): MemberUpdate[] {
    const table = this.table
    if (table === undefined) return []
    const updates: MemberUpdate[] = []
    const self = table.get(this.net.peerId)
    if (self !== undefined) updates.push(this.viewOf(self))
    const aboutTarget = this.broadcasts.about(to)
    if (aboutTarget !== undefined) updates.push(aboutTarget)
    for (const u of this.broadcasts.take(MAX_PIGGYBACK, table.size())) {
      if (u !== aboutTarget && u.peerId !== this.net.peerId) updates.push(u)
    }
    return updates
  }

  private snapshot (): MemberUpdate[] {
    return this.table?.snapshot() ?? []
  }

  private viewOf (m: Member): MemberUpdate {
    switch (m.state) {
      case 'alive':
        return {
          kind: 'alive',
          peerId: m.peerId,
          incarnation: m.incarnation,
          addresses: m.addresses,
          priority: m.priority,
          tags: m.tags,
          version: m.version,
          protocols: m.protocols
        }
      case 'suspect':
        return { kind: 'suspect', peerId: m.peerId, incarnation: m.incarnation, from: this.net.peerId }
      case 'dead':
        return { kind: 'dead', peerId: m.peerId, incarnation: m.incarnation, from: this.net.peerId }
      case 'left':
        return { kind: 'left', peerId: m.peerId, incarnation: m.incarnation }
    }
  }

  // --- lifecycle -------------------------------------------------------------------------

  private every (interval: number, task: (lateBy: number) => Promise<void>): void {
    this.rounds.every(interval, Math.max(interval * 10, this.timing.probeTimeout * 10), task)
  }

  private async nextIncarnation (): Promise<number> {
    if (this.init.dataDir === undefined) return 1
    const file = new CounterFile(join(this.init.dataDir, INCARNATION_FILE), 'incarnation', MAX_INCARNATION)
    // Missing or unreadable reads as 0, so we start at 1; a peer that remembers us newer makes
    // us refute. Never past what the wire carries, or the table would refuse our own incarnation.
    const next = Math.min(await file.read() + 1, MAX_INCARNATION)
    await file.write(next)
    return next
  }
}

/** Joins, leaves and failures are what an operator watches for; refreshes are detail. */
function logChange (log: Log, type: keyof typeof CHANGE_EVENT, member: Member, aliveCount: () => number): void {
  const fields = { member: member.peerId, state: member.state, incarnation: member.incarnation }
  if (type === 'update' || type === 'reap') {
    log.debug(fields, `member ${member.peerId} ${type === 'reap' ? 'forgotten' : 'updated'} (${member.state})`)
    return
  }
  const alive = aliveCount()
  const what = type === 'join' ? 'joined' : type === 'leave' ? 'left' : `failed (${member.state})`
  if (type === 'fail') log.warn({ ...fields, alive }, `member ${member.peerId} ${what}; ${alive} alive`)
  else log.info({ ...fields, alive }, `member ${member.peerId} ${what}; ${alive} alive`)
}
