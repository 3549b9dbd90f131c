import { TypedEventTarget, type DetailEvent } from '../events.js'
import type { NetNode, MessageStream } from '../net/index.js'
import type { DurableLog, LogStats } from '../storage/index.js'
import { ReplicaState } from './store.js'
import { decodeBatch, decodeRecord, encodeBatches, encodeRecord, signingBytes } from './codec.js'
import { decodeSyncFrame, encodeSyncFrame, SYNC_LIMITS, type SyncFrame } from './anti-entropy.js'
import type { Json, Version, VectorClock, WriteRecord, Dot, Hlc } from './types.js'

export type ReplicationNet = Pick<NetNode,
'peerId' | 'protocol' | 'handle' | 'unhandle' | 'openStream' | 'subscribe' | 'unsubscribe' | 'publish' |
'addEventListener' | 'removeEventListener' | 'sign' | 'verify'>

export interface ReplicationComponents {
  net: ReplicationNet
  /** The durable log; `undefined` keeps everything in memory. */
  log?: DurableLog
  /** Members to run anti-entropy with. */
  members: () => Array<{ peerId: string, addresses: string[], state: string, self: boolean }>
}

export interface ReplicationInit {
  /** @default 'lan' */
  profile?: 'local' | 'lan'
  /** Spread writes over gossipsub; with `false` only anti-entropy moves them (tests). @default true */
  gossip?: boolean
  /** How often to run anti-entropy with one random member. @default 1_000 local, 10_000 lan (ms) */
  antiEntropyInterval?: number
  /** @default 1024 (bytes) */
  maxKeyBytes?: number
  /** @default 1 MiB (bytes of JSON) */
  maxValueBytes?: number
}

export interface KvChange {
  key: string
  /** The value now (the winner for a register), or undefined once deleted. */
  value: Json | undefined
  origin: 'local' | 'remote'
}

export interface KvEvents extends Record<string, unknown> {
  change: KvChange
}

/** What a write answers once it is durable: the dot that names it and its clock. */
export interface WriteReceipt {
  key: string
  dot: Dot
  hlc: Hlc
}

export interface ReplicationStats {
  writesLocal: number
  writesRemote: number
  /** Records refused: bad signature or invalid content. */
  rejected: number
  /** Gossip or sync messages that did not decode. */
  malformed: number
  gossipMessagesSent: number
  gossipBytesSent: number
  gossipMessagesReceived: number
  gossipBytesReceived: number
  /** Gossip batches that had nobody to go to (anti-entropy repairs them). */
  gossipUnsent: number
  antiEntropyRounds: number
  antiEntropyBytesSent: number
  antiEntropyBytesReceived: number
  antiEntropyRecordsSent: number
  antiEntropyRecordsReceived: number
  /** The durable log's own figures (fsyncs, last fsync latency); absent for in-memory peers. */
  log?: LogStats
}

/**
 * The replicated key-value store of one peer: the pure ReplicaState plus durability, signed
 * records, gossip of new writes and anti-entropy over a direct stream.
 */
export class Replication extends TypedEventTarget<KvEvents> {
  private readonly net: ReplicationNet
  private readonly log: DurableLog | undefined
  private readonly members: ReplicationComponents['members']
  private readonly init: ReplicationInit
  private readonly topic: string
  private readonly syncProtocol: string
  private readonly state: ReplicaState
  private readonly antiEntropyInterval: number
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
    antiEntropyRecordsReceived: 0
  }

  private readonly onConnect = (event: DetailEvent<string>): void => {
    void this.syncWith(event.detail, []).catch(() => {})
  }

  constructor (components: ReplicationComponents, init: ReplicationInit = {}) {
    super()
    this.net = components.net
    this.log = components.log
    this.members = components.members
    this.init = init
    this.topic = this.net.protocol('kv')
    this.syncProtocol = this.net.protocol('sync')
    this.antiEntropyInterval = init.antiEntropyInterval ?? (init.profile === 'local' ? 1_000 : 10_000)
    this.state = new ReplicaState(this.net.peerId, {
      ...(init.maxKeyBytes === undefined ? {} : { maxKeyBytes: init.maxKeyBytes }),
      ...(init.maxValueBytes === undefined ? {} : { maxValueBytes: init.maxValueBytes }),
      sign: (bytes) => this.net.sign(bytes),
      onChange: (change) => {
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
        for await (const bytes of this.log.replay()) {
          try {
            this.state.apply(decodeRecord(bytes), 'remote')
          } catch {
            this.counters.malformed++
          }
        }
      } finally {
        this.replaying = false
      }
    }
    // Everything on disk is durable, our own writes included: resume after the highest.
    this.durableSeq = this.state.lastSeq
    this.running = true
    this.net.subscribe(this.topic, (message) => { this.onGossip(message.data) })
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
    await this.log?.close()
  }

  // --- the key-value API ---------------------------------------------------------------

  async put (key: string, value: Json): Promise<WriteReceipt> {
    return this.commit(this.state.put(key, value))
  }

  async delete (key: string): Promise<WriteReceipt | undefined> {
    const record = this.state.delete(key)
    return record === undefined ? undefined : this.commit(record)
  }

  async increment (key: string, by = 1): Promise<WriteReceipt> {
    return this.commit(this.state.increment(key, by))
  }

  async decrement (key: string, by = 1): Promise<WriteReceipt> {
    return this.commit(this.state.decrement(key, by))
  }

  async setAdd (key: string, element: Json): Promise<WriteReceipt> {
    return this.commit(this.state.setAdd(key, element))
  }

  async setRemove (key: string, element: Json): Promise<WriteReceipt | undefined> {
    const record = this.state.setRemove(key, element)
    return record === undefined ? undefined : this.commit(record)
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

  stats (): ReplicationStats {
    return this.log === undefined ? { ...this.counters } : { ...this.counters, log: this.log.stats() }
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

  private onGossip (data: Uint8Array): void {
    if (!this.running) return
    this.counters.gossipMessagesReceived++
    this.counters.gossipBytesReceived += data.byteLength
    this.receiveBatch(data)
  }

  /** Verify, apply and persist one batch from the network; returns how many were new. */
  private receiveBatch (data: Uint8Array): number {
    let records: WriteRecord[]
    try {
      records = decodeBatch(data)
    } catch {
      this.counters.malformed++
      return 0
    }
    const fresh: WriteRecord[] = []
    for (const record of records) {
      if (this.state.has(record.dot)) continue
      const signature = record.signature
      if (signature === undefined || !this.net.verify(record.dot.replica, signingBytes(record), signature)) {
        this.counters.rejected++
        continue
      }
      try {
        if (this.state.apply(record, 'remote') === 'applied') fresh.push(record)
      } catch {
        this.counters.rejected++
      }
    }
    this.counters.writesRemote += fresh.length
    if (fresh.length > 0 && this.log !== undefined) {
      const log = this.log
      this.pendingPersist = this.pendingPersist.then(async () => log.append(fresh.map(encodeRecord))).catch(() => {})
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
   * Both sides run the same session: send HELLO (our vector and digest), read theirs, send
   * the records they lack in bounded chunks, and apply what they send until DONE. The cost
   * follows the difference: the store answers "records after seq n of replica r" from an index.
   */
  private async syncSession (stream: MessageStream): Promise<void> {
    const send = (frame: SyncFrame): void => {
      const bytes = encodeSyncFrame(frame)
      this.counters.antiEntropyBytesSent += bytes.byteLength
      stream.send(bytes)
    }
    try {
      send({ type: 'hello', vector: this.state.versionVector(), digest: this.state.digest() })
      const first = await this.nextFrame(stream)
      if (first?.type !== 'hello') throw new Error('expected HELLO')
      this.counters.antiEntropyRounds++
      if (first.digest !== this.state.digest() || !sameVector(first.vector, this.state.versionVector())) {
        const missing = this.state.recordsSince(first.vector).filter((r) => this.offerable(r))
        this.counters.antiEntropyRecordsSent += missing.length
        for (const batch of encodeBatches(missing, { maxBytes: SYNC_LIMITS.chunkBytes, maxRecords: SYNC_LIMITS.chunkRecords })) {
          send({ type: 'records', batch })
        }
      }
      send({ type: 'done' })
      while (true) {
        const frame = await this.nextFrame(stream)
        if (frame === undefined || frame.type === 'done') break
        if (frame.type === 'records') this.counters.antiEntropyRecordsReceived += this.receiveBatch(frame.batch)
      }
      await stream.close()
    } catch (err) {
      stream.abort()
      throw err
    }
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

function sameVector (a: VectorClock, b: VectorClock): boolean {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((k) => a[k] === b[k])
}
