import { StreamMessageTooLargeError, type MessageStream, type NetNode } from '../net/index.js'
import { rateLimited, silentLog, type Log, type LogFn } from '../log.js'
import type { AppliedBatch, Hlc, RemoteVector, VectorClock, Version, WriteRecord } from '../replica/index.js'
import { compareHlc, seqOf } from '../replica/index.js'
import { decodeBeacon, decodeTraceReply, decodeTraceRequest, encodeBeacon, encodeTraceReply, encodeTraceRequest } from './codec.js'
import {
  BEACON_PART, BEACON_TIMING, DEFAULT_TRACE_BUFFER, DEFAULT_TRACE_TIMEOUT, OBSERVE_LIMITS, TRACE_PART, type BeaconTiming
} from './constants.js'
import { InvalidObserveOptionsError, NoTraceAnswerError, TooManyTracesError } from './errors.js'
import { buildGraph, type MeshGraph, type PeerLinks } from './graph.js'
import { assessConvergence, counts, learnReport, learnVector, type ConvergenceReport, type MemberKnowledge } from './lag.js'
import { TraceBuffer } from './trace-buffer.js'
import { buildTraceReport, type PeerAnswer, type TraceReport } from './trace-report.js'
import { traceId, type TraceAnswer, type TraceEntry } from './types.js'
import { OtlpExporter, type OtlpOptions, type OtlpStats } from './otlp.js'
import type { Dot, OpType } from '../replica/index.js'
import { forProfile, type Profile } from '../profile.js'

export type ObserveNet = Pick<NetNode,
'peerId' | 'network' | 'protocol' | 'handle' | 'unhandle' | 'openStream' | 'subscribe' | 'unsubscribe' | 'publish' | 'connections' | 'gossipMesh' |
'addEventListener' | 'removeEventListener'>

/** What the observer reads of the replica. */
export interface ObservedStore {
  versionVector: () => VectorClock
  digest: () => string
  size: () => number
  remoteVectors: () => Map<string, RemoteVector>
  oldestMissing: (vector: Readonly<VectorClock>) => Hlc | undefined
  versions: (key: string) => Version[]
}

export interface ObserveComponents {
  net: ObserveNet
  /** The peer's store. */
  store: ObservedStore
  /** The membership view, self included. */
  members: () => Array<{ peerId: string, addresses: string[], state: string, self: boolean }>
  /** Where this part logs (a pino logger, or any with the same methods). @default silent */
  logger?: Log
}

export interface ObserveInit {
  /** @default 'lan' */
  profile?: Profile
  /**
   * Override the beacon timers of the profile (ms), or `false` to send none: the others then
   * learn this replica's progress from anti-entropy and gossip only, and the graph shows only
   * this peer's own links. @default the profile's timers
   */
  beacon?: Partial<BeaconTiming> | false
  /** Writes remembered in the trace buffer. @default 4_096 */
  traceBuffer?: number
  /** How long a trace waits for the other members. @default 2_000 (ms) */
  traceTimeout?: number
  /**
   * Export every applied write as a span to an OpenTelemetry collector (OTLP/HTTP, JSON).
   * @default none: no export, and no network call for it
   */
  otlp?: OtlpOptions
}

export interface ObserveStats {
  beaconsSent: number
  /** Beacons that had nobody to go to. */
  beaconsUnsent: number
  beaconsReceived: number
  /** Beacons and trace messages that did not decode. */
  malformed: number
  traceRequestsServed: number
  traceRequestsSent: number
  /** Trace requests to members that did not answer in time (or answered garbage). */
  traceRequestsFailed: number
  /** Writes in the trace buffer now. */
  traced: number
  /** OpenTelemetry export, when configured. */
  otlp?: OtlpStats
}

export interface TraceOptions {
  /** @default the observer's traceTimeout (ms) */
  timeout?: number
}

interface Write { traceId: string, key: string, dot: Dot, hlc: Hlc, op: OpType }

/** What a peer's users see of the observer (`peer.observe`): convergence, the graph, write traces. */
export interface Observe {
  /** How far behind each member's replica is, and whether the network has converged. */
  convergence (): ConvergenceReport
  /** This peer's connections and gossip mesh, and those the other members last reported. */
  graph (): MeshGraph
  /** When each member applied the newest write of `key` this peer knows; undefined when it knows none. */
  trace (key: string, options?: TraceOptions): Promise<TraceReport | undefined>
  /** The last `limit` writes to reach this peer, each traced across the members. */
  recentTraces (limit: number, options?: TraceOptions): Promise<TraceReport[]>
}

/** The part as the peer wires it: the view, its lifecycle, what the store tells it and its figures. */
export interface Observer extends Observe {
  start (): Promise<void>
  stop (): Promise<void>
  /** The store applied these writes (called on its write path: cheap, never throws). */
  recordApplied (batch: AppliedBatch): void
  stats (): ObserveStats
}

export function createObserver (components: ObserveComponents, init: ObserveInit = {}): Observer {
  return new NetworkObserver(components, init)
}

/**
 * Seeing the network: remembers how each write reached this peer (a bounded trace buffer),
 * asks the other members about a write over `/hearsay/<network>/trace/1.0.0`, publishes a
 * beacon with this replica's vector, digest and links on `/hearsay/<network>/beacon/1.0.0`,
 * and keeps what it learns of every member's replica to tell how far behind each one is.
 */
class NetworkObserver implements Observer {
  private readonly net: ObserveNet
  private readonly components: ObserveComponents
  private readonly logDropped: LogFn
  private readonly timing: BeaconTiming
  private readonly beacons: boolean
  private readonly traceTimeout: number
  private readonly buffer: TraceBuffer
  private readonly exporter: OtlpExporter | undefined
  private readonly beaconTopic: string
  private readonly traceProtocol: string
  private readonly knowledge = new Map<string, MemberKnowledge>()
  private readonly links = new Map<string, PeerLinks>()
  private running = false
  private timer: NodeJS.Timeout | undefined
  private timerAt = Number.POSITIVE_INFINITY
  private lastBeacon = 0
  /** What the last beacon said, to send nothing when nothing changed. */
  private lastBeaconBytes: Uint8Array | undefined
  private readonly onLinkChange = (): void => {
    if (this.running) this.schedule(Math.max(this.timing.linkSettle, this.lastBeacon + this.timing.minInterval - Date.now()))
  }
  private readonly counters = {
    beaconsSent: 0,
    beaconsUnsent: 0,
    beaconsReceived: 0,
    malformed: 0,
    traceRequestsServed: 0,
    traceRequestsSent: 0,
    traceRequestsFailed: 0
  }

  constructor (components: ObserveComponents, init: ObserveInit = {}) {
    this.net = components.net
    this.components = components
    this.beacons = init.beacon !== false
    this.timing = { ...forProfile(BEACON_TIMING, init.profile), ...(init.beacon === false ? {} : init.beacon) }
    for (const [name, value] of Object.entries(this.timing)) {
      if (!Number.isFinite(value) || value <= 0) throw new InvalidObserveOptionsError(`beacon.${name} must be a positive number of ms, not ${value}`)
    }
    this.traceTimeout = init.traceTimeout ?? DEFAULT_TRACE_TIMEOUT
    this.buffer = new TraceBuffer(init.traceBuffer ?? DEFAULT_TRACE_BUFFER)
    const logger = components.logger ?? silentLog
    this.logDropped = rateLimited(logger, 'warn')
    this.exporter = init.otlp === undefined ? undefined : new OtlpExporter(this.net.peerId, this.net.network, init.otlp, rateLimited(logger, 'warn'))
    this.beaconTopic = this.net.protocol(BEACON_PART)
    this.traceProtocol = this.net.protocol(TRACE_PART)
  }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    // Signed by their sender: a beacon speaks for one member's replica, so its sender must be proven.
    this.net.subscribe(this.beaconTopic, (message) => { if (message.from !== undefined) this.onBeacon(message.from, message.data) }, { signed: true })
    await this.net.handle(this.traceProtocol, async (stream) => { await this.serveTrace(stream) }, {
      maxInboundStreams: 32,
      maxOutboundStreams: 64,
      maxMessageBytes: OBSERVE_LIMITS.maxTraceMessageBytes
    })
    if (this.beacons) {
      this.net.addEventListener('peer:connect', this.onLinkChange)
      this.net.addEventListener('peer:disconnect', this.onLinkChange)
      this.schedule(this.timing.minInterval)
    }
    this.exporter?.start()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
    this.lastBeaconBytes = undefined
    this.net.removeEventListener('peer:connect', this.onLinkChange)
    this.net.removeEventListener('peer:disconnect', this.onLinkChange)
    this.net.unsubscribe(this.beaconTopic)
    await this.net.unhandle(this.traceProtocol).catch(() => {})
    await this.exporter?.stop()
  }

  /** Told by the store of every write it applies (see ReplicationComponents.onApplied). */
  recordApplied (batch: AppliedBatch): void {
    const newest = new Map<string, WriteRecord>()
    for (const record of batch.records) {
      const entry: TraceEntry = {
        traceId: traceId(record.dot),
        key: record.key,
        dot: record.dot,
        hlc: record.hlc,
        op: record.op.type,
        path: batch.path,
        from: batch.from,
        receivedAt: batch.receivedAt,
        appliedAt: batch.appliedAt
      }
      this.buffer.add(entry)
      this.exporter?.record(entry)
      const author = record.dot.replica
      if (author !== this.net.peerId && (newest.get(author)?.dot.seq ?? 0) < record.dot.seq) newest.set(author, record)
    }
    // A write's clock is its author's vector when it wrote: the author holds at least that.
    // The clock of an author's highest write in the batch covers its earlier ones.
    for (const [author, record] of newest) {
      if (this.isMember(author)) this.knowledge.set(author, learnVector(this.knowledge.get(author), record.clock, batch.appliedAt))
    }
    if (this.running) this.schedule(Math.max(0, this.lastBeacon + this.timing.minInterval - Date.now()))
  }

  /** How far behind each member is, and whether this peer believes the network has converged. */
  convergence (): ConvergenceReport {
    const store = this.components.store
    const members = this.components.members()
    this.forgetFormerMembers(members)
    for (const [peerId, hello] of store.remoteVectors()) {
      if (!this.isMember(peerId, members)) continue
      const before = this.knowledge.get(peerId)
      this.knowledge.set(peerId, hello.digest === undefined
        ? learnVector(before, hello.vector, hello.at)
        : learnReport(before, { vector: hello.vector, digest: hello.digest, at: hello.at, source: 'anti-entropy' }))
    }
    return assessConvergence({
      self: { peerId: this.net.peerId, vector: store.versionVector(), digest: store.digest(), keys: store.size() },
      members,
      knowledge: this.knowledge,
      now: Date.now(),
      oldestMissing: (vector) => store.oldestMissing(vector)?.wall
    })
  }

  /** The members and their links (connections, gossipsub mesh) as each one last reported them. */
  graph (): MeshGraph {
    const members = this.components.members()
    this.forgetFormerMembers(members)
    const links = new Map(this.links)
    links.set(this.net.peerId, this.ownLinks())
    return buildGraph(members, links)
  }

  /**
   * The last write of `key` this peer knows (the newest in its trace buffer, or the value's
   * winning version), and when each member applied it. Undefined when no write of the key is known.
   */
  async trace (key: string, options: TraceOptions = {}): Promise<TraceReport | undefined> {
    const write = this.lastWrite(key)
    if (write === undefined) return undefined
    const [report] = await this.gather([write], options)
    return report
  }

  /** The last `limit` writes to reach this peer, newest first, each with when every member applied it. */
  async recentTraces (limit: number, options: TraceOptions = {}): Promise<TraceReport[]> {
    if (limit > OBSERVE_LIMITS.maxTraceDots) throw new TooManyTracesError(limit, OBSERVE_LIMITS.maxTraceDots)
    const writes = this.buffer.recent(limit).map((e) => ({ traceId: e.traceId, key: e.key, dot: e.dot, hlc: e.hlc, op: e.op }))
    return writes.length === 0 ? [] : this.gather(writes, options)
  }

  stats (): ObserveStats {
    const otlp = this.exporter?.stats()
    return { ...this.counters, traced: this.buffer.size, ...(otlp === undefined ? {} : { otlp }) }
  }

  // --- traces ------------------------------------------------------------------------------

  private lastWrite (key: string): Write | undefined {
    const entry = this.buffer.latest(key)
    const winner = this.components.store.versions(key)[0]
    const fromEntry = entry === undefined ? undefined : { traceId: entry.traceId, key, dot: entry.dot, hlc: entry.hlc, op: entry.op }
    if (winner === undefined) return fromEntry
    const fromWinner: Write = { traceId: traceId(winner.dot), key, dot: winner.dot, hlc: winner.hlc, op: 'put' }
    if (fromEntry === undefined) return fromWinner
    const order = compareHlc(fromWinner.hlc, fromEntry.hlc)
    return order > 0 || (order === 0 && fromWinner.dot.replica > fromEntry.dot.replica) ? fromWinner : fromEntry
  }

  private async gather (writes: Write[], options: TraceOptions): Promise<TraceReport[]> {
    const timeout = options.timeout ?? this.traceTimeout
    const dots = writes.map((w) => w.dot)
    const others = this.components.members().filter((m) => !m.self && m.peerId !== this.net.peerId && counts(m.state))
    const vector = this.components.store.versionVector()
    const own = dots.map((d) => this.answer(d, vector))
    const remote = await Promise.all(others.map(async (m): Promise<{ peerId: string, answers?: TraceAnswer[], error?: string }> => {
      try {
        return { peerId: m.peerId, answers: await this.ask(m, dots, timeout) }
      } catch (err) {
        this.counters.traceRequestsFailed++
        return { peerId: m.peerId, error: describeFailure(err, timeout) }
      }
    }))
    return writes.map((write, i) => {
      const answers: PeerAnswer[] = [{ peerId: this.net.peerId, answer: own[i] as TraceAnswer }]
      for (const r of remote) {
        const answer = r.answers?.[i]
        answers.push(answer === undefined ? { peerId: r.peerId, error: r.error ?? 'no answer' } : { peerId: r.peerId, answer })
      }
      return buildTraceReport(write, answers)
    })
  }

  private answer (dot: Dot, vector: VectorClock): TraceAnswer {
    const entry = this.buffer.get(dot)
    if (entry !== undefined) return { status: 'applied', path: entry.path, from: entry.from, receivedAt: entry.receivedAt, appliedAt: entry.appliedAt }
    return dot.seq <= seqOf(vector, dot.replica) ? { status: 'held' } : { status: 'missing' }
  }

  private async ask (member: { peerId: string, addresses: string[] }, dots: Dot[], timeout: number): Promise<TraceAnswer[]> {
    const deadline = Date.now() + timeout
    this.counters.traceRequestsSent++
    const stream = await this.net.openStream(member.peerId, this.traceProtocol, {
      addresses: member.addresses, timeout, maxMessageBytes: OBSERVE_LIMITS.maxTraceMessageBytes
    })
    try {
      stream.send(encodeTraceRequest(dots))
      const bytes = await stream.next({ timeout: Math.max(1, deadline - Date.now()) })
      if (bytes === undefined) throw new NoTraceAnswerError()
      const answers = decodeTraceReply(bytes, dots.length)
      void stream.close().catch(() => { stream.abort() })
      return answers
    } catch (err) {
      stream.abort()
      throw err
    }
  }

  private async serveTrace (stream: MessageStream): Promise<void> {
    const bytes = await stream.next({ timeout: this.traceTimeout }).catch((err: unknown) => {
      // Over the size limit: refused before it was read, and counted with what did not decode.
      if (err instanceof StreamMessageTooLargeError) this.counters.malformed++
      throw err
    })
    if (bytes === undefined) {
      stream.abort()
      return
    }
    let dots: Dot[]
    try {
      dots = decodeTraceRequest(bytes)
    } catch (err) {
      this.counters.malformed++
      this.logDropped({ from: stream.remotePeer, reason: (err as Error).message }, 'dropped a malformed trace request')
      stream.abort()
      return
    }
    const vector = this.components.store.versionVector()
    stream.send(encodeTraceReply(dots.map((d) => this.answer(d, vector))))
    this.counters.traceRequestsServed++
    await stream.close()
  }

  // --- beacons -----------------------------------------------------------------------------

  private schedule (delay: number): void {
    if (!this.running || !this.beacons) return
    const at = Date.now() + delay
    if (this.timer !== undefined && this.timerAt <= at) return
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerAt = Number.POSITIVE_INFINITY
      void this.sendBeacon()
    }, delay)
    this.timer.unref()
  }

  private async sendBeacon (): Promise<void> {
    if (!this.running) return
    const now = Date.now()
    // The keep-alive: the next one at the latest after an interval (jittered, so peers do not beat in step).
    this.schedule(Math.round(this.timing.interval * (0.9 + Math.random() * 0.2)))
    const store = this.components.store
    const links = this.ownLinks()
    const bytes = encodeBeacon({
      vector: store.versionVector(),
      digest: store.digest(),
      keys: store.size(),
      connections: links.connections.slice(0, OBSERVE_LIMITS.maxPeers),
      mesh: links.mesh.slice(0, OBSERVE_LIMITS.maxTopics).map((m) => ({ topic: m.topic, peers: m.peers.slice(0, OBSERVE_LIMITS.maxPeers) }))
    })
    // Woken early by a change that changed nothing the beacon says: wait for the keep-alive.
    const keepAliveDue = now - this.lastBeacon >= this.timing.interval * 0.9
    if (!keepAliveDue && this.lastBeaconBytes !== undefined && sameBytes(bytes, this.lastBeaconBytes)) return
    this.lastBeacon = now
    this.lastBeaconBytes = bytes
    try {
      await this.net.publish(this.beaconTopic, bytes, { signed: true })
      this.counters.beaconsSent++
    } catch {
      // Nobody subscribed yet (or the node is stopping): the next beacon tries again.
      this.counters.beaconsUnsent++
    }
  }

  private onBeacon (from: string, data: Uint8Array): void {
    if (!this.running || from === this.net.peerId) return
    // Only members: what the table holds stays bounded by the membership view.
    if (!this.isMember(from)) return
    let beacon
    try {
      beacon = decodeBeacon(data)
    } catch (err) {
      this.counters.malformed++
      this.logDropped({ from, reason: (err as Error).message }, 'dropped a malformed beacon')
      return
    }
    this.counters.beaconsReceived++
    const at = Date.now()
    this.knowledge.set(from, learnReport(this.knowledge.get(from), { vector: beacon.vector, digest: beacon.digest, keys: beacon.keys, at, source: 'beacon' }))
    this.links.set(from, { connections: beacon.connections, mesh: beacon.mesh, at })
  }

  private ownLinks (): PeerLinks {
    const connections = [...new Set(this.net.connections().map((c) => c.peerId))].sort()
    return { connections, mesh: this.net.gossipMesh(), at: Date.now() }
  }

  private isMember (peerId: string, members = this.components.members()): boolean {
    return members.some((m) => m.peerId === peerId)
  }

  private forgetFormerMembers (members: Array<{ peerId: string }>): void {
    const ids = new Set(members.map((m) => m.peerId))
    for (const id of this.knowledge.keys()) if (!ids.has(id)) this.knowledge.delete(id)
    for (const id of this.links.keys()) if (!ids.has(id)) this.links.delete(id)
  }
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

function describeFailure (err: unknown, timeout: number): string {
  const e = err as { name?: string, code?: string, message?: string }
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'ERR_STREAM_TIMEOUT') return `no answer within ${timeout} ms`
  return e.message ?? String(err)
}
