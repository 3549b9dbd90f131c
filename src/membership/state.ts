/**
 * The membership state machine (SWIM family, after hashicorp/memberlist `state.go`).
 *
 * Pure: no timers, no I/O, no clock. The caller passes `now` (ms) and carries out what an
 * `Outcome` asks for (emit the changes as events, gossip the broadcasts). Every transition
 * lives in this module; each handler is a ladder of guard clauses.
 *
 * Ordering of versions of a member: a higher incarnation always wins. At equal incarnation,
 * alive < suspect < dead < left, and only the member itself can climb back down by
 * announcing itself alive with a higher incarnation (a refutation).
 */
import { InvalidSelfError } from './errors.js'

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

export interface Member {
  peerId: string
  /** multiaddr strings */
  addresses: string[]
  state: MemberState
  incarnation: number
  priority: number
  tags: Record<string, string>
  /** The hearsay version it announces (`0.1.0`); empty when it announces none. */
  version: string
  /** The protocols it speaks, as `<part>/<version>` (`membership/2.0.0`), sorted. */
  protocols: string[]
  /** ms; last time we had evidence of life (message from it or ack) */
  lastHeard: number
  /** ms; when `state` last changed */
  stateSince: number
  self: boolean
}

export type MemberUpdate =
  | {
    kind: 'alive'
    peerId: string
    incarnation: number
    addresses: string[]
    priority: number
    tags: Record<string, string>
    /** Software version; absent or empty from a member that announces none. */
    version?: string
    /** `<part>/<version>` of each protocol it speaks. */
    protocols?: string[]
  }
  | { kind: 'suspect', peerId: string, incarnation: number, from: string }
  | { kind: 'dead', peerId: string, incarnation: number, from: string }
  | { kind: 'left', peerId: string, incarnation: number }

export type MembershipChange =
  /** a new member is alive (first time seen, or back from dead/left) */
  | { type: 'join', member: Member }
  /** went `left` */
  | { type: 'leave', member: Member }
  /** went `dead` */
  | { type: 'fail', member: Member }
  /** anything else visible changed: alive<->suspect, addresses, priority, tags, incarnation */
  | { type: 'update', member: Member }
  /** removed from the table after being dead/left too long */
  | { type: 'reap', member: Member }

export interface Outcome {
  /** in order */
  changes: MembershipChange[]
  /** updates the I/O layer must spread to others (gossip); includes refutations */
  broadcast: MemberUpdate[]
}

export interface SelfInit {
  peerId: string
  addresses: string[]
  priority: number
  tags: Record<string, string>
  incarnation: number
  /** The software version this peer announces. @default '' */
  version?: string
  /** The protocols this peer speaks (`<part>/<version>`). @default [] */
  protocols?: string[]
}

export interface TimingOptions {
  /** How long a member stays `suspect` before we declare it `dead` (ms). */
  suspicionTimeout: number
  /** How long a `dead` or `left` member is kept (and gossiped) before it is forgotten (ms). */
  reapTimeout: number
}

/**
 * The highest incarnation there is: the wire carries it as a uint32, so a larger one would
 * reach other members as a different number (2^32 arrives as 0, and a refutation sent with it
 * would be ignored as stale). Updates above it are ignored, and our own incarnation stops
 * there: an accusation at exactly this incarnation cannot be outbid, which only a forged or
 * corrupted message can cause (a real peer moves up by one per restart or refutation).
 */
export const MAX_INCARNATION = 0xffff_ffff

const UPDATE_KINDS: ReadonlySet<string> = new Set(['alive', 'suspect', 'dead', 'left'])

function emptyOutcome (): Outcome {
  return { changes: [], broadcast: [] }
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isValidIncarnation (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_INCARNATION
}

function isStringArray (value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

function isStringRecord (value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((item) => typeof item === 'string')
}

// Object.fromEntries defines keys such as "__proto__" as own properties instead of
// invoking the prototype setter, so hostile tag names cannot reach Object.prototype.
function copyTags (tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags))
}

function sameStrings (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i])
}

function sameTags (a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length &&
    keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key])
}

function cloneMember (member: Member): Member {
  return { ...member, addresses: [...member.addresses], tags: copyTags(member.tags), protocols: [...member.protocols] }
}

function comparePeerIds (a: { peerId: string }, b: { peerId: string }): number {
  // Code-unit order, not localeCompare: the order must be identical on every machine.
  return a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0
}

/**
 * Checks an update heard from the network and returns a fresh copy holding only the known
 * fields, or `undefined` if it is malformed. The copy means later mutation of the decoded
 * message cannot reach the table, and unknown fields are never gossiped on.
 */
export function sanitizeUpdate (value: unknown): MemberUpdate | undefined {
  if (!isRecord(value)) return undefined
  const { kind, peerId, incarnation } = value
  if (typeof kind !== 'string' || !UPDATE_KINDS.has(kind)) return undefined
  if (typeof peerId !== 'string' || peerId === '') return undefined
  if (!isValidIncarnation(incarnation)) return undefined

  if (kind === 'alive') {
    const { addresses, priority, tags, version, protocols } = value
    if (!isStringArray(addresses)) return undefined
    if (typeof priority !== 'number' || !Number.isFinite(priority)) return undefined
    if (!isStringRecord(tags)) return undefined
    if (version !== undefined && typeof version !== 'string') return undefined
    if (protocols !== undefined && !isStringArray(protocols)) return undefined
    return {
      kind,
      peerId,
      incarnation,
      addresses: [...addresses],
      priority,
      tags: copyTags(tags),
      ...(version === undefined ? {} : { version }),
      ...(protocols === undefined ? {} : { protocols: [...protocols] })
    }
  }
  if (kind === 'left') return { kind, peerId, incarnation }

  const { from } = value
  if (typeof from !== 'string') return undefined
  return kind === 'suspect'
    ? { kind, peerId, incarnation, from }
    : { kind: 'dead', peerId, incarnation, from }
}

// `required` is for SelfInit, where every field must be present; a patch may omit any.
function validateSelfFields (patch: { addresses?: unknown, priority?: unknown, tags?: unknown, version?: unknown, protocols?: unknown }, required: boolean): void {
  if (patch.version !== undefined && typeof patch.version !== 'string') throw new InvalidSelfError('version must be a string')
  if (patch.protocols !== undefined && !isStringArray(patch.protocols)) throw new InvalidSelfError('protocols must be an array of strings')
  if ((required || patch.addresses !== undefined) && !isStringArray(patch.addresses)) {
    throw new InvalidSelfError('addresses must be an array of multiaddr strings')
  }
  if ((required || patch.priority !== undefined) && (typeof patch.priority !== 'number' || !Number.isFinite(patch.priority))) {
    throw new InvalidSelfError('priority must be a finite number')
  }
  if ((required || patch.tags !== undefined) && !isStringRecord(patch.tags)) {
    throw new InvalidSelfError('tags must be an object whose values are all strings')
  }
}

/**
 * One node's view of the membership, itself included. Every method that changes the view
 * returns an `Outcome`; nothing here sends, schedules or logs.
 */
export class MemberTable {
  readonly selfId: string
  private readonly table = new Map<string, Member>()
  /** Our own entry: added in the constructor and never removed (tick skips it), changed in place. */
  private readonly me: Member

  constructor (self: SelfInit, now: number) {
    if (typeof self.peerId !== 'string' || self.peerId === '') {
      throw new InvalidSelfError('peerId must be a non-empty string')
    }
    if (!isValidIncarnation(self.incarnation)) {
      throw new InvalidSelfError(`incarnation must be an integer between 0 and ${MAX_INCARNATION}`)
    }
    validateSelfFields(self, true)
    this.selfId = self.peerId
    this.me = {
      peerId: self.peerId,
      addresses: [...self.addresses],
      state: 'alive',
      incarnation: self.incarnation,
      priority: self.priority,
      tags: copyTags(self.tags),
      version: self.version ?? '',
      protocols: [...(self.protocols ?? [])],
      lastHeard: now,
      stateSince: now,
      self: true
    }
    this.table.set(self.peerId, this.me)
  }

  get (peerId: string): Member | undefined {
    const member = this.table.get(peerId)
    return member === undefined ? undefined : cloneMember(member)
  }

  members (): Member[] {
    return this.sorted().map(cloneMember)
  }

  size (): number {
    return this.table.size
  }

  /** An update heard from the network (gossip, push-pull, probe piggyback). Never throws. */
  apply (update: MemberUpdate, now: number): Outcome {
    const clean = sanitizeUpdate(update)
    if (clean === undefined) return emptyOutcome()
    switch (clean.kind) {
      case 'alive': return this.applyAlive(clean, now)
      case 'suspect': return this.applySuspect(clean, now)
      case 'dead': return this.applyDead(clean, now)
      case 'left': return this.applyLeft(clean, now)
    }
  }

  /** Direct evidence of life (an ack, any message from it). Never changes state. */
  heard (peerId: string, now: number): void {
    const member = this.table.get(peerId)
    if (member === undefined || !Number.isFinite(now)) return
    // Messages can be handled out of order; lastHeard must not go back in time.
    member.lastHeard = Math.max(member.lastHeard, now)
  }

  /** The local failure detector gave up on a member (direct and indirect probes failed). */
  suspect (peerId: string, now: number): Outcome {
    const member = this.table.get(peerId)
    if (member === undefined || member.self || member.state !== 'alive') return emptyOutcome()
    return this.apply({ kind: 'suspect', peerId, incarnation: member.incarnation, from: this.selfId }, now)
  }

  /** Suspects past `suspicionTimeout` become dead; dead/left past `reapTimeout` are forgotten. */
  tick (now: number, timing: TimingOptions): Outcome {
    const outcome = emptyOutcome()
    for (const member of this.sorted()) {
      if (member.self) continue
      if (member.state === 'suspect' && member.stateSince + timing.suspicionTimeout <= now) {
        const declared = this.apply({ kind: 'dead', peerId: member.peerId, incarnation: member.incarnation, from: this.selfId }, now)
        outcome.changes.push(...declared.changes)
        outcome.broadcast.push(...declared.broadcast)
      }
      if ((member.state === 'dead' || member.state === 'left') && member.stateSince + timing.reapTimeout <= now) {
        this.table.delete(member.peerId)
        outcome.changes.push({ type: 'reap', member: cloneMember(member) })
      }
    }
    return outcome
  }

  /**
   * The earliest `now` at which `tick` has something to do (a suspicion to expire, a member to
   * forget), or undefined when nothing is pending: the I/O layer sleeps until then.
   */
  nextDeadline (timing: TimingOptions): number | undefined {
    let next: number | undefined
    for (const member of this.table.values()) {
      if (member.self) continue
      const at = member.state === 'suspect'
        ? member.stateSince + timing.suspicionTimeout
        : member.state === 'dead' || member.state === 'left' ? member.stateSince + timing.reapTimeout : undefined
      if (at !== undefined && (next === undefined || at < next)) next = at
    }
    return next
  }

  /** Graceful stop: we become `left` at our current incarnation. Idempotent. */
  leave (now: number): Outcome {
    const self = this.self()
    if (self.state === 'left') return emptyOutcome()
    self.state = 'left'
    self.stateSince = now
    return {
      changes: [{ type: 'leave', member: cloneMember(self) }],
      broadcast: [{ kind: 'left', peerId: self.peerId, incarnation: self.incarnation }]
    }
  }

  /**
   * Change what we advertise. Always bumps our incarnation, since other members only accept
   * new addresses, priority or tags with a higher one. Throws `InvalidSelfError` on bad
   * values; does nothing once we have left.
   */
  updateSelf (patch: { addresses?: string[], priority?: number, tags?: Record<string, string> }, now: number): Outcome {
    validateSelfFields(patch, false)
    const self = this.self()
    if (self.state === 'left') return emptyOutcome()
    if (patch.addresses !== undefined) self.addresses = [...patch.addresses]
    if (patch.priority !== undefined) self.priority = patch.priority
    if (patch.tags !== undefined) self.tags = copyTags(patch.tags)
    // Saturates instead of leaving what the wire carries; 2^32 bumps are not a practical concern.
    self.incarnation = Math.min(self.incarnation + 1, MAX_INCARNATION)
    self.lastHeard = Math.max(self.lastHeard, now)
    return { changes: [{ type: 'update', member: cloneMember(self) }], broadcast: [this.selfAlive()] }
  }

  /** The whole view, one update per member (self included), for push-pull state sync. */
  snapshot (): MemberUpdate[] {
    return this.sorted().map((member) => this.toUpdate(member))
  }

  private applyAlive (update: Extract<MemberUpdate, { kind: 'alive' }>, now: number): Outcome {
    const member = this.table.get(update.peerId)
    if (member === undefined) {
      const added: Member = {
        peerId: update.peerId,
        addresses: [...update.addresses],
        state: 'alive',
        incarnation: update.incarnation,
        priority: update.priority,
        tags: copyTags(update.tags),
        version: update.version ?? '',
        protocols: [...(update.protocols ?? [])],
        lastHeard: now,
        stateSince: now,
        self: false
      }
      this.table.set(added.peerId, added)
      return { changes: [{ type: 'join', member: cloneMember(added) }], broadcast: [update] }
    }
    if (member.self) return this.aliveAboutSelf(member, update, now)
    // Equal incarnation changes nothing: fields may only change with a higher incarnation,
    // and a suspect/dead/left member must refute with a higher one.
    if (update.incarnation <= member.incarnation) return emptyOutcome()

    const previous = member.state
    member.incarnation = update.incarnation
    member.addresses = [...update.addresses]
    member.priority = update.priority
    member.tags = copyTags(update.tags)
    member.version = update.version ?? ''
    member.protocols = [...(update.protocols ?? [])]
    if (previous !== 'alive') {
      member.state = 'alive'
      member.stateSince = now
    }
    const type = previous === 'dead' || previous === 'left' ? 'join' : 'update'
    return { changes: [{ type, member: cloneMember(member) }], broadcast: [update] }
  }

  private aliveAboutSelf (self: Member, update: Extract<MemberUpdate, { kind: 'alive' }>, now: number): Outcome {
    if (self.state === 'left') return emptyOutcome()
    if (update.incarnation < self.incarnation) return emptyOutcome()
    // Same incarnation with a different advertisement comes from a previous life of this
    // PeerId (restarted with the same incarnation): others would keep the old addresses
    // forever, since equal incarnations never replace fields, so we must outbid it.
    if (update.incarnation === self.incarnation &&
      sameStrings(update.addresses, self.addresses) &&
      update.priority === self.priority &&
      sameTags(update.tags, self.tags) &&
      (update.version ?? '') === self.version &&
      sameStrings(update.protocols ?? [], self.protocols)) {
      return emptyOutcome()
    }
    return this.refute(update.incarnation, now)
  }

  private applySuspect (update: Extract<MemberUpdate, { kind: 'suspect' }>, now: number): Outcome {
    const member = this.table.get(update.peerId)
    // Without addresses a suspect cannot introduce a member we have never seen.
    if (member === undefined) return emptyOutcome()
    if (update.incarnation < member.incarnation) return emptyOutcome()
    if (member.self) return member.state === 'left' ? emptyOutcome() : this.refute(update.incarnation, now)
    if (member.state === 'suspect') {
      // Keeps the incarnation moving up without restarting the suspicion timer.
      member.incarnation = update.incarnation
      return emptyOutcome()
    }
    // A dead or left member comes back only by announcing itself alive.
    if (member.state !== 'alive') return emptyOutcome()

    member.state = 'suspect'
    member.incarnation = update.incarnation
    member.stateSince = now
    return { changes: [{ type: 'update', member: cloneMember(member) }], broadcast: [update] }
  }

  private applyDead (update: Extract<MemberUpdate, { kind: 'dead' }>, now: number): Outcome {
    const member = this.table.get(update.peerId)
    if (member === undefined) return emptyOutcome()
    if (update.incarnation < member.incarnation) return emptyOutcome()
    if (member.self) return member.state === 'left' ? emptyOutcome() : this.refute(update.incarnation, now)
    if (member.state === 'dead' || member.state === 'left') return emptyOutcome()

    member.state = 'dead'
    member.incarnation = update.incarnation
    member.stateSince = now
    return { changes: [{ type: 'fail', member: cloneMember(member) }], broadcast: [update] }
  }

  private applyLeft (update: Extract<MemberUpdate, { kind: 'left' }>, now: number): Outcome {
    const member = this.table.get(update.peerId)
    if (member === undefined) return emptyOutcome()
    if (update.incarnation < member.incarnation) return emptyOutcome()
    // Someone says we left while we are running: a stale or forged claim, refute it.
    if (member.self) return member.state === 'left' ? emptyOutcome() : this.refute(update.incarnation, now)
    if (member.state === 'left') return emptyOutcome()

    member.state = 'left'
    member.incarnation = update.incarnation
    member.stateSince = now
    return { changes: [{ type: 'leave', member: cloneMember(member) }], broadcast: [update] }
  }

  /** Outbid a claim about ourselves at `incarnation` by announcing ourselves alive above it. */
  private refute (incarnation: number, now: number): Outcome {
    const self = this.self()
    self.incarnation = Math.min(Math.max(self.incarnation, incarnation) + 1, MAX_INCARNATION)
    self.lastHeard = Math.max(self.lastHeard, now)
    return { changes: [{ type: 'update', member: cloneMember(self) }], broadcast: [this.selfAlive()] }
  }

  private self (): Member {
    return this.me
  }

  private selfAlive (): MemberUpdate {
    return this.toUpdate(this.self())
  }

  private sorted (): Member[] {
    return [...this.table.values()].sort(comparePeerIds)
  }

  private toUpdate (member: Member): MemberUpdate {
    const { peerId, incarnation } = member
    switch (member.state) {
      case 'alive':
        return {
          kind: 'alive',
          peerId,
          incarnation,
          addresses: [...member.addresses],
          priority: member.priority,
          tags: copyTags(member.tags),
          // Absent rather than empty when unknown, as a member that predates them sends it.
          ...(member.version === '' ? {} : { version: member.version }),
          ...(member.protocols.length === 0 ? {} : { protocols: [...member.protocols] })
        }
      case 'suspect':
        return { kind: 'suspect', peerId, incarnation, from: this.selfId }
      case 'dead':
        return { kind: 'dead', peerId, incarnation, from: this.selfId }
      case 'left':
        return { kind: 'left', peerId, incarnation }
    }
  }
}
