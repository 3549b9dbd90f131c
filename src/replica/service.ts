/**
 * The replicated key-value store of one peer, for its whole life: the pure ReplicaState plus
 * its edges — the durable log (opened in `start()`), gossip of new writes, anti-entropy and
 * the GC horizon, each in its own module. This file is the lifecycle and the KV API.
 */
import { NotAWriterError, ReplicaNotStartedError, VersionMismatchError } from './errors.js'
import { formatVersion, parseVersion } from './version.js'
import { TypedEventTarget } from '../events.js'
import { rateLimited, silentLog, type Log } from '../log.js'
import type { ReplicationNet } from './net.js'
import { forProfile, type Profile } from '../profile.js'
import type { DurableLog } from '../storage/index.js'
import { ReplicaState } from './store.js'
import { compareHlc } from './hlc.js'
import { encodeRecord } from './codec.js'
import { logSnapshot, replayLog, type ReplayResult } from './replica-log.js'
import { GC_KEY, RETIRED_PREFIX, type HorizonValue, type Retirement } from './gc.js'
import { HorizonKeeper } from './horizon.js'
import { Intake, type AppliedBatch } from './intake.js'
import { Gossip } from './gossip.js'
import { Provenance } from './seal.js'
import { AntiEntropy, type RemoteVector } from './sync.js'
import { newCounters, type ReplicationStats } from './stats.js'
import type { Dot, Hlc, Json, ValueType, Version, VectorClock, WriteRecord } from './types.js'

export type { ReplicationNet } from './net.js'

export interface ReplicationComponents {
  net: ReplicationNet
  /**
   * Opens the durable log; called by every `start()`, and the log is closed by `stop()`.
   * Leave out to keep everything in memory.
   */
  openLog?: () => Promise<DurableLog>
  /** Members to run anti-entropy with. */
  members: () => Array<{ peerId: string, addresses: string[], state: string, self: boolean }>
  /** Where this part logs (a pino logger, or any with the same methods). @default silent */
  logger?: Log
  /**
   * Told of every write this replica applies, with how it came (for write tracing and
   * convergence). Called synchronously on the write path: it must be cheap and must not throw.
   */
  onApplied?: (batch: AppliedBatch) => void
}

export interface ReplicationInit {
  /** Timer defaults. @default 'lan' */
  profile?: Profile
  /** Spread writes over gossipsub; with `false` only anti-entropy moves them (tests). @default true */
  gossip?: boolean
  /** How often to run anti-entropy with one random member. @default 1_000 local, 10_000 lan (ms) */
  antiEntropyInterval?: number
  /**
   * Longest one anti-entropy session may last, either side; a repair cut short goes on in the
   * next round. @default 30_000 local, 120_000 lan (ms)
   */
  antiEntropySessionTimeout?: number
  /** @default 1024 (bytes) */
  maxKeyBytes?: number
  /** @default 1 MiB (bytes of JSON) */
  maxValueBytes?: number
  /**
   * Only these PeerIds may write: other peers' records are dropped (and counted) on arrival,
   * and a local write on a peer not listed is refused. @default anyone
   */
  writers?: string[]
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

/** A conditional write: it happens only when the key is as the caller last saw it, here. */
export interface PutOptions {
  /** The key's current version (`<author>/<seq>`, or its dot) must be this one. */
  ifVersion?: string | Dot
  /** The key must have no value. */
  ifAbsent?: boolean
}

/** A page of a listing: at most `limit` keys, strictly after `after`, in key order. */
export interface ListPage {
  limit?: number
  after?: string
}

/** What a write answers once it is durable: the dot that names it and its clock. */
export interface WriteReceipt {
  key: string
  dot: Dot
  hlc: Hlc
}

/** How often a peer runs anti-entropy with one random member, by profile (ms). */
const ANTI_ENTROPY_INTERVAL = { local: 1_000, lan: 10_000 } as const

/** Longest anti-entropy session, by profile (ms). */
const ANTI_ENTROPY_SESSION_TIMEOUT = { local: 30_000, lan: 120_000 } as const

export type { AppliedBatch, ArrivalPath } from './intake.js'
export type { RemoteVector } from './sync.js'
export type { ReplicationStats } from './stats.js'

/** The store of one peer, for its whole life: `start()` opens its log, `stop()` closes it. */
export function createReplication (components: ReplicationComponents, init: ReplicationInit = {}): Replication {
  return new Replication(components, init)
}

export class Replication extends TypedEventTarget<KvEvents> {
  private readonly net: ReplicationNet
  private readonly openLog: (() => Promise<DurableLog>) | undefined
  private log: DurableLog | undefined
  private readonly logger: Log
  private readonly onApplied: ((batch: AppliedBatch) => void) | undefined
  private readonly init: ReplicationInit
  private readonly state: ReplicaState
  /** For every record held, the batch seal that proves it its author's. */
  private readonly provenance = new Provenance()
  private readonly counters = newCounters()
  private writers: ReadonlySet<string> | undefined
  private readonly horizonKeeper: HorizonKeeper
  private readonly intake: Intake
  private readonly gossip: Gossip
  private readonly antiEntropy: AntiEntropy
  /** Own records up to this seq are durable; later ones are not offered to anyone yet. */
  private durableSeq = 0
  private replaying = false
  private running = false
  private pendingPersist: Promise<unknown> = Promise.resolve()

  constructor (components: ReplicationComponents, init: ReplicationInit = {}) {
    super()
    this.net = components.net
    this.openLog = components.openLog
    this.logger = components.logger ?? silentLog
    this.onApplied = components.onApplied
    this.init = init
    this.writers = init.writers === undefined ? undefined : new Set(init.writers)
    this.state = new ReplicaState(this.net.peerId, {
      ...(init.maxKeyBytes === undefined ? {} : { maxKeyBytes: init.maxKeyBytes }),
      ...(init.maxValueBytes === undefined ? {} : { maxValueBytes: init.maxValueBytes }),
      onChange: (change) => {
        if (HorizonKeeper.isBookkeeping(change.key)) this.horizonKeeper.changed()
        if (this.replaying) return
        this.emit('change', { key: change.key, value: this.state.get(change.key), origin: change.origin })
      }
    })
    this.horizonKeeper = new HorizonKeeper({
      state: this.state,
      provenance: this.provenance,
      counters: this.counters,
      logger: this.logger,
      log: () => this.log,
      running: () => this.running
    })
    const logPersistFailure = rateLimited(this.logger, 'warn')
    this.intake = new Intake({
      state: this.state,
      provenance: this.provenance,
      counters: this.counters,
      logDropped: rateLimited(this.logger, 'warn'),
      verify: (author, bytes, signature) => this.net.verify(author, bytes, signature),
      writers: () => this.writers,
      persist: (entries) => {
        const log = this.log
        if (log === undefined) return
        this.pendingPersist = this.pendingPersist
          .then(async () => { await log.append(entries, { durable: false }) })
          .catch((err: unknown) => {
            this.counters.persistFailures++
            logPersistFailure({ err, batches: entries.length }, 'could not keep received writes in the log: they stay applied, and a restart catches up on them by anti-entropy')
          })
      },
      ...(components.onApplied === undefined ? {} : { onApplied: components.onApplied }),
      afterApply: () => { this.horizonKeeper.afterApply() }
    })
    this.gossip = new Gossip({ net: this.net, intake: this.intake, provenance: this.provenance, counters: this.counters })
    this.antiEntropy = new AntiEntropy({
      net: this.net,
      state: this.state,
      intake: this.intake,
      provenance: this.provenance,
      horizon: this.horizonKeeper,
      counters: this.counters,
      logger: this.logger,
      members: components.members,
      // Our own writes are offered only once durable: a crash must not leave a dot others hold.
      offerable: (record) => record.dot.replica !== this.net.peerId || record.dot.seq <= this.durableSeq
    }, {
      interval: init.antiEntropyInterval ?? forProfile(ANTI_ENTROPY_INTERVAL, init.profile),
      sessionTimeout: init.antiEntropySessionTimeout ?? forProfile(ANTI_ENTROPY_SESSION_TIMEOUT, init.profile)
    })
  }

  async start (): Promise<void> {
    if (this.running) return
    if (this.openLog !== undefined) {
      const log = await this.openLog()
      this.replaying = true
      try {
        const replayed = await replayLog(log, this.state, this.provenance, (author, bytes, signature) => this.net.verify(author, bytes, signature))
        this.counters.malformed += replayed.malformed
        this.counters.rejectedBatches += replayed.rejectedBatches
        this.counters.rejected += replayed.rejected
        this.counters.snapshotEntriesLost += replayed.snapshotMissing
        this.logger.info({ records: this.state.recordCount(), keys: this.state.size(), malformed: replayed.malformed }, `replayed the log: ${this.state.size()} keys`)
        await this.repairLog(log, replayed)
      } catch (err) {
        await log.close().catch(() => {})
        throw err
      } finally {
        this.replaying = false
      }
      this.log = log
    }
    // Everything on disk is durable, our own writes included: resume after the highest.
    this.durableSeq = this.state.lastSeq
    this.horizonKeeper.refresh()
    this.running = true
    try {
      // A horizon published while we were down, if our own log already covers it.
      this.horizonKeeper.maybeAdopt()
      if (this.init.gossip !== false) this.gossip.start()
      await this.antiEntropy.start()
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /**
   * After a replay that dropped entries (damage the log's checksums missed) or withheld the
   * checkpoint's horizon (its snapshot came back incomplete), rewrites the log as what this
   * replica now holds: the next start must not meet the same damage again, nor take records
   * fetched again below the withheld horizon for stale appends the compaction had collected.
   * The lost records come back by anti-entropy.
   */
  private async repairLog (log: DurableLog, replayed: ReplayResult): Promise<void> {
    if (replayed.malformed + replayed.rejectedBatches + replayed.snapshotMissing === 0) return
    this.logger.warn({
      malformed: replayed.malformed,
      rejectedBatches: replayed.rejectedBatches,
      rejectedRecords: replayed.rejected,
      snapshotEntriesLost: replayed.snapshotMissing,
      ...(replayed.withheld === undefined ? {} : { withheldHorizon: replayed.withheld })
    }, replayed.withheld === undefined
      ? 'the log had damaged entries: they were dropped and the log rewritten; anti-entropy brings their records back'
      : 'the compacted log lost entries to damage: its GC horizon was not restored, so the lost records count as missing and anti-entropy brings them back (the log is rewritten)')
    try {
      await log.rewrite(logSnapshot(this.state, this.provenance))
    } catch (err) {
      this.logger.warn({ err }, 'could not rewrite the damaged log; it stays as it was and the next start replays it the same way')
    }
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.gossip.stop()
    await this.antiEntropy.stop()
    await this.pendingPersist
    await this.horizonKeeper.idle()
    await this.log?.close()
    this.log = undefined
  }

  // --- the key-value API ---------------------------------------------------------------

  /**
   * Writes a value; resolves once durable. With `ifVersion` / `ifAbsent` the write happens only
   * when the key is, on this peer, as given (else VersionMismatchError): a local check in an
   * AP store, so conditional writes made concurrently on two peers both succeed and become
   * siblings, which `versions` shows.
   */
  async put (key: string, value: Json, options: PutOptions = {}): Promise<WriteReceipt> {
    this.assertWriter()
    if (options.ifVersion !== undefined || options.ifAbsent === true) this.checkCondition(key, options)
    return this.commit(this.state.put(key, value))
  }

  private checkCondition (key: string, options: PutOptions): void {
    const winner = this.state.versions(key)[0]?.dot
    const current = winner === undefined ? undefined : formatVersion(winner)
    if (options.ifAbsent === true && this.state.get(key) !== undefined) {
      throw new VersionMismatchError(`key ${JSON.stringify(key)} has a value here (version ${current ?? 'of another type'}): the write was not made`, current)
    }
    if (options.ifVersion !== undefined) {
      const wanted = typeof options.ifVersion === 'string' ? parseVersion(options.ifVersion) : options.ifVersion
      if (winner === undefined || winner.replica !== wanted.replica || winner.seq !== wanted.seq) {
        throw new VersionMismatchError(`key ${JSON.stringify(key)} is at version ${current ?? '(none)'} here, not ${formatVersion(wanted)}: the write was not made`, current)
      }
    }
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

  /**
   * Replaces the writers list (`undefined`: anyone may write) from now on: records that arrive
   * later, and local writes, are checked against the new list; what was applied stays.
   */
  setWriters (writers: readonly string[] | undefined): void {
    this.writers = writers === undefined ? undefined : new Set(writers)
  }

  get (key: string): Json | undefined {
    return this.state.get(key)
  }

  versions (key: string): Version[] {
    return this.state.versions(key)
  }

  /** Entries under `prefix` in key order: all, or one page. The cost follows the page, not the store. */
  list (prefix = '', page: ListPage = {}): Array<{ key: string, value: Json }> {
    return this.state.list(prefix, page).map(([key, value]) => ({ key, value }))
  }

  /** Names of the keys with a value under `prefix`, in order: all, or one page. */
  keys (prefix = '', page: ListPage = {}): string[] {
    return this.state.list(prefix, page).map(([key]) => key)
  }

  /** The key's current version (`<author>/<seq>` of its register winner), or undefined. */
  version (key: string): string | undefined {
    const winner = this.state.versions(key)[0]
    return winner === undefined ? undefined : formatVersion(winner.dot)
  }

  /** What the key holds (`register`, `counter` or `set`), or undefined when it has no value. */
  typeOf (key: string): ValueType | undefined {
    return this.state.typeOf(key)
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

  // --- what the maintenance jobs and the observer read, and write through ----------------

  /** The last HELLO of every peer we ran anti-entropy with: what the GC coordinator decides on. */
  remoteVectors (): Map<string, RemoteVector> {
    return this.antiEntropy.remoteVectors()
  }

  /** Run one anti-entropy exchange with a peer now. */
  async syncWith (peerId: string, addresses: string[]): Promise<void> {
    await this.antiEntropy.syncWith(peerId, addresses)
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
    return this.horizonKeeper.published()
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
    return this.horizonKeeper.retirements()
  }

  /** Publishes a GC horizon (the coordinator's `hearsay.gc` job): every replica that covers it adopts it. */
  async publishHorizon (vector: VectorClock, term: number): Promise<WriteReceipt> {
    const value: HorizonValue = { vector, term }
    return this.put(GC_KEY, value as unknown as Json)
  }

  /** Retires a departed replica at `seq` (the coordinator's `hearsay.prune` job). */
  async retire (replica: string, seq: number, term: number): Promise<WriteReceipt> {
    const value: Retirement = { seq, term }
    return this.put(`${RETIRED_PREFIX}${replica}`, value as unknown as Json)
  }

  stats (): ReplicationStats {
    const { collected, dropped } = this.state.gcCounts()
    const counters = { ...this.counters, recordsCollected: collected, recordsDropped: dropped }
    return this.log === undefined ? counters : { ...counters, log: this.log.stats() }
  }

  // --- writes ----------------------------------------------------------------------------

  private assertWriter (): void {
    if (this.openLog !== undefined && !this.running) {
      throw new ReplicaNotStartedError('the store is not running, so a write could not be made durable: start the peer first')
    }
    if (this.writers !== undefined && !this.writers.has(this.net.peerId)) {
      throw new NotAWriterError(`this peer (${this.net.peerId}) is not on the network's writers list: only listed peers may write`)
    }
  }

  /** A local write is acknowledged once durable, and only then offered to others. */
  private async commit (record: WriteRecord): Promise<WriteReceipt> {
    this.counters.writesLocal++
    const now = Date.now()
    this.onApplied?.({ path: 'local', from: this.net.peerId, receivedAt: now, appliedAt: now, records: [record] })
    if (this.log !== undefined) await this.log.append([encodeRecord(record)])
    if (record.dot.seq > this.durableSeq) this.durableSeq = record.dot.seq
    this.gossip.send(record)
    return { key: record.key, dot: record.dot, hlc: record.hlc }
  }
}
