import { NotAWriterError } from './errors.js'
import { TypedEventTarget, type DetailEvent } from '../events.js'
import { rateLimited, silentLog, type Log, type LogFn } from '../log.js'
import type { MessageStream, PubsubMessage } from '../net/index.js'
import type { DurableLog } from '../storage/index.js'
import { ReplicaState } from './store.js'
import { compareHlc } from './hlc.js'
import { decodeBatch, encodeBatches, encodeRecord, signingBytes } from './codec.js'
import { decodeSyncFrame, encodeSyncFrame, SYNC_LIMITS, type SyncFrame } from './sync-codec.js'
import { logSnapshot, replayLog } from './checkpoint.js'
import { horizonOffer, Session, settleOffer } from './session.js'
import {
  expandRetired, GC_KEY, joinVectors, omitRetired, parseHorizon, parseRetirement, RETIRED_PREFIX,
  retiredDigest, sameVector, vectorLeq
} from './gc.js'
import type { Hlc, Json, Version, VectorClock, WriteRecord } from './types.js'
import type {
  ReplicationNet, ReplicationComponents, ReplicationInit, RemoteVector, KvChange, KvEvents, WriteReceipt, ReplicationStats,
  AppliedBatch
} from './service-types.js'
export type {
  ReplicationNet, ReplicationComponents, ReplicationInit, RemoteVector, KvChange, KvEvents, WriteReceipt, ReplicationStats,
  AppliedBatch, ArrivalPath
} from './service-types.js'


/**
 * The replicated key-value store of one peer: the pure ReplicaState plus durability, signed
 * records, gossip of new writes and anti-entropy over a direct stream.
 */
export class Replication extends TypedEventTarget<KvEvents> {
  private readonly net: ReplicationNet
  private readonly log: DurableLog | undefined
  private readonly logger: Log
  /** Drops of records or messages from the network: rate-limited, a sender controls the pace. */
  private readonly logDropped: LogFn
  private readonly members: ReplicationComponents['members']
  private readonly onApplied: ReplicationComponents['onApplied']
  private readonly init: ReplicationInit
  private readonly topic: string
  private readonly syncProtocol: string
  private readonly state: ReplicaState
  private readonly antiEntropyInterval: number
  private readonly writers: Set<string> | undefined
  /** Own records up to this seq are durable; later ones are not offered to anyone yet. */
  private durableSeq = 0
  private replaying = false
  private running = false
  private gossipQueue: WriteRecord[] = []
  private gossipScheduled = false
  private timer: NodeJS.Timeout | undefined
  private readonly syncing = new Set<string>()
  private pendingPersist: Promise<unknown> = Promise.resolve()
  private readonly counters: ReplicationStats = {
    writesLocal: 0,
    writesRemote: 0,
    rejected: 0,
    unauthorized: 0,
    malformed: 0,
    gossipMessagesSent: 0,
    gossipBytesSent: 0,
    gossipMessagesReceived: 0,
    gossipBytesReceived: 0,
    gossipUnsent: 0,
    antiEntropyRounds: 0,
    antiEntropyBytesSent: 0,
    antiEntropyBytesReceived: 0,
    antiEntropyRecordsSent: 0,
    antiEntropyRecordsReceived: 0,
    gcAdoptions: 0,
    recordsCollected: 0,
    recordsDropped: 0,
    horizonOffersSent: 0,
    horizonOffersRefused: 0,
    compactions: 0
  }
  /** Join of the horizons published under GC_KEY (live versions): what this replica adopts once it covers it. */
  private target: VectorClock = {}
  private retired = new Map<string, number>()
  private retiredName = ''
  private bookkeepingDue = false
  private readonly remotes = new Map<string, RemoteVector>()
  private compacting: Promise<void> | undefined
  /** Records collected or dropped (gcCounts) when the log was last compacted. */
  private compactedAt = 0

  private readonly onConnect = (event: DetailEvent<string>): void => {
    // Both ends see the new connection; one session is enough (it repairs both ways), so the
    // lower PeerId starts it. Periodic rounds cover a session that fails.
    if (this.net.peerId < event.detail) void this.syncWith(event.detail, []).catch(() => {})
  }

  constructor (components: ReplicationComponents, init: ReplicationInit = {}) {
    super()
    this.net = components.net
    this.log = components.log
    this.logger = components.logger ?? silentLog
    this.logDropped = rateLimited(this.logger, 'warn')
    this.members = components.members
    this.onApplied = components.onApplied
    this.init = init
    this.topic = this.net.protocol('kv')
    this.syncProtocol = this.net.protocol('sync')
    this.antiEntropyInterval = init.antiEntropyInterval ?? (init.profile === 'local' ? 1_000 : 10_000)
    this.writers = init.writers === undefined ? undefined : new Set(init.writers)
    this.state = new ReplicaState(this.net.peerId, {
      ...(init.maxKeyBytes === undefined ? {} : { maxKeyBytes: init.maxKeyBytes }),
      ...(init.maxValueBytes === undefined ? {} : { maxValueBytes: init.maxValueBytes }),
      sign: (bytes) => this.net.sign(bytes),
      onChange: (change) => {
        if (change.key === GC_KEY || change.key.startsWith(RETIRED_PREFIX)) this.bookkeepingChanged()
        if (this.replaying) return
        this.emit('change', { key: change.key, value: this.state.get(change.key), origin: change.origin })
      }
    })
  }

  async start (): Promise<void> {
    if (this.running) return
    if (this.log !== undefined) {
      this.replaying = true
      try {
        const malformed = await replayLog(this.log, this.state)
        this.counters.malformed += malformed
        this.logger.info({ records: this.state.recordCount(), keys: this.state.size(), malformed }, `replayed the log: ${this.state.size()} keys`)
      } finally {
        this.replaying = false
      }
    }
    // Everything on disk is durable, our own writes included: resume after the highest.
    this.durableSeq = this.state.lastSeq
    this.refreshBookkeeping()
    this.running = true
    // A horizon published while we were down, if our own log already covers it.
    this.maybeAdopt()
    this.net.subscribe(this.topic, (message) => { this.onGossip(message) })
    await this.net.handle(this.syncProtocol, async (stream) => { await this.syncSession(stream) }, {
      maxInboundStreams: 32,
      maxOutboundStreams: 32,
      maxMessageBytes: SYNC_LIMITS.maxMessageBytes
    })
    this.net.addEventListener('peer:connect', this.onConnect)
    this.scheduleAntiEntropy()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.timer)
    this.net.removeEventListener('peer:connect', this.onConnect)
    this.net.unsubscribe(this.topic)
    await this.net.unhandle(this.syncProtocol).catch(() => {})
    await this.pendingPersist.catch(() => {})
    await this.compacting
    await this.log?.close()
  }

  // --- the key-value API ---------------------------------------------------------------

  async put (key: string, value: Json): Promise<WriteReceipt> {
    this.assertWriter()
    return this.commit(this.state.put(key, value))
  }

  async delete (key: string): Promise<WriteReceipt | undefined> {
    this.assertWriter()
    const record = this.state.delete(key)
    return record === undefined ? undefined : this.commit(record)
  }

  async increment (key: string, by = 1): Promise<WriteReceipt> {
    this.assertWriter()
    return this.commit(this.state.increment(key, by))
  }

  async decrement (key: string, by = 1): Promise<WriteReceipt> {
    this.assertWriter()
    return this.commit(this.state.decrement(key, by))
  }

  async setAdd (key: string, element: Json): Promise<WriteReceipt> {
    this.assertWriter()
    return this.commit(this.state.setAdd(key, element))
  }

  async setRemove (key: string, element: Json): Promise<WriteReceipt | undefined> {
    this.assertWriter()
    const record = this.state.setRemove(key, element)
    return record === undefined ? undefined : this.commit(record)
  }

  private assertWriter (): void {
    if (this.writers !== undefined && !this.writers.has(this.net.peerId)) {
      throw new NotAWriterError(`this peer (${this.net.peerId}) is not on the network's writers list: only listed peers may write`)
    }
  }

  get (key: string): Json | undefined {
    return this.state.get(key)
  }

  versions (key: string): Version[] {
    return this.state.versions(key)
  }

  list (prefix = ''): Array<{ key: string, value: Json }> {
    return this.state.list(prefix).map(([key, value]) => ({ key, value }))
  }

  size (): number {
    return this.state.size()
  }

  /** Equal on two replicas exactly when they hold the same writes. */
  digest (): string {
    return this.state.digest()
  }

  versionVector (): VectorClock {
    return this.state.versionVector()
  }

  recordCount (): number {
    return this.state.recordCount()
  }

  /** The last HELLO of every peer we ran anti-entropy with: what the GC coordinator decides on. */
  remoteVectors (): Map<string, RemoteVector> {
    return new Map([...this.remotes].map(([peer, v]) => [peer, { vector: { ...v.vector }, horizon: { ...v.horizon }, digest: v.digest, at: v.at }]))
  }

  /**
   * The clock of the oldest write held here that a replica at `vector` lacks (per author, the
   * first held record above its seq), or undefined when it lacks none of what is held.
   */
  oldestMissing (vector: Readonly<VectorClock>): Hlc | undefined {
    const mine = this.state.versionVector()
    let oldest: Hlc | undefined
    for (const [replica, seq] of Object.entries(mine)) {
      const theirs = Object.hasOwn(vector, replica) ? vector[replica] as number : 0
      if (seq <= theirs) continue
      // Every other author at "everything seen": only this author's records come back.
      const only = Object.fromEntries(Object.keys(mine).map((r) => [r, r === replica ? theirs : Number.MAX_SAFE_INTEGER]))
      const hlc = this.state.recordsSince(only, 1)[0]?.hlc
      if (hlc !== undefined && (oldest === undefined || compareHlc(hlc, oldest) < 0)) oldest = hlc
    }
    return oldest
  }

  /** The GC horizon this replica has adopted. */
  horizon (): VectorClock {
    return this.state.horizon()
  }

  /** The horizon the coordinator published (the join of its live versions), adopted or not. */
  gcTarget (): VectorClock {
    return joinVectors(this.target, this.state.horizon())
  }

  /** This replica's vector as far as others may have it: our own writes count once durable. */
  ownVector (): VectorClock {
    const vector = this.state.versionVector()
    const own = this.net.peerId
    if (Object.hasOwn(vector, own)) {
      const seq = Math.min(vector[own] as number, this.durableSeq)
      if (seq > 0) vector[own] = seq
      else Reflect.deleteProperty(vector, own)
    }
    return vector
  }

  /** How many held records adopting `horizon` would collect here, `skip` aside (a dry run). */
  collectible (horizon: VectorClock, skip?: (key: string) => boolean): number {
    return this.state.collectible(horizon, skip)
  }

  /** Retired replicas and the seq they were retired at. */
  retirements (): Map<string, number> {
    return new Map(this.retired)
  }

  stats (): ReplicationStats {
    const { collected, dropped } = this.state.gcCounts()
    const counters = { ...this.counters, recordsCollected: collected, recordsDropped: dropped }
    return this.log === undefined ? counters : { ...counters, log: this.log.stats() }
  }

  /** Run one anti-entropy exchange with a peer now. */
  async syncWith (peerId: string, addresses: string[]): Promise<void> {
    if (!this.running || peerId === this.net.peerId || this.syncing.has(peerId)) return
    this.syncing.add(peerId)
    try {
      const stream = await this.net.openStream(peerId, this.syncProtocol, {
        addresses, maxMessageBytes: SYNC_LIMITS.maxMessageBytes, timeout: 5_000
      })
      await this.syncSession(stream)
    } finally {
      this.syncing.delete(peerId)
    }
  }

  // --- writes ----------------------------------------------------------------------------

  /** A local write is acknowledged once durable, and only then offered to others. */
  private async commit (record: WriteRecord): Promise<WriteReceipt> {
    this.counters.writesLocal++
    const now = Date.now()
    this.onApplied?.({ path: 'local', from: this.net.peerId, receivedAt: now, appliedAt: now, records: [record] })
    if (this.log !== undefined) await this.log.append([encodeRecord(record)])
    if (record.dot.seq > this.durableSeq) this.durableSeq = record.dot.seq
    this.queueGossip(record)
    return { key: record.key, dot: record.dot, hlc: record.hlc }
  }

  private queueGossip (record: WriteRecord): void {
    if (this.init.gossip === false || !this.running) return
    this.gossipQueue.push(record)
    if (this.gossipScheduled) return
    this.gossipScheduled = true
    // Writes that become durable together (one group commit) leave in one batch.
    setImmediate(() => {
      this.gossipScheduled = false
      const records = this.gossipQueue
      this.gossipQueue = []
      void this.publish(records)
    })
  }

  private async publish (records: WriteRecord[]): Promise<void> {
    for (const batch of encodeBatches(records, { maxBytes: 512 * 1024 })) {
      try {
        await this.net.publish(this.topic, batch)
        this.counters.gossipMessagesSent++
        this.counters.gossipBytesSent += batch.byteLength
      } catch {
        // Nobody subscribed yet, or the node is stopping: anti-entropy carries it later.
        this.counters.gossipUnsent++
      }
    }
  }

  // --- remote records --------------------------------------------------------------------

  private onGossip (message: PubsubMessage): void {
    if (!this.running) return
    this.counters.gossipMessagesReceived++
    this.counters.gossipBytesReceived += message.data.byteLength
    this.receiveBatch(message.data, { path: 'gossip', from: message.via, receivedAt: Date.now() })
  }

  /**
   * Verify, apply and persist one batch from the network; returns how many were new. In an
   * anti-entropy session, `session` learns every dot the peer sent and whether all of it
   * was good.
   */
  private receiveBatch (data: Uint8Array, arrival: Omit<AppliedBatch, 'appliedAt' | 'records'>, session?: Session): number {
    let records: WriteRecord[]
    try {
      records = decodeBatch(data)
    } catch (err) {
      this.counters.malformed++
      this.logDropped({ from: arrival.from, reason: (err as Error).message }, 'dropped a malformed batch of writes')
      if (session !== undefined) session.clean = false
      return 0
    }
    const fresh: WriteRecord[] = []
    for (const record of records) {
      session?.vouch(record.dot.replica, [record.dot.seq])
      if (this.state.has(record.dot)) continue
      if (this.writers !== undefined && !this.writers.has(record.dot.replica)) {
        this.counters.unauthorized++
        this.logDropped({ from: arrival.from, author: record.dot.replica, key: record.key }, 'dropped a write by a peer not on the writers list')
        continue
      }
      const signature = record.signature
      if (signature === undefined || !this.net.verify(record.dot.replica, signingBytes(record), signature)) {
        this.counters.rejected++
        this.logDropped({ from: arrival.from, author: record.dot.replica, key: record.key }, 'dropped a write whose signature does not verify against its author')
        if (session !== undefined) session.clean = false
        continue
      }
      try {
        if (this.state.apply(record, 'remote') === 'applied') fresh.push(record)
      } catch {
        this.counters.rejected++
        if (session !== undefined) session.clean = false
      }
    }
    this.counters.writesRemote += fresh.length
    if (fresh.length > 0) this.onApplied?.({ ...arrival, appliedAt: Date.now(), records: fresh })
    if (fresh.length > 0 && this.log !== undefined) {
      const log = this.log
      this.pendingPersist = this.pendingPersist.then(async () => log.append(fresh.map(encodeRecord), { durable: false })).catch(() => {})
    }
    if (fresh.length > 0) {
      // New records may complete us for the published horizon, or remove records below it.
      this.maybeAdopt()
      this.afterCollect()
    }
    return fresh.length
  }

  // --- anti-entropy ----------------------------------------------------------------------

  private scheduleAntiEntropy (): void {
    if (!this.running) return
    const delay = Math.round(this.antiEntropyInterval * (0.9 + Math.random() * 0.2))
    this.timer = setTimeout(() => {
      const candidates = this.members().filter((m) => !m.self && m.state === 'alive')
      const target = candidates[Math.floor(Math.random() * candidates.length)]
      const round = target === undefined ? Promise.resolve() : this.syncWith(target.peerId, target.addresses)
      void round.catch(() => {}).finally(() => { this.scheduleAntiEntropy() })
    }, delay)
  }

  /**
   * Both sides run the same session: send HELLO (our vector, digest and GC horizon), read
   * theirs; when they have not adopted our horizon, send it with the dots we still hold
   * below it (HORIZON); send the records they lack in bounded chunks; apply what they send
   * until DONE, then act on their horizon. The cost follows the difference: the store
   * answers "records after seq n of replica r" from an index.
   */
  private async syncSession (stream: MessageStream): Promise<void> {
    const send = (frame: SyncFrame): void => {
      const bytes = encodeSyncFrame(frame)
      this.counters.antiEntropyBytesSent += bytes.byteLength
      stream.send(bytes)
    }
    const session = new Session()
    try {
      const full = this.state.versionVector()
      send({ type: 'hello', vector: omitRetired(full, this.retired), digest: this.state.digest(), horizon: this.state.horizon(), retired: this.retiredName })
      const first = await this.nextFrame(stream)
      if (first?.type !== 'hello') throw new Error('expected HELLO')
      this.counters.antiEntropyRounds++
      // Left-out replicas mean "complete at the retired seq" only under the same retirements.
      const theirs = first.retired !== '' && first.retired === this.retiredName ? expandRetired(first.vector, this.retired) : first.vector
      this.remotes.set(stream.remotePeer, { vector: theirs, horizon: first.horizon, digest: first.digest, at: Date.now() })
      // No await between the dot list and the choice of records to send: they must be one
      // snapshot of the store (a record collected in between would be neither listed nor sent).
      const offer = horizonOffer(this.state, first.horizon, theirs)
      if (offer.length > 0) this.counters.horizonOffersSent++
      for (const frame of offer) send(frame)
      if (first.digest !== this.state.digest() || !sameVector(theirs, this.state.versionVector())) {
        const missing = this.state.recordsSince(theirs).filter((r) => this.offerable(r))
        this.counters.antiEntropyRecordsSent += missing.length
        // Chunk by chunk, yielding between them: a large repair must not stall the event loop
        // (and with it every timer of this peer and its neighbours in the same process).
        for (let start = 0; start < missing.length; start += SYNC_LIMITS.chunkRecords) {
          const slice = missing.slice(start, start + SYNC_LIMITS.chunkRecords)
          for (const batch of encodeBatches(slice, { maxBytes: SYNC_LIMITS.chunkBytes, maxRecords: SYNC_LIMITS.chunkRecords })) {
            send({ type: 'records', batch })
          }
          await yieldToEventLoop()
        }
      }
      send({ type: 'done' })
      while (true) {
        const frame = await this.nextFrame(stream)
        if (frame === undefined) {
          session.clean = false
          break
        }
        if (frame.type === 'done') break
        if (frame.type === 'records') {
          const arrival = { path: 'anti-entropy' as const, from: stream.remotePeer, receivedAt: Date.now() }
          this.counters.antiEntropyRecordsReceived += this.receiveBatch(frame.batch, arrival, session)
        }
        if (frame.type === 'horizon') session.offered(frame)
      }
      this.settleOffer(session)
      this.logger.debug({ peer: stream.remotePeer, clean: session.clean }, 'anti-entropy session done')
      await stream.close()
    } catch (err) {
      stream.abort()
      throw err
    }
  }

  /** A peer told us its horizon: adopt it, or catch up to it (see settleOffer). */
  private settleOffer (session: Session): void {
    const settled = settleOffer(this.state, session, this.target)
    if (settled.outcome === 'none') return
    if (settled.outcome === 'refused') {
      this.counters.horizonOffersRefused++
      return
    }
    this.counters.gcAdoptions++
    this.afterCollect()
    this.maybeAdopt()
  }

  // --- GC horizon, retirements and compaction ---------------------------------------------

  /** GC_KEY or a retirement changed: re-read them once the current change is over. */
  private bookkeepingChanged (): void {
    if (this.bookkeepingDue) return
    this.bookkeepingDue = true
    // Not now: this runs inside the store's insert, which must not be re-entered.
    queueMicrotask(() => {
      this.bookkeepingDue = false
      this.refreshBookkeeping()
      if (this.running) this.maybeAdopt()
    })
  }

  private refreshBookkeeping (): void {
    const published = this.state.versions(GC_KEY).map((v) => parseHorizon(v.value)?.vector ?? {})
    this.target = joinVectors(...published)
    const retired = new Map<string, number>()
    for (const [key, value] of this.state.list(RETIRED_PREFIX)) {
      const retirement = parseRetirement(value)
      const replica = key.slice(RETIRED_PREFIX.length)
      if (retirement !== undefined && replica.length > 0) retired.set(replica, retirement.seq)
    }
    this.retired = retired
    this.retiredName = retiredDigest(retired)
    this.state.setRetired(retired)
  }

  /** Adopts the published horizon once this replica covers it. */
  private maybeAdopt (): void {
    const current = this.state.horizon()
    const next = joinVectors(current, this.target)
    if (vectorLeq(next, current) || !this.state.covers(next)) return
    this.adopt(next)
  }

  private adopt (horizon: VectorClock): void {
    this.state.adoptHorizon(horizon)
    this.counters.gcAdoptions++
    this.afterCollect()
  }

  /**
   * Rewrites the log without what was collected, once that is at least a quarter of it:
   * compaction is not needed for safety (a restart from the longer log replays the records
   * and collects them again, or catches up from a peer), only for space and replay time.
   */
  private afterCollect (): void {
    const { collected, dropped } = this.state.gcCounts()
    const log = this.log
    if (log === undefined || !this.running || this.compacting !== undefined) return
    const gone = collected + dropped - this.compactedAt
    if (gone === 0 || gone * 4 < log.stats().records) return
    this.compactedAt = collected + dropped
    this.compacting = log.rewrite(logSnapshot(this.state))
      .then(() => {
        this.counters.compactions++
        this.logger.info({ records: log.stats().records }, 'compacted the log')
      }, (err: unknown) => { this.logger.warn({ err }, 'log compaction failed; the longer log stays and is still correct') })
      .finally(() => { this.compacting = undefined })
  }

  private async nextFrame (stream: MessageStream): Promise<SyncFrame | undefined> {
    const bytes = await stream.next({ timeout: 10_000 })
    if (bytes === undefined) return undefined
    this.counters.antiEntropyBytesReceived += bytes.byteLength
    try {
      return decodeSyncFrame(bytes)
    } catch (err) {
      this.counters.malformed++
      throw err
    }
  }

  /** Our own writes are offered only once durable: a crash must not leave a dot others hold. */
  private offerable (record: WriteRecord): boolean {
    return record.dot.replica !== this.net.peerId || record.dot.seq <= this.durableSeq
  }
}

async function yieldToEventLoop (): Promise<void> {
  await new Promise<void>((resolve) => { setImmediate(resolve) })
}
