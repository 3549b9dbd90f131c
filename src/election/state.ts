/**
 * The bully election as a pure state machine: inputs in, messages out, no clock and no I/O.
 *
 * The I/O layer feeds it membership, received messages and timer ticks (each with `now`, in ms),
 * and for every returned step: persists `term()` first when `termChanged` (a message carrying the
 * new term must never leave before the term is durable, or a restart could reuse it), then sends
 * `send`, then emits a `leader` event when `leaderChanged`. Keeping every transition here, and
 * only here, is what lets one test per transition and a seeded simulation cover all of it.
 *
 * Live members are the ones membership has not declared `dead` or `left` (a `suspect` member is
 * still live: dropping it would start an election on every false suspicion; a silent coordinator
 * is caught by the heartbeat timeout instead). Messages from peers not in the live set are
 * ignored, because their rank is unknown.
 *
 * Terms. `term()` is the highest term this peer has seen in any message or claimed itself. A
 * coordinator always claims a term above every term it has seen, so the term is a fencing token:
 * once a peer has seen term T it never accepts a coordinator with a lower one, and a coordinator
 * that learns of a term above its own claims again above it.
 *
 * Rank. Higher priority wins; between equal priorities the greater PeerId (plain UTF-16 string
 * comparison, not locale-aware, so every peer orders the same way) wins.
 */

import { MAX_TERM, type ElectionOptions } from './constants.js'
import { InvalidElectionInitError } from './errors.js'
import { validateElectionOptions } from './options.js'

/** A live member as membership sees it. */
export interface Candidate {
  peerId: string
  priority: number
}

/** The four election messages. Every one carries the sender's `term()` when it was sent. */
export type ElectionMessage =
  /** "I am starting an election": sent to every higher-ranked live member. */
  | { type: 'election', term: number, from: string }
  /** "I outrank you, back off": reply to an ELECTION from a lower-ranked member. */
  | { type: 'answer', term: number, from: string }
  /** "I am the coordinator for this term": sent to all live members on taking over, and as a reply. */
  | { type: 'coordinator', term: number, from: string, seq?: number }
  /** Coordinator liveness, sent to all live members every `heartbeatInterval`. */
  | { type: 'heartbeat', term: number, from: string, seq?: number }
  /** A follower acknowledging claim or heartbeat `seq`: the job lease's input (lease.ts); the bully machine ignores it. */
  | { type: 'ack', term: number, from: string, seq: number, prior: number }

/** The bully algorithm's own messages (an ACK belongs to the job lease, lease.ts). */
export type ElectionMessageType = Exclude<ElectionMessage['type'], 'ack'>

export type { ElectionOptions } from './constants.js'
export { validateElectionOptions }

export interface Outbound {
  to: string
  message: ElectionMessage
}

export type Role = 'follower' | 'candidate' | 'coordinator'

export interface Leader {
  peerId: string
  term: number
}

/** What one input produced. */
export interface Step {
  /** Messages to send, in order. */
  send: Outbound[]
  /** `leader()` differs (peer or term) from before the input: emit a `leader` event. */
  leaderChanged: boolean
  /** `term()` grew: persist it before sending `send`, so a restart never goes back. */
  termChanged: boolean
}

/** What the pure machine starts from (the service's options are `ElectionInit`). */
export interface ElectionMachineInit {
  selfId: string
  priority: number
  /** The highest term this peer persisted before; 0 for a new peer. */
  term: number
  options: ElectionOptions
}

/** True when `a` wins an election against `b`. */
export function outranks (a: Candidate, b: Candidate): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority
  return a.peerId > b.peerId
}

/** Sort comparator: negative when `a` outranks `b`, so sorting puts the winner first. */
export function compareRank (a: Candidate, b: Candidate): number {
  if (a.peerId === b.peerId && a.priority === b.priority) return 0
  return outranks(a, b) ? -1 : 1
}

function isTerm (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

type Phase =
  /** Not started, or stopped: no leader, ignores everything but `start`. */
  | { role: 'idle' }
  /** Follows a higher-ranked coordinator, and suspects it after `heartbeatTimeout` of silence. */
  | { role: 'follower', leader: Leader, lastHeard: number }
  /**
   * Running an election. `answer`: waiting for any higher-ranked member to object, until
   * `deadline`. `coordinator`: one did; waiting for someone's COORDINATOR, until `deadline`.
   */
  | { role: 'candidate', waiting: 'answer' | 'coordinator', deadline: number, asked: Set<string> }
  /** Leading for `term`; the next heartbeat is due at `nextHeartbeat`. */
  | { role: 'coordinator', term: number, nextHeartbeat: number }

export class Election {
  private readonly self: Candidate
  private readonly options: ElectionOptions
  private highestTerm: number
  /** Live members other than self, by PeerId, with their priority. */
  private readonly members = new Map<string, number>()
  private phase: Phase = { role: 'idle' }
  private outbox: Outbound[] = []

  constructor (init: ElectionMachineInit, now: number) {
    if (typeof init.selfId !== 'string' || init.selfId === '') {
      throw new InvalidElectionInitError('election selfId must be a non-empty PeerId string')
    }
    if (typeof init.priority !== 'number' || !Number.isFinite(init.priority)) {
      throw new InvalidElectionInitError(`election priority must be a finite number, got ${String(init.priority)}`)
    }
    if (!isTerm(init.term) || init.term > MAX_TERM) {
      throw new InvalidElectionInitError(`persisted election term must be an integer from 0 to ${MAX_TERM}, got ${String(init.term)}`)
    }
    validateElectionOptions(init.options)
    this.self = { peerId: init.selfId, priority: init.priority }
    this.options = { ...init.options }
    this.highestTerm = init.term
    // `now` is taken for symmetry with the other inputs: an idle peer has no timers yet.
    void now
  }

  /** The coordinator this peer follows or is, with its term; undefined while electing or stopped. */
  leader (): Leader | undefined {
    switch (this.phase.role) {
      case 'follower': return { ...this.phase.leader }
      case 'coordinator': return { peerId: this.self.peerId, term: this.phase.term }
      default: return undefined
    }
  }

  /** Highest term seen or claimed; never decreases. */
  term (): number {
    return this.highestTerm
  }

  /** Not started and stopped peers report `follower` (with no leader). */
  role (): Role {
    return this.phase.role === 'idle' ? 'follower' : this.phase.role
  }

  /**
   * The earliest `now` at which `tick` has something to do, or undefined when stopped. The I/O
   * layer may arm one timer for it, or simply tick on a fixed short interval.
   */
  nextDeadline (): number | undefined {
    const p = this.phase
    switch (p.role) {
      case 'follower': return p.lastHeard + this.options.heartbeatTimeout
      case 'candidate': return p.deadline
      case 'coordinator': return p.nextHeartbeat
      default: return undefined
    }
  }

  /**
   * Begin taking part: an election starts at once. A lower-ranked peer starting next to a
   * working coordinator does not disturb it: followers only ANSWER it and the coordinator
   * re-asserts itself. With no higher-ranked member known (including when membership has not
   * found anyone yet) the peer declares itself coordinator of what it can see; a better
   * coordinator, once membership shows it, takes over by term and rank. Calling `start` on a
   * running election does nothing.
   *
   * `members` may include self; it is ignored (as in `membersChanged`).
   */
  start (members: Candidate[], now: number): Step {
    return this.step(() => {
      if (this.phase.role !== 'idle') return
      this.setMembers(members)
      this.startElection(now)
    })
  }

  /**
   * The full current set of live members. Self may be included; it is ignored. Reacts to the
   * coordinator leaving (election), to a higher-ranked member leaving or joining mid-election,
   * and as coordinator greets newly seen members with COORDINATOR so they learn the term.
   */
  membersChanged (members: Candidate[], now: number): Step {
    return this.step(() => {
      const added = this.setMembers(members)
      const p = this.phase
      switch (p.role) {
        case 'idle':
          return
        case 'follower':
          if (!this.members.has(p.leader.peerId)) this.startElection(now)
          return
        case 'coordinator':
          for (const peerId of added) this.sendTo(peerId, 'coordinator', p.term)
          return
        case 'candidate': {
          const higher = this.higherMembers()
          // Nobody left who could object or take over: waiting for them is pointless.
          if (higher.length === 0) {
            this.startElection(now)
            return
          }
          if (p.waiting !== 'answer') return
          // Ask newcomers too, but keep the deadline: restarting on every change would flap.
          for (const peerId of higher) {
            if (p.asked.has(peerId)) continue
            p.asked.add(peerId)
            this.sendTo(peerId, 'election', this.highestTerm)
          }
        }
      }
    })
  }

  receive (message: ElectionMessage, now: number): Step {
    return this.step(() => {
      if (this.phase.role === 'idle') return
      if (message.from === this.self.peerId) return
      if (!isTerm(message.term) || message.term > MAX_TERM) return
      const priority = this.members.get(message.from)
      // Membership is the source of truth for who is alive and how they rank; a peer it does not
      // list yet will be heard again (heartbeats repeat, elections are retried).
      if (priority === undefined) return
      const sender: Candidate = { peerId: message.from, priority }
      switch (message.type) {
        case 'election':
          this.onElection(sender, message.term, now)
          break
        case 'answer':
          this.onAnswer(sender, message.term, now)
          break
        case 'coordinator':
        case 'heartbeat':
          this.onClaim(sender, message.term, now)
          break
        case 'ack':
          return
      }
      // A coordinator whose term was overtaken (by an ELECTION or ANSWER carrying a higher one)
      // claims again above it, or its fencing token would be older than one already in use.
      const p = this.phase
      if (p.role === 'coordinator' && p.term < this.highestTerm) this.startElection(now)
    })
  }

  tick (now: number): Step {
    return this.step(() => {
      const p = this.phase
      switch (p.role) {
        case 'idle':
          return
        case 'follower':
          if (now - p.lastHeard >= this.options.heartbeatTimeout) this.startElection(now)
          return
        case 'candidate':
          if (now < p.deadline) return
          if (p.waiting === 'answer') this.becomeCoordinator(now)
          else this.startElection(now)
          return
        case 'coordinator':
          if (now < p.nextHeartbeat) return
          this.broadcast('heartbeat', p.term)
          // From now, not from the missed due time: a late tick must not cause a burst.
          p.nextHeartbeat = now + this.options.heartbeatInterval
      }
    })
  }

  /**
   * `peerId` cannot be reached at all: a message to it found no way through (no connection
   * could be opened), or its connection closed and could not be reopened. This is firmer than
   * silence, so it acts before the timeouts would: a follower whose coordinator it is starts an
   * election at once, and a candidate stops waiting for that member's ANSWER (taking over when
   * nobody it asked is left). A peer that is in fact alive is heard again and, if it outranks
   * the new coordinator, claims back above its term: the bully algorithm's usual repair.
   */
  unreachable (peerId: string, now: number): Step {
    return this.step(() => {
      const p = this.phase
      switch (p.role) {
        case 'follower':
          if (p.leader.peerId === peerId) this.startElection(now)
          return
        case 'candidate':
          if (p.waiting !== 'answer' || !p.asked.delete(peerId)) return
          if (p.asked.size === 0) this.becomeCoordinator(now)
          return
        default:
      }
    })
  }

  /**
   * Step down because this peer is stopping: leader becomes undefined, nothing is sent (peers
   * learn from membership that we left). The term is kept; `start` may be called again.
   */
  stop (now: number): Step {
    void now
    return this.step(() => {
      this.phase = { role: 'idle' }
    })
  }

  /** ELECTION from `sender`: answer it if we outrank it, and make sure someone above it leads. */
  private onElection (sender: Candidate, term: number, now: number): void {
    this.observe(term)
    // A higher-ranked peer does not need our permission; its own view will sort it out.
    if (!outranks(this.self, sender)) return
    this.sendTo(sender.peerId, 'answer', this.highestTerm)
    const p = this.phase
    switch (p.role) {
      case 'coordinator':
        // Re-assert so the sender stops at once. If its term beat ours, `receive` claims again
        // above it instead, and that claim reaches the sender too.
        if (p.term >= this.highestTerm) this.sendTo(sender.peerId, 'coordinator', p.term)
        return
      case 'candidate':
        // Already electing: a second ELECTION must not restart our timers.
        return
      case 'follower':
        // Our coordinator is alive and current: it received the same ELECTION (the sender asks
        // every higher-ranked member) and re-asserts. Starting our own election here would make
        // every join ripple through all the followers above the joiner.
        if (this.leaderIsLive(p, now) && p.leader.term >= this.highestTerm) return
        this.startElection(now)
    }
  }

  /** ANSWER from `sender`: a higher-ranked member is alive, so wait for its COORDINATOR. */
  private onAnswer (sender: Candidate, term: number, now: number): void {
    this.observe(term)
    const p = this.phase
    if (p.role !== 'candidate') return
    // Later answers must not extend the wait, or a chatty peer could stall the election forever.
    if (p.waiting !== 'answer') return
    if (!outranks(sender, this.self)) return
    this.phase = { role: 'candidate', waiting: 'coordinator', deadline: now + this.options.coordinatorTimeout, asked: p.asked }
  }

  /** COORDINATOR or heartbeat from `sender`: someone claims to lead for `term`. */
  private onClaim (sender: Candidate, term: number, now: number): void {
    const p = this.phase
    if (term < this.highestTerm) {
      // Stale claim from a deposed or partitioned coordinator. As coordinator we tell it about
      // our newer term so it steps down; anyone else just ignores it.
      if (p.role === 'coordinator') this.sendTo(sender.peerId, 'coordinator', p.term)
      return
    }
    const newer = term > this.highestTerm
    this.observe(term)
    switch (p.role) {
      case 'idle':
        return
      case 'coordinator':
        if (!outranks(sender, this.self)) {
          // A lower-ranked usurper with an equal or higher term while we are alive: claim again
          // above it (a new election), so the highest-ranked member leads with a unique term.
          this.startElection(now)
          return
        }
        if (newer) {
          this.follow(sender, term, now)
          return
        }
        // Same term, higher-ranked rival: our claim makes it claim again above the tie (it
        // treats us as a lower-ranked usurper), and that newer claim is what we step down for.
        this.sendTo(sender.peerId, 'coordinator', p.term)
        return
      case 'candidate':
        if (outranks(sender, this.self)) this.follow(sender, term, now)
        // A lower-ranked claim needs nothing: our own election will claim a higher term.
        return
      case 'follower': {
        if (p.leader.peerId === sender.peerId) {
          p.leader = { peerId: sender.peerId, term }
          p.lastHeard = now
          return
        }
        const leaderPriority = this.members.get(p.leader.peerId)
        if (leaderPriority !== undefined && this.leaderIsLive(p, now)) {
          const current: Candidate = { peerId: p.leader.peerId, priority: leaderPriority }
          if (outranks(sender, current) && term > p.leader.term) this.follow(sender, term, now)
          // Otherwise our live coordinator outranks the claimant, or ties its term: it hears the
          // same claim and answers it by claiming a higher term, which we then follow. Switching
          // now would make every follower change leader twice. If our coordinator is in fact
          // gone, its heartbeats stop (or are now stale) and the heartbeat timeout moves us.
          return
        }
        if (outranks(sender, this.self)) this.follow(sender, term, now)
        else this.startElection(now)
      }
    }
  }

  /** Ask every higher-ranked member; with none, take over at once. */
  private startElection (now: number): void {
    const higher = this.higherMembers()
    if (higher.length === 0) {
      this.becomeCoordinator(now)
      return
    }
    for (const peerId of higher) this.sendTo(peerId, 'election', this.highestTerm)
    this.phase = { role: 'candidate', waiting: 'answer', deadline: now + this.options.answerTimeout, asked: new Set(higher) }
  }

  private becomeCoordinator (now: number): void {
    // Stops at MAX_TERM, which only a forged or corrupted claim gets near: a term above it
    // would be ignored by every peer.
    this.highestTerm = Math.min(this.highestTerm + 1, MAX_TERM)
    this.phase = { role: 'coordinator', term: this.highestTerm, nextHeartbeat: now + this.options.heartbeatInterval }
    this.broadcast('coordinator', this.highestTerm)
  }

  private follow (sender: Candidate, term: number, now: number): void {
    this.phase = { role: 'follower', leader: { peerId: sender.peerId, term }, lastHeard: now }
  }

  private leaderIsLive (p: { lastHeard: number }, now: number): boolean {
    return now - p.lastHeard < this.options.heartbeatTimeout
  }

  private observe (term: number): void {
    if (term > this.highestTerm) this.highestTerm = term
  }

  /** Members that outrank self, best first. */
  private higherMembers (): string[] {
    const higher: Candidate[] = []
    for (const [peerId, priority] of this.members) {
      const member = { peerId, priority }
      if (outranks(member, this.self)) higher.push(member)
    }
    return higher.sort(compareRank).map((member) => member.peerId)
  }

  /** Replace the member set; returns the PeerIds that were not in it before. */
  private setMembers (members: Candidate[]): string[] {
    const previous = new Set(this.members.keys())
    this.members.clear()
    for (const member of members) {
      if (member.peerId === this.self.peerId) continue
      if (typeof member.priority !== 'number' || !Number.isFinite(member.priority)) continue
      this.members.set(member.peerId, member.priority)
    }
    const added: string[] = []
    for (const peerId of this.members.keys()) {
      if (!previous.has(peerId)) added.push(peerId)
    }
    return added
  }

  private sendTo (to: string, type: ElectionMessageType, term: number): void {
    this.outbox.push({ to, message: { type, term, from: this.self.peerId } })
  }

  private broadcast (type: ElectionMessageType, term: number): void {
    for (const peerId of this.members.keys()) this.sendTo(peerId, type, term)
  }

  /** Run one input, collecting what it sent and whether leader or term moved. */
  private step (input: () => void): Step {
    const leaderBefore = this.leader()
    const termBefore = this.highestTerm
    this.outbox = []
    input()
    const send = this.outbox
    this.outbox = []
    const leaderAfter = this.leader()
    return {
      send,
      leaderChanged: leaderBefore?.peerId !== leaderAfter?.peerId || leaderBefore?.term !== leaderAfter?.term,
      termChanged: this.highestTerm !== termBefore
    }
  }
}
