/**
 * A deterministic discrete-event simulator for the election state machine: simulated time, a
 * message network with delays, drops and partitions, crashes and restarts that keep the persisted
 * term, and membership views that follow connectivity with a lag. Every random choice comes from
 * one seeded PRNG, so a failing run replays exactly from its seed.
 */

import { Election, outranks } from '../../src/election/state.js'
import type { Candidate, ElectionMessage, ElectionOptions, Leader, Step } from '../../src/election/state.js'

/** mulberry32: small, fast, and good enough to drive a simulation. */
export function mulberry32 (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export class Rng {
  private readonly next: () => number

  constructor (seed: number) {
    this.next = mulberry32(seed)
  }

  float (): number {
    return this.next()
  }

  /** Integer in [min, max], both included. */
  int (min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  chance (p: number): boolean {
    return this.next() < p
  }

  pick<T> (items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)]
    if (item === undefined) throw new Error('pick from an empty list')
    return item
  }
}

interface Scheduled {
  at: number
  seq: number
  run: () => void
}

/** Binary min-heap on (at, seq): equal times run in the order they were scheduled. */
class EventQueue {
  private readonly heap: Scheduled[] = []
  private seq = 0

  get size (): number {
    return this.heap.length
  }

  push (at: number, run: () => void): void {
    this.heap.push({ at, seq: this.seq++, run })
    let i = this.heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  peekTime (): number | undefined {
    return this.heap[0]?.at
  }

  pop (): Scheduled | undefined {
    const top = this.heap[0]
    const last = this.heap.pop()
    if (top === undefined || last === undefined) return undefined
    if (this.heap.length > 0) {
      this.heap[0] = last
      let i = 0
      for (;;) {
        const left = i * 2 + 1
        const right = left + 1
        let best = i
        if (left < this.heap.length && this.before(left, best)) best = left
        if (right < this.heap.length && this.before(right, best)) best = right
        if (best === i) break
        this.swap(i, best)
        i = best
      }
    }
    return top
  }

  private before (i: number, j: number): boolean {
    const x = this.heap[i]
    const y = this.heap[j]
    if (x === undefined || y === undefined) return false
    return x.at < y.at || (x.at === y.at && x.seq < y.seq)
  }

  private swap (i: number, j: number): void {
    const x = this.heap[i]
    const y = this.heap[j]
    if (x === undefined || y === undefined) return
    this.heap[i] = y
    this.heap[j] = x
  }
}

export interface SimNode extends Candidate {
  index: number
  /** Undefined while the node is down. */
  election: Election | undefined
  /** Bumped on every crash or stop, so messages and timers of a past life are dropped. */
  incarnation: number
  /** What the I/O layer would have written to disk. */
  persistedTerm: number
  /** Highest `term()` ever observed on this node, across restarts. */
  maxTerm: number
  /** Membership last reported to the current incarnation, as a sorted key. */
  reportedMembers: string
  leaderChanges: number
  termChanges: number
  /** Successive distinct leader PeerIds this node followed (undefined gaps skipped). */
  leaderHistory: string[]
}

export interface NetworkConditions {
  dropRate: number
  minDelay: number
  maxDelay: number
}

export interface SimulationInit {
  size: number
  options: ElectionOptions
  /** Priority per node; random in [0, 2] (so ties are common) when absent. */
  priorities?: number[]
  /** Longest lag between a connectivity change and a node's membership reporting it (ms). */
  membershipLag?: number
  /** How often each node's I/O layer calls `tick` (ms). */
  tickInterval?: number
}

export class Simulation {
  now = 0
  readonly nodes: SimNode[]
  readonly rng: Rng
  conditions: NetworkConditions = { dropRate: 0, minDelay: 1, maxDelay: 20 }
  /** Broken invariants seen while running (terms going back, unreported term changes). */
  readonly violations: string[] = []
  /** Time of the last leader change on any node. */
  lastLeaderChangeAt = 0
  private readonly options: ElectionOptions
  private readonly membershipLag: number
  private readonly tickInterval: number
  private readonly group: number[]
  private readonly queue = new EventQueue()
  private readonly traceLines: string[] = []
  private readonly traceLimit = 400

  constructor (seed: number, init: SimulationInit) {
    this.rng = new Rng(seed)
    this.options = init.options
    this.membershipLag = init.membershipLag ?? 300
    this.tickInterval = init.tickInterval ?? 25
    const ids = new Set<string>()
    while (ids.size < init.size) ids.add(`peer-${this.rng.int(0, 0xffff).toString(16).padStart(4, '0')}`)
    this.nodes = [...ids].map((peerId, index) => ({
      peerId,
      priority: init.priorities?.[index] ?? this.rng.int(0, 2),
      index,
      election: undefined,
      incarnation: 0,
      persistedTerm: 0,
      maxTerm: 0,
      reportedMembers: '',
      leaderChanges: 0,
      termChanges: 0,
      leaderHistory: []
    }))
    this.group = this.nodes.map(() => 0)
  }

  /** Every node starts at time `now`; some already know their reachable peers, some not yet. */
  startAll (): void {
    for (const node of this.nodes) this.restart(node.index, this.rng.chance(0.5))
  }

  isUp (index: number): boolean {
    return this.nodes[index]?.election !== undefined
  }

  upNodes (): SimNode[] {
    return this.nodes.filter((node) => node.election !== undefined)
  }

  connected (x: SimNode, y: SimNode): boolean {
    return x.election !== undefined && y.election !== undefined && this.group[x.index] === this.group[y.index]
  }

  /** Live nodes grouped by who can reach whom. */
  components (): SimNode[][] {
    const byGroup = new Map<number, SimNode[]>()
    for (const node of this.upNodes()) {
      const g = this.group[node.index] ?? 0
      const list = byGroup.get(g) ?? []
      list.push(node)
      byGroup.set(g, list)
    }
    return [...byGroup.values()]
  }

  /** Run every event due up to and including `until`, then stand at `until`. */
  runUntil (until: number): void {
    for (;;) {
      const at = this.queue.peekTime()
      if (at === undefined || at > until) break
      const event = this.queue.pop()
      if (event === undefined) break
      this.now = event.at
      event.run()
    }
    this.now = until
  }

  crash (index: number): void {
    const node = this.node(index)
    if (node.election === undefined) return
    this.trace(`crash ${node.peerId}`)
    this.down(node)
  }

  /** Graceful stop: the state machine is told, then the node goes away. */
  stop (index: number): void {
    const node = this.node(index)
    if (node.election === undefined) return
    this.trace(`stop ${node.peerId}`)
    this.apply(node, node.election.stop(this.now))
    this.down(node)
  }

  /**
   * Start (or restart) a node from its persisted term. With `knowsMembers` it starts with the
   * peers it can reach already listed, otherwise with none (membership catches up after a lag).
   */
  restart (index: number, knowsMembers: boolean): void {
    const node = this.node(index)
    if (node.election !== undefined) return
    node.election = new Election({ selfId: node.peerId, priority: node.priority, term: node.persistedTerm, options: this.options }, this.now)
    const members = knowsMembers ? this.reachable(node) : []
    node.reportedMembers = this.membersKey(members)
    this.trace(`start ${node.peerId} term=${node.persistedTerm} members=[${node.reportedMembers}]`)
    this.apply(node, node.election.start(members, this.now))
    this.scheduleTicks(node)
    this.connectivityChanged()
  }

  /** Assign each node to a side; nodes on different sides cannot exchange messages. */
  partition (groups: number[]): void {
    for (const node of this.nodes) this.group[node.index] = groups[node.index] ?? 0
    this.trace(`partition ${this.nodes.map((n) => `${n.peerId}:${this.group[n.index] ?? 0}`).join(' ')}`)
    this.connectivityChanged()
  }

  heal (): void {
    for (const node of this.nodes) this.group[node.index] = 0
    this.trace('heal')
    this.connectivityChanged()
  }

  setConditions (conditions: NetworkConditions): void {
    this.conditions = conditions
    this.trace(`conditions drop=${conditions.dropRate.toFixed(2)} delay=${conditions.minDelay}..${conditions.maxDelay}`)
  }

  /** The last trace lines, oldest first. */
  trace (line?: string): string[] {
    if (line !== undefined) {
      this.traceLines.push(`${String(this.now).padStart(7)} ${line}`)
      if (this.traceLines.length > this.traceLimit) this.traceLines.shift()
    }
    return this.traceLines
  }

  describe (): string {
    return this.nodes.map((node) => {
      const e = node.election
      if (e === undefined) return `${node.peerId}(p${node.priority}) down term=${node.persistedTerm}`
      const leader = e.leader()
      return `${node.peerId}(p${node.priority}) g${this.group[node.index] ?? 0} ${e.role()} term=${e.term()} leader=${leader === undefined ? 'none' : `${leader.peerId}@${leader.term}`}`
    }).join('\n')
  }

  /** The highest-ranked node of a component. */
  static best (component: SimNode[]): SimNode | undefined {
    let best: SimNode | undefined
    for (const node of component) {
      if (best === undefined || outranks(node, best)) best = node
    }
    return best
  }

  private node (index: number): SimNode {
    const node = this.nodes[index]
    if (node === undefined) throw new Error(`no node ${index}`)
    return node
  }

  private down (node: SimNode): void {
    node.election = undefined
    node.incarnation += 1
    node.reportedMembers = ''
    this.connectivityChanged()
  }

  private reachable (node: SimNode): Candidate[] {
    return this.nodes
      .filter((other) => other !== node && this.connected(node, other))
      .map((other) => ({ peerId: other.peerId, priority: other.priority }))
  }

  private membersKey (members: Candidate[]): string {
    return members.map((m) => m.peerId).sort().join(',')
  }

  /** Each live node's membership reports the new reachable set after its own random lag. */
  private connectivityChanged (): void {
    for (const node of this.nodes) {
      if (node.election === undefined) continue
      const incarnation = node.incarnation
      this.queue.push(this.now + this.rng.int(0, this.membershipLag), () => {
        if (node.election === undefined || node.incarnation !== incarnation) return
        const members = this.reachable(node)
        const key = this.membersKey(members)
        if (key === node.reportedMembers) return
        node.reportedMembers = key
        this.trace(`members ${node.peerId} [${key}]`)
        this.apply(node, node.election.membersChanged(members, this.now))
      })
    }
  }

  private scheduleTicks (node: SimNode): void {
    const incarnation = node.incarnation
    const tick = (): void => {
      if (node.election === undefined || node.incarnation !== incarnation) return
      this.apply(node, node.election.tick(this.now))
      this.queue.push(this.now + this.tickInterval, tick)
    }
    this.queue.push(this.now + this.rng.int(1, this.tickInterval), tick)
  }

  /** What the I/O layer does with a step: persist the term first, then send, then report. */
  private apply (node: SimNode, step: Step): void {
    const e = node.election
    if (e === undefined) return
    const term = e.term()
    if (term < node.maxTerm) this.violations.push(`t=${this.now} ${node.peerId} term went back from ${node.maxTerm} to ${term}`)
    if (step.termChanged !== (term !== node.persistedTerm)) {
      this.violations.push(`t=${this.now} ${node.peerId} termChanged=${String(step.termChanged)} but term ${node.persistedTerm} → ${term}`)
    }
    if (step.termChanged) {
      node.persistedTerm = term
      node.termChanges += 1
    }
    node.maxTerm = Math.max(node.maxTerm, term)
    if (step.leaderChanged) {
      const leader: Leader | undefined = e.leader()
      node.leaderChanges += 1
      this.lastLeaderChangeAt = this.now
      this.trace(`leader ${node.peerId} → ${leader === undefined ? 'none' : `${leader.peerId}@${leader.term}`} (${e.role()})`)
      if (leader !== undefined && node.leaderHistory[node.leaderHistory.length - 1] !== leader.peerId) node.leaderHistory.push(leader.peerId)
    }
    for (const out of step.send) this.send(node, out.to, out.message)
  }

  private send (from: SimNode, to: string, message: ElectionMessage): void {
    const target = this.nodes.find((node) => node.peerId === to)
    if (target === undefined) {
      this.violations.push(`t=${this.now} ${from.peerId} sent to unknown ${to}`)
      return
    }
    // A stream cannot even be opened across a partition or to a dead peer.
    if (!this.connected(from, target)) return
    if (this.rng.chance(this.conditions.dropRate)) return
    const fromIncarnation = from.incarnation
    const toIncarnation = target.incarnation
    const delay = this.rng.int(this.conditions.minDelay, this.conditions.maxDelay)
    this.queue.push(this.now + delay, () => {
      // Streams die with either end, and a partition cuts what is in flight.
      if (from.incarnation !== fromIncarnation || target.incarnation !== toIncarnation) return
      if (!this.connected(from, target) || target.election === undefined) return
      this.apply(target, target.election.receive(message, this.now))
    })
  }
}
