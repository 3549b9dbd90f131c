import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TypedEventTarget, type DetailEvent } from '../events.js'
import { rateLimited, silentLog, type Log, type LogFn } from '../log.js'
import { writeFileDurably } from '../storage/index.js'
import type { NetNode, MessageStream } from '../net/index.js'
import { MAX_INCARNATION, MemberTable, type Member, type MemberUpdate, type Outcome } from './state.js'
import { BroadcastQueue } from './broadcasts.js'
import { decodeMessage, encodeMessage, type MembershipMessage } from './codec.js'
import {
  INCARNATION_FILE, LAN_MEMBERSHIP, LOCAL_MEMBERSHIP, MAX_AWARENESS, MAX_PIGGYBACK, MEMBERSHIP_LIMITS, type MembershipTiming
} from './constants.js'

export type MembershipNet = Pick<NetNode,
'peerId' | 'addresses' | 'protocol' | 'handle' | 'unhandle' | 'openStream' | 'addEventListener' | 'removeEventListener'>

export interface MembershipComponents {
  net: MembershipNet
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number
  /** Where this part logs (a pino logger, or any with the same methods). @default silent */
  logger?: Log
}

export interface MembershipInit {
  /** Where the incarnation is kept; `undefined` for an in-memory peer. */
  dataDir?: string
  /** Election priority announced to others. @default 0 */
  priority?: number
  tags?: Record<string, string>
  /** @default 'lan' */
  profile?: 'local' | 'lan'
  timing?: Partial<MembershipTiming>
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

/**
 * SWIM-style failure detection and dissemination over a libp2p stream protocol
 * (`/hearsay/<network>/membership/1.0.0`), with push-pull view exchange on every new
 * connection and periodically. All decisions are the pure MemberTable's; this class only
 * moves messages and keeps timers.
 */
export class Membership extends TypedEventTarget<MembershipEvents> {
  readonly timing: MembershipTiming
  private readonly net: MembershipNet
  private readonly init: MembershipInit
  private readonly now: () => number
  private readonly log: Log
  private readonly logDropped: LogFn
  private readonly protocol: string
  private table: MemberTable | undefined
  private broadcasts: BroadcastQueue
  private readonly timers: NodeJS.Timeout[] = []
  private probeOrder: string[] = []
  /**
   * Lifeguard's local health: 0 is healthy. It rises when this peer's own probes time out
   * or others suspect it (signs that this process, not the network, is slow) and scales
   * every probe timeout, so a saturated peer stops accusing healthy ones.
   */
  private awareness = 0
  /** Event-loop lag seen by a watchdog timer: probe results are not trusted through a stall. */
  private loopLag = 0
  private lagWatch: NodeJS.Timeout | undefined
  private readonly reconnects = new Map<string, { next: number, delay: number }>()
  private readonly inFlightSyncs = new Set<string>()
  private running = false
  private readonly counters: MembershipStats = { malformed: 0, probes: 0, probeFailures: 0, indirectProbes: 0, syncs: 0 }
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
    this.timing = { ...(init.profile === 'local' ? LOCAL_MEMBERSHIP : LAN_MEMBERSHIP), ...init.timing }
    this.protocol = this.net.protocol('membership')
    this.broadcasts = new BroadcastQueue(this.timing.retransmitMult)
  }

  async start (): Promise<void> {
    if (this.running) return
    const incarnation = await this.nextIncarnation()
    this.table = new MemberTable({
      peerId: this.net.peerId,
      addresses: this.net.addresses(),
      priority: this.init.priority ?? 0,
      tags: this.init.tags ?? {},
      incarnation
    }, this.now())
    this.broadcasts = new BroadcastQueue(this.timing.retransmitMult)
    this.running = true
    await this.net.handle(this.protocol, async (stream) => { await this.onStream(stream) }, {
      maxInboundStreams: 256,
      maxOutboundStreams: 256,
      maxMessageBytes: MEMBERSHIP_LIMITS.maxMessageBytes
    })
    this.net.addEventListener('peer:connect', this.onConnect)
    this.net.addEventListener('peer:discovered', this.onDiscovered)
    this.watchLoopLag()
    this.every(this.timing.probeInterval, async () => { await this.probeNext() })
    this.every(this.timing.gossipInterval, async () => { await this.gossip() })
    this.every(this.timing.pushPullInterval, async () => { await this.pushPullRandom() })
    this.every(Math.max(50, Math.floor(this.timing.probeInterval / 2)), async () => { this.tick() })
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
        await this.request(m, { type: 'gossip', updates: left }, Math.min(1_000, this.timing.probeTimeout * 4))
      }))
      const failed = results.flatMap((r, i) => r.status === 'rejected' ? [{ member: targets[i]?.peerId, reason: (r.reason as Error).message }] : [])
      this.log.info({ told: targets.length - failed.length, failed }, `leaving: told ${targets.length - failed.length} of ${targets.length} members`)
    }
    this.running = false
    clearInterval(this.lagWatch)
    for (const t of this.timers.splice(0)) clearTimeout(t)
    this.net.removeEventListener('peer:connect', this.onConnect)
    this.net.removeEventListener('peer:discovered', this.onDiscovered)
    await this.net.unhandle(this.protocol).catch(() => {})
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
    return { ...this.counters }
  }

  /** Exchange whole views with a peer now (join through it). */
  async sync (peerId: string, addresses: string[] = []): Promise<void> {
    if (this.inFlightSyncs.has(peerId) || peerId === this.net.peerId) return
    this.inFlightSyncs.add(peerId)
    try {
      const reply = await this.request({ peerId, addresses }, { type: 'sync', updates: this.snapshot() }, this.timing.probeTimeout * 4)
      this.counters.syncs++
      if (reply !== undefined) this.receive(reply, peerId)
    } finally {
      this.inFlightSyncs.delete(peerId)
    }
  }

  /** Announce new addresses, priority or tags under a new incarnation. */
  updateSelf (patch: { addresses?: string[], priority?: number, tags?: Record<string, string> }): void {
    if (this.table === undefined) return
    this.handle(this.table.updateSelf(patch, this.now()))
  }

  // --- inbound ----------------------------------------------------------------------------

  private async onStream (stream: MessageStream): Promise<void> {
    try {
      const bytes = await stream.next({ timeout: this.timing.probeTimeout * 4 })
      if (bytes === undefined) return
      let message: MembershipMessage
      try {
        message = decodeMessage(bytes)
      } catch (err) {
        this.counters.malformed++
        this.logDropped({ from: stream.remotePeer, reason: (err as Error).message }, 'dropped a malformed membership message')
        stream.abort()
        return
      }
      const reply = await this.answer(message, stream.remotePeer)
      if (reply !== undefined) stream.send(encodeMessage(reply))
      await stream.close()
    } catch {
      stream.abort()
    }
  }

  private async answer (message: MembershipMessage, from: string): Promise<MembershipMessage | undefined> {
    this.receive(message, from)
    switch (message.type) {
      case 'ping':
        return { type: 'ack', updates: this.piggyback(from) }
      case 'ping-req': {
        const target = message.target ?? ''
        this.counters.indirectProbes++
        const ok = await this.ping({ peerId: target, addresses: message.targetAddresses ?? [] }, this.timing.probeTimeout)
        return { type: 'ack', ok, updates: this.piggyback(from) }
      }
      case 'sync':
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
    // Having to refute a suspicion means others find us slow: probe more patiently.
    if (table.get(this.net.peerId)?.incarnation !== incarnation) this.awareness = Math.min(MAX_AWARENESS, this.awareness + 1)
    table.heard(from, now)
    const sender = table.get(from)
    if (sender !== undefined && sender.state !== 'alive') {
      // It is talking, so it is not dead: make sure it learns what we think, so it refutes.
      this.broadcasts.push(this.viewOf(sender))
    }
    if (sender?.state === 'alive') this.reconnects.delete(from)
  }

  private handle (outcome: Outcome): void {
    for (const update of outcome.broadcast) this.broadcasts.push(update)
    for (const change of outcome.changes) {
      if (change.type === 'reap') this.reconnects.delete(change.member.peerId)
      logChange(this.log, change.type, change.member, () => this.members().filter((m) => m.state === 'alive').length)
      this.emit(CHANGE_EVENT[change.type], change.member)
    }
  }

  // --- failure detection ---------------------------------------------------------------

  private async probeNext (): Promise<void> {
    const table = this.table
    if (table === undefined) return
    const target = this.nextProbeTarget(table)
    if (target === undefined) return
    this.counters.probes++
    const lagBefore = this.loopLag
    if (await this.ping(target, this.scaled(this.timing.probeTimeout))) {
      table.heard(target.peerId, this.now())
      this.awareness = Math.max(0, this.awareness - 1)
      return
    }
    this.counters.probeFailures++
    if (!this.running) return
    const helpers = shuffle(table.members().filter((m) => !m.self && m.state === 'alive' && m.peerId !== target.peerId))
      .slice(0, this.timing.indirectProbes)
    const answers = await Promise.all(helpers.map(async (helper) => {
      const reply = await this.request(helper, {
        type: 'ping-req', target: target.peerId, targetAddresses: target.addresses, updates: this.piggyback(helper.peerId)
      }, this.scaled(this.timing.indirectProbeTimeout)).catch(() => undefined)
      if (reply !== undefined) this.receive(reply, helper.peerId)
      return reply?.ok === true
    }))
    if (!this.running) return
    if (answers.some(Boolean)) {
      table.heard(target.peerId, this.now())
      return
    }
    // Nobody could reach it, or nobody answered us: either it is gone or we are too slow to
    // tell. A stalled event loop makes every timeout a lie, so then accuse no one.
    this.awareness = Math.min(MAX_AWARENESS, this.awareness + 1)
    if (Math.max(lagBefore, this.loopLag) > this.timing.probeTimeout / 2) return
    const current = table.get(target.peerId)
    if (current?.state === 'alive') this.handle(table.suspect(target.peerId, this.now()))
  }

  private nextProbeTarget (table: MemberTable): Member | undefined {
    while (true) {
      if (this.probeOrder.length === 0) {
        this.probeOrder = shuffle(table.members().filter((m) => !m.self && (m.state === 'alive' || m.state === 'suspect')).map((m) => m.peerId))
        if (this.probeOrder.length === 0) return undefined
      }
      const next = table.get(this.probeOrder.shift() ?? '')
      if (next !== undefined && (next.state === 'alive' || next.state === 'suspect')) return next
    }
  }

  private async ping (target: { peerId: string, addresses: string[] }, timeout: number): Promise<boolean> {
    try {
      const reply = await this.request(target, { type: 'ping', updates: this.piggyback(target.peerId) }, timeout)
      if (reply === undefined) return false
      this.receive(reply, target.peerId)
      return true
    } catch {
      return false
    }
  }

  private tick (): void {
    const table = this.table
    if (table === undefined) return
    const now = this.now()
    this.handle(table.tick(now, { suspicionTimeout: this.timing.suspicionTimeout, reapTimeout: this.timing.reapTimeout }))
    // libp2p 2 does not reconnect after a long partition: redial members we lost, with backoff.
    for (const m of table.members()) {
      if (m.self || m.state !== 'dead') continue
      const entry = this.reconnects.get(m.peerId) ?? { next: now, delay: this.timing.reconnectMinDelay }
      this.reconnects.set(m.peerId, entry)
      if (now < entry.next || this.inFlightSyncs.has(m.peerId)) continue
      entry.next = now + entry.delay
      entry.delay = Math.min(entry.delay * 2, this.timing.reconnectMaxDelay)
      void this.sync(m.peerId, m.addresses).catch(() => {})
    }
  }

  // --- dissemination ---------------------------------------------------------------------

  private async gossip (): Promise<void> {
    const table = this.table
    if (table === undefined || this.broadcasts.size() === 0) return
    const targets = shuffle(table.members().filter((m) => !m.self && m.state === 'alive')).slice(0, this.timing.gossipFanout)
    if (targets.length === 0) return
    const updates = this.broadcasts.take(MAX_PIGGYBACK, table.size())
    await Promise.allSettled(targets.map(async (m) => { await this.send(m, { type: 'gossip', updates }, this.timing.probeTimeout * 2) }))
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
        return { kind: 'alive', peerId: m.peerId, incarnation: m.incarnation, addresses: m.addresses, priority: m.priority, tags: m.tags }
      case 'suspect':
        return { kind: 'suspect', peerId: m.peerId, incarnation: m.incarnation, from: this.net.peerId }
      case 'dead':
        return { kind: 'dead', peerId: m.peerId, incarnation: m.incarnation, from: this.net.peerId }
      case 'left':
        return { kind: 'left', peerId: m.peerId, incarnation: m.incarnation }
    }
  }

  // --- transport -------------------------------------------------------------------------

  private async request (to: { peerId: string, addresses: string[] }, message: MembershipMessage, timeout: number): Promise<MembershipMessage | undefined> {
    const stream = await this.net.openStream(to.peerId, this.protocol, {
      addresses: to.addresses, timeout, maxMessageBytes: MEMBERSHIP_LIMITS.maxMessageBytes
    })
    try {
      stream.send(encodeMessage(message))
      const bytes = await stream.next({ timeout })
      if (bytes === undefined) return undefined
      try {
        return decodeMessage(bytes)
      } catch (err) {
        this.counters.malformed++
        this.logDropped({ from: to.peerId, reason: (err as Error).message }, 'dropped a malformed membership reply')
        throw err
      }
    } finally {
      // The answer is in hand; closing needs the remote's cooperation and must not delay
      // a probe, so it finishes in the background (bounded by the stream's close timeout).
      void stream.close().catch(() => { stream.abort() })
    }
  }

  private async send (to: { peerId: string, addresses: string[] }, message: MembershipMessage, timeout: number): Promise<void> {
    const stream = await this.net.openStream(to.peerId, this.protocol, { addresses: to.addresses, timeout })
    stream.send(encodeMessage(message))
    await stream.close().catch(() => { stream.abort() })
  }

  /** A timeout scaled by local health (Lifeguard): ×1 when healthy, up to ×(1 + MAX_AWARENESS). */
  private scaled (ms: number): number {
    return ms * (1 + this.awareness)
  }

  private watchLoopLag (): void {
    const period = 100
    let expected = Date.now() + period
    let recent: number[] = []
    this.lagWatch = setInterval(() => {
      const now = Date.now()
      recent.push(Math.max(0, now - expected))
      if (recent.length > 10) recent = recent.slice(-10)
      this.loopLag = Math.max(...recent)
      expected = now + period
    }, period)
    this.lagWatch.unref()
  }

  /** Local health for diagnostics: 0 is healthy. */
  health (): { awareness: number, loopLagMs: number } {
    return { awareness: this.awareness, loopLagMs: this.loopLag }
  }

  private every (interval: number, task: () => Promise<void>): void {
    // A slow round is not overlapped by the next one, but a round that hangs (a stream to a
    // peer that vanished mid-request) must not stop the loop: after `stuckAfter` it is
    // abandoned and the loop goes on.
    const index = this.timers.length
    const stuckAfter = Math.max(interval * 10, this.timing.probeTimeout * 10)
    let startedAt: number | undefined
    const run = (): void => {
      if (!this.running) return
      const now = Date.now()
      if (startedAt === undefined || now - startedAt > stuckAfter) {
        const mine = now
        startedAt = mine
        task().catch(() => {}).finally(() => { if (startedAt === mine) startedAt = undefined })
      }
      this.timers[index] = setTimeout(run, jitter(interval))
    }
    this.timers.push(setTimeout(run, jitter(interval)))
  }

  private async nextIncarnation (): Promise<number> {
    if (this.init.dataDir === undefined) return 1
    const path = join(this.init.dataDir, INCARNATION_FILE)
    let previous = 0
    try {
      const parsed: unknown = JSON.parse(await readFile(path, 'utf8'))
      const value = (parsed as { incarnation?: unknown }).incarnation
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) previous = value
    } catch {
      // Missing or unreadable: start at 1; a peer that remembers us newer makes us refute.
    }
    // Never past what the wire carries, or the table would refuse our own incarnation.
    const next = Math.min(previous + 1, MAX_INCARNATION)
    await writeFileDurably(path, new TextEncoder().encode(JSON.stringify({ incarnation: next })), 0o600)
    return next
  }
}

function shuffle<T> (items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const a = items[i] as T
    items[i] = items[j] as T
    items[j] = a
  }
  return items
}

/** ±10% so peers started together do not probe in lockstep. */
function jitter (ms: number): number {
  return Math.max(1, Math.round(ms * (0.9 + Math.random() * 0.2)))
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
