/**
 * The job lease as a pure state machine: acknowledgements and sends in, the fence out, no clock
 * and no I/O. `now` is this peer's monotonic time in ms (performance.now()); only durations
 * cross the wire (an ACK's `prior`), never a clock reading, so peers' clocks are never compared.
 *
 * Two fences, both per term of this peer as coordinator:
 *
 * - Handover (every job). A new coordinator starts its first run once every live member has
 *   acknowledged its claim (it follows us: an old coordinator among them has stepped down and
 *   aborted its runs before its ACK left), or was found unreachable (a crashed process's
 *   connections close with it), or stayed silent for `heartbeatTimeout` since the claim. Once
 *   open it stays open for the term: plain jobs are AP, a coordinator cut off from the rest keeps
 *   running them on its side of a partition.
 *
 * - Quorum (jobs with `quorum: true`). The coordinator holds a lease while a majority of the
 *   known members (self included, dead included, left excluded) acknowledged a heartbeat sent less
 *   than `heartbeatTimeout - margin` ago. A follower supports the coordinator it acknowledged for
 *   `heartbeatTimeout` after it heard it (its own clock); the coordinator's view ends `margin`
 *   earlier and starts from the send, not the receipt, so it runs out strictly before any
 *   supporter's. A follower that switches to a new coordinator tells it in its first ACK how long
 *   its support of the previous one still runs (`prior`), and the new one waits that out before
 *   its first quorum run: two majorities share a member, so two quorum leases never overlap.
 *   "Unreachable" does not cut that wait short: a partitioned coordinator looks the same as a
 *   crashed one, and may still hold its majority.
 *
 * `margin` absorbs clock-rate drift between peers (ppm: a fraction of a ms over a timeout) and
 * the delay between the lease running out and the timer that aborts the runs firing (event-loop
 * lag on a busy machine, tens to hundreds of ms): the service uses one heartbeat interval.
 */

/** What jobs may do now, for this peer's term as coordinator. */
export interface JobLease {
  term: number
  /** Plain jobs may run: the handover fence is open. */
  plain: boolean
  /** Quorum jobs may run: the handover fence is open and a majority lease is held. */
  quorum: boolean
}

export interface LeaseOptions {
  /** How long a follower supports the coordinator after hearing it (ms). */
  heartbeatTimeout: number
  /** How much earlier the coordinator's own view of its lease ends (ms). */
  margin: number
}

/** The members as membership sees them, self excluded. */
export interface LeaseView {
  /** Alive or suspect: the ones that must acknowledge a claim (or be found unreachable). */
  live: readonly string[]
  /** Every member not `left` (dead included): the majority is of these plus self. */
  known: readonly string[]
}

export interface LeaseState {
  lease: JobLease | undefined
  /** The earliest `now` at which `evaluate` may answer differently without any other input. */
  next: number | undefined
}

interface Ack {
  /** When the newest acknowledged claim or heartbeat was sent (our clock). */
  sentAt: number
  /** Until when (our clock) its support of a previous coordinator may still run. */
  priorUntil: number
}

/** How many sends are remembered: acks of older ones renew nothing. */
const SENT_KEPT = 64

export class Lease {
  private readonly options: LeaseOptions
  /** Whom this peer last acknowledged as coordinator, and until when that support runs. */
  private supported: { peerId: string | undefined, until: number } | undefined
  private term: number | undefined
  private claimedAt = 0
  /** Our own support of another coordinator when we claimed: a supporter like any other. */
  private ownPriorUntil = 0
  private readonly sent = new Map<number, number>()
  private readonly acks = new Map<string, Ack>()
  private readonly unreachable = new Set<string>()
  private handedOver = false

  /**
   * `now` is when this peer started: before that it may have supported a coordinator (a restart
   * forgets whom), so it counts as supporting an unknown one for a timeout.
   */
  constructor (options: LeaseOptions, now: number) {
    if (!(options.margin >= 0) || !(options.heartbeatTimeout > options.margin)) {
      throw new RangeError('lease margin must be at least 0 and below heartbeatTimeout')
    }
    this.options = { ...options }
    this.supported = { peerId: undefined, until: now + options.heartbeatTimeout }
  }

  /**
   * This peer acknowledges a claim or heartbeat of `leader`, which it follows. Returns the ACK's
   * `prior`: whole ms its support of another coordinator still runs (0 when none).
   */
  support (leader: string, now: number): number {
    const previous = this.supported
    const prior = previous !== undefined && previous.peerId !== leader ? Math.max(0, Math.ceil(previous.until - now)) : 0
    this.supported = { peerId: leader, until: now + this.options.heartbeatTimeout }
    return prior
  }

  /** This peer claimed `term` as coordinator: both fences start closed. */
  claimed (term: number, now: number): void {
    this.term = term
    this.claimedAt = now
    this.handedOver = false
    this.acks.clear()
    this.unreachable.clear()
    this.sent.clear()
    this.ownPriorUntil = Math.max(this.ownPriorUntil, this.supported?.until ?? 0)
    // While coordinator we support nobody: if we step down, our ACK says prior 0, which is what
    // tells the next coordinator our runs are over.
    this.supported = undefined
  }

  /** This peer is no longer coordinator. */
  steppedDown (): void {
    this.term = undefined
    this.handedOver = false
    this.acks.clear()
    this.unreachable.clear()
    this.sent.clear()
  }

  /** A claim or heartbeat numbered `seq` left for the members at `now`. */
  sentClaim (seq: number, now: number): void {
    if (this.term === undefined) return
    this.sent.set(seq, now)
    if (this.sent.size > SENT_KEPT) {
      const oldest = this.sent.keys().next().value
      if (oldest !== undefined) this.sent.delete(oldest)
    }
  }

  /** `from` acknowledged our claim or heartbeat `seq` of `term`; `prior` ms of other support remain. */
  acked (from: string, term: number, seq: number, prior: number, now: number): void {
    if (term !== this.term || !Number.isFinite(prior) || prior < 0) return
    const sentAt = this.sent.get(seq)
    const before = this.acks.get(from)
    // An ACK of an unknown (or forgotten) send still says "I follow you" but renews nothing.
    const renewed = sentAt === undefined ? before?.sentAt ?? -Infinity : Math.max(sentAt, before?.sentAt ?? -Infinity)
    const priorUntil = Math.max(before?.priorUntil ?? 0, prior > 0 ? now + prior : 0)
    this.acks.set(from, { sentAt: renewed, priorUntil })
    this.unreachable.delete(from)
  }

  /** No message gets through to `peerId` (dialling failed, or its connection closed and could not be reopened). */
  unreachableMember (peerId: string): void {
    if (this.term === undefined || this.acks.has(peerId)) return
    this.unreachable.add(peerId)
  }

  evaluate (view: LeaseView, now: number): LeaseState {
    const term = this.term
    if (term === undefined) return { lease: undefined, next: undefined }
    const next: number[] = []
    if (!this.handedOver) {
      const silentUntil = this.claimedAt + this.options.heartbeatTimeout
      const waiting = view.live.some((p) => !this.acks.has(p) && !this.unreachable.has(p))
      if (!waiting || now >= silentUntil) this.handedOver = true
      else next.push(silentUntil)
    }
    let quorum = false
    if (this.handedOver) {
      const life = this.options.heartbeatTimeout - this.options.margin
      // Self is always a holder; each other known member holds while its newest ACK is fresh.
      const fresh: number[] = []
      let priorUntil = this.ownPriorUntil
      for (const peerId of new Set(view.known)) {
        const ack = this.acks.get(peerId)
        if (ack === undefined) continue
        priorUntil = Math.max(priorUntil, ack.priorUntil)
        if (ack.sentAt + life > now) fresh.push(ack.sentAt + life)
      }
      const members = new Set(view.known).size + 1
      const needed = Math.floor(members / 2) + 1
      fresh.sort((a, b) => b - a)
      // With self counted, the lease holds until the (needed - 1)-th freshest other ACK runs out.
      const holdsUntil = needed - 1 === 0 ? Infinity : fresh[needed - 2] ?? -Infinity
      if (priorUntil > now) next.push(priorUntil)
      quorum = holdsUntil > now && priorUntil <= now
      if (holdsUntil > now && Number.isFinite(holdsUntil)) next.push(holdsUntil)
    }
    return {
      lease: { term, plain: this.handedOver, quorum },
      next: next.length === 0 ? undefined : Math.min(...next)
    }
  }
}
