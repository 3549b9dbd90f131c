/**
 * Anti-entropy: on every new connection and every interval, two peers exchange version
 * vectors, digests and GC horizons over a direct stream and send each other exactly the
 * records the other lacks, found through the store's per-author index, so the cost follows
 * the size of the difference, not of the store. Gossip is lossy; this is what makes
 * convergence a guarantee.
 */
import type { DetailEvent } from '../events.js'
import { rateLimited, type Log, type LogFn } from '../log.js'
import { StreamMessageTooLargeError, StreamTimeoutError, type MessageStream } from '../net/index.js'
import { SyncProtocolError } from './errors.js'
import type { HorizonKeeper } from './horizon.js'
import type { Intake } from './intake.js'
import { corroborated, horizonOffer, Session } from './session.js'
import type { Provenance } from './seal.js'
import { encodeSealedBatches } from './seal-codec.js'
import { DEFAULT_MAX_BATCH_RECORDS, LEGACY_SYNC_PROTOCOL_VERSION, SYNC_PROTOCOL_VERSION } from './constants.js'
import type { ReplicationCounters } from './stats.js'
import type { ReplicaState } from './store.js'
import { decodeSyncFrame, encodeSyncFrame, SYNC_LIMITS, type SyncFrame } from './sync-codec.js'
import type { VectorClock, WriteRecord } from './types.js'
import { expandRetired, omitRetired, sameVector } from './version-vector.js'
import type { ReplicationNet } from './net.js'

/** The last HELLO a remote peer sent us in anti-entropy. */
export interface RemoteVector {
  /** Its version vector, retired replicas filled in when we know the same retirements. */
  vector: VectorClock
  /** The GC horizon it had adopted. */
  horizon: VectorClock
  /** Its replica digest: equal to ours exactly when it held the same writes. */
  digest?: string
  /** When it arrived (ms since the epoch). */
  at: number
}

export interface AntiEntropyComponents {
  net: Pick<ReplicationNet, 'peerId' | 'protocol' | 'handle' | 'unhandle' | 'openStream' | 'addEventListener' | 'removeEventListener' | 'sign'>
  state: ReplicaState
  intake: Intake
  provenance: Provenance
  horizon: HorizonKeeper
  counters: ReplicationCounters
  logger: Log
  /** Members to run anti-entropy with. */
  members: () => Array<{ peerId: string, addresses: string[], state: string, self: boolean }>
  /** Whether a record may be offered to others (our own only once durable). */
  offerable: (record: WriteRecord) => boolean
}

export interface AntiEntropyInit {
  /** How often to run a round with one random alive member (ms). */
  interval: number
  /**
   * Longest a session may last, either side (ms): a peer that sends a frame just often enough
   * not to time out must not hold a session (and with it our rounds, which run one at a time)
   * for ever. A repair cut short goes on in the next round from where it stopped.
   */
  sessionTimeout: number
}

/** Longest wait for the peer's next frame (ms). */
const FRAME_TIMEOUT = 10_000

export class AntiEntropy {
  private readonly c: AntiEntropyComponents
  private readonly protocol: string
  private readonly legacyProtocol: string
  private readonly logLegacy: LogFn
  private readonly interval: number
  private readonly sessionTimeout: number
  private readonly syncing = new Set<string>()
  private readonly remotes = new Map<string, RemoteVector>()
  private timer: NodeJS.Timeout | undefined
  private running = false

  private readonly onConnect = (event: DetailEvent<string>): void => {
    // Both ends see the new connection; one session is enough (it repairs both ways), so the
    // lower PeerId starts it. Periodic rounds cover a session that fails.
    if (this.c.net.peerId < event.detail) void this.syncWith(event.detail, []).catch(() => {})
  }

  constructor (components: AntiEntropyComponents, init: AntiEntropyInit) {
    this.c = components
    this.protocol = components.net.protocol('sync', SYNC_PROTOCOL_VERSION)
    this.legacyProtocol = components.net.protocol('sync', LEGACY_SYNC_PROTOCOL_VERSION)
    this.logLegacy = rateLimited(components.logger, 'warn')
    this.interval = init.interval
    this.sessionTimeout = init.sessionTimeout
  }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    await this.c.net.handle(this.protocol, async (stream) => {
      await this.session(stream).catch((err: unknown) => { this.failed(stream.remotePeer, err) })
    }, {
      maxInboundStreams: 32,
      maxOutboundStreams: 32,
      maxMessageBytes: SYNC_LIMITS.maxMessageBytes
    })
    // A peer of the older format (every record signed on its own) must not be misread: say so and hang up.
    await this.c.net.handle(this.legacyProtocol, (stream) => {
      this.logLegacy({ peer: stream.remotePeer }, `peer ${stream.remotePeer} speaks the older anti-entropy format (${this.legacyProtocol}, a signature per record): it cannot sync with this peer until it is upgraded`)
      stream.abort()
    }, { maxInboundStreams: 1, maxOutboundStreams: 1, maxMessageBytes: 1024 })
    this.c.net.addEventListener('peer:connect', this.onConnect)
    this.schedule()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.timer)
    this.c.net.removeEventListener('peer:connect', this.onConnect)
    await this.c.net.unhandle(this.protocol).catch(() => {})
    await this.c.net.unhandle(this.legacyProtocol).catch(() => {})
  }

  /** The last HELLO of every peer we ran anti-entropy with: what the GC coordinator decides on. */
  remoteVectors (): Map<string, RemoteVector> {
    return new Map([...this.remotes].map(([peer, v]) => [peer, { vector: { ...v.vector }, horizon: { ...v.horizon }, digest: v.digest, at: v.at }]))
  }

  /** Runs one exchange with a peer now; rejects when it fails (and counts the failure). */
  async syncWith (peerId: string, addresses: string[]): Promise<void> {
    if (!this.running || peerId === this.c.net.peerId || this.syncing.has(peerId)) return
    this.syncing.add(peerId)
    try {
      const stream = await this.c.net.openStream(peerId, this.protocol, {
        addresses, maxMessageBytes: SYNC_LIMITS.maxMessageBytes, timeout: 5_000
      })
      await this.session(stream)
    } catch (err) {
      this.failed(peerId, err)
      throw err
    } finally {
      this.syncing.delete(peerId)
    }
  }

  private failed (peer: string, err: unknown): void {
    this.c.counters.antiEntropyFailures++
    this.c.logger.debug({ peer, err }, 'anti-entropy session failed; the next round repairs what it did not')
  }

  private schedule (): void {
    if (!this.running) return
    const delay = Math.round(this.interval * (0.9 + Math.random() * 0.2))
    this.timer = setTimeout(() => {
      const candidates = this.c.members().filter((m) => !m.self && m.state === 'alive')
      const target = candidates[Math.floor(Math.random() * candidates.length)]
      const round = target === undefined ? Promise.resolve() : this.syncWith(target.peerId, target.addresses)
      void round.catch(() => {}).finally(() => { this.schedule() })
    }, delay)
  }

  /**
   * Both sides run the same session: send HELLO (our vector, digest and GC horizon), read
   * theirs; when they have not adopted our horizon, send it with the dots we still hold
   * below it (HORIZON); send the records they lack in bounded chunks; apply what they send
   * until DONE, then act on their horizon.
   */
  private async session (stream: MessageStream): Promise<void> {
    const { state, counters, horizon } = this.c
    const send = (frame: SyncFrame): void => {
      const bytes = encodeSyncFrame(frame)
      counters.antiEntropyBytesSent += bytes.byteLength
      stream.send(bytes)
    }
    // Only dots held here are remembered of what the peer vouches for: a peer listing dots
    // we never had cannot grow the session without bound.
    const session = new Session((dot) => state.has(dot))
    const deadline = Date.now() + this.sessionTimeout
    try {
      const retired = horizon.retirements()
      send({ type: 'hello', vector: omitRetired(state.versionVector(), retired), digest: state.digest(), horizon: state.horizon(), retired: horizon.retirementsName() })
      const first = await this.nextFrame(stream, deadline)
      if (first?.type !== 'hello') throw new SyncProtocolError(`expected HELLO from ${stream.remotePeer}, got ${first?.type ?? 'end of stream'}`)
      counters.antiEntropyRounds++
      // Left-out replicas mean "complete at the retired seq" only under the same retirements.
      const theirs = first.retired !== '' && first.retired === horizon.retirementsName() ? expandRetired(first.vector, retired) : first.vector
      this.remotes.set(stream.remotePeer, { vector: theirs, horizon: first.horizon, digest: first.digest, at: Date.now() })
      // No await between the dot list and the choice of records to send: they must be one
      // snapshot of the store (a record collected in between would be neither listed nor sent).
      const offer = horizonOffer(state, first.horizon, theirs)
      if (offer.length > 0) counters.horizonOffersSent++
      for (const frame of offer) send(frame)
      if (first.digest !== state.digest() || !sameVector(theirs, state.versionVector())) {
        const missing = state.recordsSince(theirs).filter((r) => this.c.offerable(r))
        counters.antiEntropyRecordsSent += missing.length
        // Chunk by chunk, yielding between them: a large repair must not stall the event loop
        // (and with it every timer of this peer and its neighbours in the same process).
        for (const frame of this.frames(missing)) {
          send({ type: 'records', batch: frame })
          await yieldToEventLoop()
          if (Date.now() >= deadline) throw this.overtime(stream.remotePeer)
        }
      }
      send({ type: 'done' })
      while (true) {
        const frame = await this.nextFrame(stream, deadline)
        if (frame === undefined) {
          session.clean = false
          break
        }
        if (frame.type === 'done') break
        if (frame.type === 'records') {
          const arrival = { path: 'anti-entropy' as const, from: stream.remotePeer, receivedAt: Date.now() }
          counters.antiEntropyRecordsReceived += this.c.intake.receive(frame.batch, arrival, session).fresh
        }
        if (frame.type === 'horizon') session.offered(frame)
      }
      horizon.settle(session, (offered) => this.corroborated(stream.remotePeer, offered))
      this.c.logger.debug({ peer: stream.remotePeer, clean: session.clean }, 'anti-entropy session done')
      await stream.close()
    } catch (err) {
      stream.abort()
      throw err
    }
  }

  /**
   * The records, each in a batch with the seal that proves it (our own not yet sealed get one
   * now), packed into RECORDS frames of about SYNC_LIMITS.chunkBytes. Records whose author's
   * seal is unknown here (written before seals existed) cannot be proven, so they stay.
   */
  private * frames (records: readonly WriteRecord[]): Generator<Uint8Array> {
    const { provenance, net } = this.c
    const { batches, unsealed } = provenance.relay(records, SYNC_LIMITS.chunkBytes)
    const own = unsealed.filter((r) => r.dot.replica === net.peerId)
    for (const sealed of provenance.sealOwn(net.peerId, own, (b) => net.sign(b), SYNC_LIMITS.chunkBytes)) {
      batches.push({ bytes: sealed.bytes, records: sealed.records.length })
    }
    let frame: Uint8Array[] = []
    let size = 0
    let count = 0
    for (const batch of batches) {
      // The receiver's decoder takes at most DEFAULT_MAX_BATCH_RECORDS records in one message.
      if (frame.length > 0 && (size + batch.bytes.byteLength > SYNC_LIMITS.chunkBytes || count + batch.records > DEFAULT_MAX_BATCH_RECORDS)) {
        yield encodeSealedBatches(frame)
        frame = []
        size = 0
        count = 0
      }
      frame.push(batch.bytes)
      size += batch.bytes.byteLength
      count += batch.records
    }
    if (frame.length > 0) yield encodeSealedBatches(frame)
  }

  /** See `corroborated` (session.ts): the current members are asked here, the rule is there. */
  private corroborated (offering: string, horizon: VectorClock): boolean {
    const current = this.c.members().filter((m) => !m.self && (m.state === 'alive' || m.state === 'suspect'))
    if (!current.some((m) => m.peerId === offering)) return false
    const others = current.filter((m) => m.peerId !== offering).map((m) => this.remotes.get(m.peerId)?.vector)
    return corroborated(offering, horizon, others, this.c.state.highestSeq(offering))
  }

  private overtime (peer: string): SyncProtocolError {
    return new SyncProtocolError(`the anti-entropy session with ${peer} took longer than ${this.sessionTimeout} ms: cut short, the next round goes on`)
  }

  private async nextFrame (stream: MessageStream, deadline: number): Promise<SyncFrame | undefined> {
    const left = deadline - Date.now()
    if (left <= 0) throw this.overtime(stream.remotePeer)
    let bytes: Uint8Array | undefined
    try {
      bytes = await stream.next({ timeout: Math.min(FRAME_TIMEOUT, left) })
    } catch (err) {
      // A frame over the limit is refused before it is read: count it with what did not decode.
      if (err instanceof StreamMessageTooLargeError) this.c.counters.malformed++
      if (err instanceof StreamTimeoutError && Date.now() >= deadline) throw this.overtime(stream.remotePeer)
      throw err
    }
    if (bytes === undefined) return undefined
    this.c.counters.antiEntropyBytesReceived += bytes.byteLength
    try {
      return decodeSyncFrame(bytes)
    } catch (err) {
      this.c.counters.malformed++
      throw err
    }
  }
}

async function yieldToEventLoop (): Promise<void> {
  await new Promise<void>((resolve) => { setImmediate(resolve) })
}
