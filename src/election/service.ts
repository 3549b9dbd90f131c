import { rateLimited, silentLog, type Log, type LogFn } from '../log.js'
import { join } from 'node:path'
import { TypedEventTarget } from '../events.js'
import { CounterFile } from '../counter-file.js'
import { StreamChannel, type NetNode } from '../net/index.js'
import type { DetailEvent } from '../events.js'
import { Election, type Candidate, type ElectionMessage, type ElectionOptions, type Leader, type Outbound, type Role, type Step } from './state.js'
import { decodeElectionMessage, encodeElectionMessage, MAX_ELECTION_MESSAGE_BYTES } from './codec.js'
import { ELECTION_PROFILES, ELECTION_PROTOCOL_VERSION, MAX_TERM, MEMBERS_FILE, TERM_FILE } from './constants.js'
import { RememberedMembers } from './remembered.js'
import { forProfile, type Profile } from '../profile.js'
import { Lease, type JobLease, type LeaseView } from './lease.js'

export type ElectionNet = Pick<NetNode, 'peerId' | 'protocol' | 'handle' | 'unhandle' | 'openStream' | 'connect' | 'addEventListener' | 'removeEventListener'>

export interface ElectionMember {
  peerId: string
  addresses: string[]
  state: string
  priority: number
  self: boolean
}

export interface ElectionComponents {
  net: ElectionNet
  /** The membership view, self included. */
  members: () => ElectionMember[]
  /** Subscribe to membership changes; returns the unsubscribe function. */
  onMembersChanged: (listener: () => void) => () => void
  /**
   * Whether membership has exchanged views with another member since start; until then the
   * members remembered from before a restart count toward a majority. @default () => true
   */
  synced?: () => boolean
  /** Where this part logs (a pino logger, or any with the same methods). @default silent */
  logger?: Log
}

/** The election timers of the profile can be overridden one by one (`PeerOptions.election`). */
export interface ElectionInit extends Partial<ElectionOptions> {
  /** Where the highest seen term is kept; `undefined` for an in-memory peer. */
  dataDir?: string
  /** @default 0 */
  priority?: number
  /** @default DEFAULT_PROFILE ('lan') */
  profile?: Profile
}

export interface ElectionEvents extends Record<string, unknown> {
  /** The coordinator changed (or is unknown for now: `undefined`). */
  leader: Leader | undefined
  /** What this peer's jobs may run changed (see `jobLease()`). */
  lease: JobLease | undefined
}

export interface ElectionStats {
  sent: number
  received: number
  malformed: number
  leaderChanges: number
  sendFailures: number
}

/** `stopped` before `start()` and after `stop()`. */
export type ElectionRole = Role | 'stopped'

/** What a peer's users see of the election (`peer.election`); the leader itself is `peer.leader()`. */
export interface ElectionView {
  /** The highest term this peer has seen and saved: it never goes back, not even across a crash. */
  term (): number
  role (): ElectionRole
}

/** The part as the peer wires it: the view, the leader, its lifecycle, `leader` events and its figures. */
export interface ElectionService extends ElectionView, TypedEventTarget<ElectionEvents> {
  start (): Promise<void>
  stop (): Promise<void>
  /** The leader as last announced by the `leader` event (after its term was persisted). */
  leader (): Leader | undefined
  /**
   * While this peer is coordinator: whether its handover fence is open (plain jobs may run)
   * and whether it holds a majority lease (quorum jobs may run). Undefined otherwise.
   */
  jobLease (): JobLease | undefined
  stats (): ElectionStats
}

export function createElection (components: ElectionComponents, init: ElectionInit = {}): ElectionService {
  return new BullyElection(components, init)
}

/**
 * Runs the pure bully state machine over `/hearsay/<network>/election/2.0.0` (one long-lived
 * stream per member; 1.0.0 opened one per message): feeds it membership changes, messages,
 * timer ticks and members found unreachable, persists its term before anything that carries
 * the term leaves, and sends what it asks to send.
 *
 * A coordinator whose connection closes is checked at once (one redial): when that fails it is
 * gone (a crashed process's connections close with it), and followers elect a new one without
 * waiting out the heartbeat timeout.
 */
class BullyElection extends TypedEventTarget<ElectionEvents> implements ElectionService {
  private readonly net: ElectionNet
  private readonly components: ElectionComponents
  private readonly init: ElectionInit
  private readonly options: ElectionOptions
  private readonly channel: StreamChannel
  /** Where the highest seen term is kept; none for an in-memory peer. */
  private readonly termFile: CounterFile | undefined
  /** The members last counted toward a majority, kept for the next life. */
  private readonly rememberedFile: RememberedMembers
  /** Read at start: they count until membership has exchanged views with someone. */
  private remembered: readonly string[] = []
  private machine: Election | undefined
  private timer: NodeJS.Timeout | undefined
  private startTimer: NodeJS.Timeout | undefined
  private unsubscribe: (() => void) | undefined
  private running = false
  /** Steps run one at a time, so a term is persisted before any later step sends. */
  private queue: Promise<void> = Promise.resolve()
  private persistedTerm = 0
  /** The highest term whose save has finished: what `term()` reports, so a crash never takes back a term someone was shown. */
  private durableTerm = 0
  private published: Leader | undefined
  private lease: Lease | undefined
  private leaseTimer: NodeJS.Timeout | undefined
  private publishedLease: JobLease | undefined
  /** Number of our last claim or heartbeat broadcast; followers acknowledge it. */
  private seq = 0
  private readonly counters: ElectionStats = { sent: 0, received: 0, malformed: 0, leaderChanges: 0, sendFailures: 0 }
  private readonly logger: Log
  private readonly logDropped: LogFn

  constructor (components: ElectionComponents, init: ElectionInit = {}) {
    super()
    this.net = components.net
    this.components = components
    this.init = init
    const { dataDir, priority, profile, ...timers } = init
    this.options = { ...forProfile(ELECTION_PROFILES, profile), ...timers }
    this.termFile = init.dataDir === undefined ? undefined : new CounterFile(join(init.dataDir, TERM_FILE), 'term', MAX_TERM)
    this.rememberedFile = new RememberedMembers(init.dataDir === undefined ? undefined : join(init.dataDir, MEMBERS_FILE))
    this.logger = components.logger ?? silentLog
    this.logDropped = rateLimited(this.logger, 'warn')
    const protocol = this.net.protocol('election', ELECTION_PROTOCOL_VERSION)
    this.channel = new StreamChannel(this.net, (from, bytes) => {
      this.onMessage(from, bytes)
      return undefined
    }, {
      protocol,
      maxMessageBytes: MAX_ELECTION_MESSAGE_BYTES,
      onIncompatible: (peerId, theirs) => {
        this.logDropped({ peer: peerId, theirs, ours: protocol },
          'a peer speaks an older election protocol (a stream per message): it is refused; upgrade it to the same hearsay version')
      },
      onMalformed: (from, reason) => {
        this.counters.malformed++
        this.logDropped({ from, reason }, 'dropped a malformed election frame')
      }
    })
  }

  private readonly onDisconnect = (event: DetailEvent<string>): void => {
    const peerId = event.detail
    if (!this.running || this.machine?.leader()?.peerId !== peerId || peerId === this.net.peerId) return
    const member = this.components.members().find((m) => m.peerId === peerId)
    // One redial, bounded by a heartbeat interval: a peer that is up answers in that time.
    void this.net.connect(peerId, member?.addresses ?? [], AbortSignal.timeout(this.options.heartbeatInterval)).catch(() => {
      this.logger.debug({ peer: peerId }, 'the coordinator\'s connection closed and it cannot be reached: electing')
      this.step((m, now) => m.unreachable(peerId, now))
    })
  }

  private onMessage (from: string, bytes: Uint8Array): void {
    let message: ElectionMessage
    try {
      message = decodeElectionMessage(bytes, from)
    } catch (err) {
      this.counters.malformed++
      this.logDropped({ from, reason: (err as Error).message }, 'dropped a malformed election message')
      return
    }
    this.counters.received++
    if (message.type === 'ack') {
      this.lease?.acked(message.from, message.term, message.seq, message.prior, performance.now())
      this.evaluateLease()
      return
    }
    this.step((m, now) => m.receive(message, now), (m) => {
      if (message.type !== 'coordinator' && message.type !== 'heartbeat') return []
      const leader = m.leader()
      if (m.role() !== 'follower' || leader?.peerId !== message.from || leader.term !== message.term) return []
      // Sent after the `leader` event: a coordinator stepping down has aborted its runs before its ACK leaves.
      const prior = this.lease?.support(message.from, performance.now()) ?? 0
      return [{ to: message.from, message: { type: 'ack', term: message.term, from: this.net.peerId, seq: message.seq ?? 0, prior } }]
    })
  }

  async start (): Promise<void> {
    if (this.running) return
    // Clamped: a file from before MAX_TERM existed may hold more, which the machine refuses.
    this.persistedTerm = this.termFile === undefined ? 0 : await this.termFile.read()
    this.durableTerm = Math.max(this.durableTerm, this.persistedTerm)
    this.remembered = (await this.rememberedFile.read()).filter((peerId) => peerId !== this.net.peerId)
    this.machine = new Election({
      selfId: this.net.peerId,
      priority: this.init.priority ?? 0,
      term: this.persistedTerm,
      options: this.options
    }, Date.now())
    this.lease = new Lease({ heartbeatTimeout: this.options.heartbeatTimeout, margin: this.options.heartbeatInterval }, performance.now())
    this.running = true
    await this.channel.start()
    this.net.addEventListener('peer:disconnect', this.onDisconnect)
    this.unsubscribe = this.components.onMembersChanged(() => {
      this.step((m, now) => m.membersChanged(this.candidates(), now))
      this.evaluateLease()
    })
    // A join grace: membership usually finds the network (and its coordinator) within one
    // heartbeat timeout, so a joining peer does not first crown itself and then step down.
    this.startTimer = setTimeout(() => {
      this.step((m, now) => m.start(this.candidates(), now))
    }, this.options.heartbeatTimeout)
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.timer)
    clearTimeout(this.startTimer)
    clearTimeout(this.leaseTimer)
    this.unsubscribe?.()
    this.lease?.steppedDown()
    if (this.publishedLease !== undefined) {
      this.publishedLease = undefined
      this.emit('lease', undefined)
    }
    const machine = this.machine
    if (machine !== undefined) {
      machine.stop(Date.now())
      if (this.published !== undefined) {
        this.published = undefined
        this.emit('leader', undefined)
      }
    }
    this.net.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.queue
    await this.rememberedFile.idle()
    await this.channel.stop()
  }

  /** The leader as last announced by the `leader` event (after its term was persisted). */
  leader (): Leader | undefined {
    return this.running ? this.published : undefined
  }

  /** The highest term this peer has seen and saved: it never goes back, not even across a crash. */
  term (): number {
    return this.durableTerm
  }

  jobLease (): JobLease | undefined {
    return this.running ? this.publishedLease : undefined
  }

  role (): ElectionRole {
    return this.running && this.machine !== undefined ? this.machine.role() : 'stopped'
  }

  stats (): ElectionStats {
    return { ...this.counters }
  }

  private candidates (): Candidate[] {
    // Suspects still count: a false suspicion must not start an election.
    return this.components.members()
      .filter((m) => m.state === 'alive' || m.state === 'suspect')
      .map((m) => ({ peerId: m.peerId, priority: m.priority }))
  }

  /**
   * Runs one input; `after` may add messages that depend on the outcome (an ACK). Order: the
   * term is persisted, the `leader` event is emitted (jobs abort their runs on it), then the
   * messages leave, so a coordinator's step-down is complete before anyone hears of it.
   */
  private step (input: (machine: Election, now: number) => Step, after?: (machine: Election) => Outbound[]): void {
    this.queue = this.queue.then(async () => {
      const machine = this.machine
      if (machine === undefined || !this.running) return
      const step = input(machine, Date.now())
      if (step.termChanged || machine.term() > this.persistedTerm) await this.saveTerm(machine.term())
      if (!this.running) return
      if (step.leaderChanged) {
        this.counters.leaderChanges++
        this.published = machine.leader()
        if (this.published?.peerId === this.net.peerId) this.lease?.claimed(this.published.term, performance.now())
        else this.lease?.steppedDown()
        if (this.published === undefined) this.logger.info({ term: machine.term() }, 'no coordinator: an election is running')
        else this.logger.info({ leader: this.published.peerId, term: this.published.term, self: this.published.peerId === this.net.peerId }, `coordinator ${this.published.peerId} at term ${this.published.term}`)
        this.evaluateLease()
        this.emit('leader', this.published)
      }
      const claims = step.send.some(({ message: m }) => m.type === 'coordinator' || m.type === 'heartbeat')
      const seq = claims ? ++this.seq : 0
      if (claims) this.lease?.sentClaim(seq, performance.now())
      for (const { to, message } of step.send) {
        void this.send(to, message.type === 'coordinator' || message.type === 'heartbeat' ? { ...message, seq } : message)
      }
      for (const { to, message } of after?.(machine) ?? []) void this.send(to, message)
      this.arm()
    }).catch((err: unknown) => {
      // Only persisting the term can fail here; the step is dropped, and the next message or deadline steps again.
      this.logger.error({ err }, 'election step failed')
    })
  }

  private arm (): void {
    clearTimeout(this.timer)
    const deadline = this.machine?.nextDeadline()
    if (deadline === undefined || !this.running) return
    this.timer = setTimeout(() => { this.step((m, now) => m.tick(now)) }, Math.max(0, deadline - Date.now()))
  }

  private async send (to: string, message: ElectionMessage): Promise<void> {
    const member = this.components.members().find((m) => m.peerId === to)
    try {
      await this.channel.send({ peerId: to, addresses: member?.addresses ?? [] }, encodeElectionMessage(message), this.options.heartbeatInterval * 2)
      this.counters.sent++
    } catch {
      // No way through to it: the machine stops waiting for it (its timeouts cover the rest).
      this.counters.sendFailures++
      if (!this.running) return
      this.lease?.unreachableMember(to)
      this.evaluateLease()
      this.step((m, now) => m.unreachable(to, now))
    }
  }

  /**
   * What the lease needs of membership: who must acknowledge a claim, and who counts toward a
   * majority (the members remembered from before a restart too, until membership has
   * exchanged views with someone and the view decides).
   */
  private leaseView (): LeaseView {
    const members = this.components.members().filter((m) => !m.self && m.peerId !== this.net.peerId)
    const known = members.filter((m) => m.state !== 'left').map((m) => m.peerId)
    if (this.remembered.length > 0) {
      if (this.components.synced?.() ?? true) this.remembered = []
      else {
        const inView = new Set(members.map((m) => m.peerId))
        for (const peerId of this.remembered) if (!inView.has(peerId)) known.push(peerId)
      }
    }
    return {
      live: members.filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => m.peerId),
      known
    }
  }

  /** Re-reads the fence, announces a change, and arms a timer for the next one. */
  private evaluateLease (): void {
    clearTimeout(this.leaseTimer)
    if (this.lease === undefined || !this.running) return
    const now = performance.now()
    const view = this.leaseView()
    this.rememberedFile.save(view.known, (err) => { this.logger.warn({ err }, 'could not save the members counted toward a majority') })
    const { lease, next } = this.lease.evaluate(view, now)
    const before = this.publishedLease
    if (before?.term !== lease?.term || before?.plain !== lease?.plain || before?.quorum !== lease?.quorum) {
      this.publishedLease = lease
      this.emit('lease', lease)
    }
    if (next !== undefined) this.leaseTimer = setTimeout(() => { this.evaluateLease() }, Math.max(0, Math.ceil(next - now)))
  }

  private async saveTerm (term: number): Promise<void> {
    if (term <= this.persistedTerm) return
    this.persistedTerm = term
    await this.termFile?.write(term)
    if (term > this.durableTerm) this.durableTerm = term
  }
}
