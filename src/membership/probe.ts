import type { Member, MemberTable, MemberUpdate } from './state.js'
import type { MembershipMessage } from './codec.js'
import type { Target } from './transport.js'
import { MAX_AWARENESS, type MembershipTiming } from './constants.js'
import { shuffle } from './rounds.js'

export interface ProbeComponents {
  timing: MembershipTiming
  now: () => number
  /** The member table; `undefined` before the first start. */
  table: () => MemberTable | undefined
  running: () => boolean
  request: (to: Target, message: MembershipMessage, timeout: number) => Promise<MembershipMessage | undefined>
  /** Applies what a reply carries; its sender is alive. */
  receive: (message: MembershipMessage, from: string) => void
  /** The updates to piggyback on a message to `to`. */
  piggyback: (to: string) => MemberUpdate[]
  /** Suspects a member that neither we nor anyone we asked could reach. */
  suspect: (peerId: string) => void
  /** The longest this peer's timers fired late lately (ms): a stalled event loop. */
  recentLag: () => number
  /** Notes how late a timeout of ours fired. */
  noteLag: (ms: number) => void
}

export interface ProbeStats {
  probes: number
  probeFailures: number
  indirectProbes: number
}

/**
 * SWIM failure detection with Lifeguard's local health: one member probed per round
 * (round-robin in random order), indirect probes through others when it does not answer,
 * and a suspicion only when nobody could reach it and this peer was not too slow to tell.
 */
export class FailureDetector {
  private readonly components: ProbeComponents
  private readonly timing: MembershipTiming
  private probeOrder: string[] = []
  /**
   * Lifeguard's local health: 0 is healthy. It rises when this peer's own probes time out
   * or others suspect it (signs that this process, not the network, is slow) and scales
   * every probe timeout, so a saturated peer stops accusing healthy ones.
   */
  private awareness = 0
  private readonly counters: ProbeStats = { probes: 0, probeFailures: 0, indirectProbes: 0 }

  constructor (components: ProbeComponents) {
    this.components = components
    this.timing = components.timing
  }

  stats (): ProbeStats {
    return { ...this.counters }
  }

  /** Others suspected this peer and it had to refute: they find it slow, so probe more patiently. */
  refuted (): void {
    this.awareness = Math.min(MAX_AWARENESS, this.awareness + 1)
  }

  /**
   * One probe round; `lateBy` is how late the round's timer fired. Probe results are not
   * trusted through a stall of this peer's event loop, which shows as timers firing late: the
   * round's, the probes' own timeouts, and any other of the protocol's within the last second.
   */
  async probeNext (lateBy = 0): Promise<void> {
    const { table: getTable, now, request, receive, piggyback, running } = this.components
    const table = getTable()
    if (table === undefined) return
    const target = this.nextProbeTarget(table)
    if (target === undefined) return
    this.counters.probes++
    const lagBefore = Math.max(lateBy, this.components.recentLag())
    const direct = await this.ping(target, this.scaled(this.timing.probeTimeout))
    if (direct.ok) {
      table.heard(target.peerId, now())
      this.awareness = Math.max(0, this.awareness - 1)
      return
    }
    this.counters.probeFailures++
    if (!running()) return
    const helpers = shuffle(table.members().filter((m) => !m.self && m.state === 'alive' && m.peerId !== target.peerId))
      .slice(0, this.timing.indirectProbes)
    const indirectTimeout = this.scaled(this.timing.indirectProbeTimeout)
    let indirectLate = 0
    const answers = await Promise.all(helpers.map(async (helper) => {
      const sent = Date.now()
      const reply = await request(helper, {
        type: 'ping-req', target: target.peerId, targetAddresses: target.addresses, updates: piggyback(helper.peerId)
      }, indirectTimeout).catch(() => {
        indirectLate = Math.max(indirectLate, lateness(sent, indirectTimeout))
        return undefined
      })
      if (reply !== undefined) receive(reply, helper.peerId)
      return reply?.ok === true
    }))
    if (!running()) return
    if (answers.some(Boolean)) {
      table.heard(target.peerId, now())
      return
    }
    // Nobody could reach it, or nobody answered us: either it is gone or we are too slow to
    // tell. A stalled event loop makes every timeout a lie, so then accuse no one.
    this.awareness = Math.min(MAX_AWARENESS, this.awareness + 1)
    const stall = Math.max(lagBefore, direct.lateBy, indirectLate, this.components.recentLag())
    if (stall > this.timing.probeTimeout / 2) return
    const current = table.get(target.peerId)
    if (current?.state === 'alive') this.components.suspect(target.peerId)
  }

  /** Answers another member's ping-req: probe the target on its behalf. */
  async probeFor (target: Target): Promise<boolean> {
    this.counters.indirectProbes++
    return (await this.ping(target, this.timing.probeTimeout)).ok
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

  /** `lateBy`: for a ping that timed out, how late its timeout fired (ms). */
  private async ping (target: Target, timeout: number): Promise<{ ok: boolean, lateBy: number }> {
    const sent = Date.now()
    try {
      const reply = await this.components.request(target, { type: 'ping', updates: this.components.piggyback(target.peerId) }, timeout)
      if (reply === undefined) return { ok: false, lateBy: 0 }
      this.components.receive(reply, target.peerId)
      return { ok: true, lateBy: 0 }
    } catch {
      const lateBy = lateness(sent, timeout)
      this.components.noteLag(lateBy)
      return { ok: false, lateBy }
    }
  }

  /** A timeout scaled by local health (Lifeguard): ×1 when healthy, up to ×(1 + MAX_AWARENESS). */
  private scaled (ms: number): number {
    return ms * (1 + this.awareness)
  }
}

/**
 * How late a request's timeout fired, judged by when it failed: a failure at or past its
 * timeout came from the timeout timer, and any time past it is a stall of this peer. An earlier
 * failure (refused, closed) says nothing about the event loop.
 */
function lateness (sent: number, timeout: number): number {
  return Math.max(0, Date.now() - sent - timeout)
}
