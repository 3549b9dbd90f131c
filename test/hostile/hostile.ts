/**
 * A member with the key that misbehaves: a real libp2p node of the cluster's network (it has
 * the PSK, if any, and a valid identity of its own) that runs none of hearsay's parts and
 * speaks their protocols by hand, so a test can send what an honest peer never would.
 *
 * Its own writes are validly sealed (it signs with its own key); what it cannot do is sign
 * for anyone else. Everything it sends goes through the project's own encoders, so a test
 * fails on what a peer does with the message, never on a home-made wire format.
 */
import { expect } from 'vitest'
import type { Cluster } from '../../src/harness/index.js'
import type { Peer } from '../../src/index.js'
import { createNetNode, decodeFrame, encodeFrame, FRAME_KIND, type MessageStream, type NetNode } from '../../src/net/index.js'
import { encodeMessage, decodeMessage, MEMBERSHIP_LIMITS, MEMBERSHIP_PROTOCOL_VERSION, type MembershipMessage, type MemberUpdate } from '../../src/membership/index.js'
import { encodeElectionMessage, ELECTION_PROTOCOL_VERSION, MAX_ELECTION_MESSAGE_BYTES, type ElectionMessage } from '../../src/election/index.js'
import {
  decodeSealedBatches, decodeSyncFrame, encodeSealedBatches, encodeSyncFrame, KV_PROTOCOL_VERSION, Provenance, ReplicaState,
  SYNC_LIMITS, SYNC_PROTOCOL_VERSION, type SealedBatch, type SyncFrame, type WriteRecord
} from '../../src/replica/index.js'

type Hello = Extract<SyncFrame, { type: 'hello' }>

export interface SyncScript {
  /** The HELLO it sends; by default it claims to hold nothing. */
  hello?: Partial<Omit<Hello, 'type'>>
  /** What follows the HELLO, in order. */
  frames?: SyncFrame[]
  /** End with DONE. @default true */
  done?: boolean
}

export interface SyncReply {
  /** Every frame the peer sent, up to its DONE. */
  frames: SyncFrame[]
  /** The records its RECORDS frames carried, with their batches. */
  batches: SealedBatch[]
}

export interface HostileOptions {
  /**
   * Answer membership probes and announce itself, so honest peers list it as an alive member
   * (their election listens only to members). @default false
   */
  member?: boolean
  /** The priority it announces as a member. @default 0 */
  priority?: number
  /** Indices of the peers it connects to; it blocks the others (both ways). @default every live peer */
  reach?: number[]
}

export class Hostile {
  readonly node: NetNode
  /** Its own replica: writes it makes here get the next dot of its own and a valid clock. */
  readonly state: ReplicaState
  /** Every message heard on the store's gossip topic, as it came. */
  readonly heard: Uint8Array[] = []
  readonly kvTopic: string
  private readonly provenance = new Provenance()
  private incarnation = 1
  private readonly priority: number

  private constructor (node: NetNode, options: HostileOptions) {
    this.node = node
    this.state = new ReplicaState(node.peerId)
    this.kvTopic = node.protocol('kv', KV_PROTOCOL_VERSION)
    this.priority = options.priority ?? 0
  }

  /** Starts the node and connects it to every live peer of the cluster, subscribed to the store's topic. */
  static async join (cluster: Cluster, options: HostileOptions = {}): Promise<Hostile> {
    const node = await createNetNode({}, { network: cluster.network, profile: 'local' })
    const hostile = new Hostile(node, options)
    await node.start()
    // It keeps what it hears and relays nothing (an honest node's gossipsub forwards what it accepts).
    node.subscribe(hostile.kvTopic, (message) => {
      hostile.heard.push(message.data)
      return 'ignore'
    })
    if (options.member === true) await hostile.answerMembership()
    const reach = options.reach ?? cluster.live()
    await node.block(cluster.live().filter((i) => !reach.includes(i)).map((i) => cluster.peers[i]!.peerId))
    const peers = reach.map((i) => cluster.peers[i]!)
    for (const peer of peers) await node.connect(peer.peerId, peer.addresses())
    await expect.poll(() => node.topicPeers(hostile.kvTopic).length, { timeout: 15_000 }).toBe(peers.length)
    // In their mesh, so what they relay reaches it too (a peer outside the mesh gets only what is published to it).
    await expect.poll(() => peers.every((p) => p.net.gossipMesh().find((t) => t.topic === hostile.kvTopic)?.peers.includes(node.peerId) === true), { timeout: 15_000 }).toBe(true)
    if (options.member === true) {
      for (const peer of peers) await hostile.membership(peer, { type: 'sync', updates: [hostile.alive()] })
      await expect.poll(() => peers.every((p) => p.members().some((m) => m.peerId === node.peerId && m.state === 'alive')), { timeout: 15_000 }).toBe(true)
    }
    return hostile
  }

  get peerId (): string {
    return this.node.peerId
  }

  async stop (): Promise<void> {
    await this.node.stop()
  }

  // --- the store ------------------------------------------------------------------------

  /** Joins what it heard by gossip into its own replica, so its next writes supersede it. */
  learn (): void {
    for (const message of this.heard) {
      for (const { batch } of decodeSealedBatches(message)) this.state.join(batch.records)
    }
  }

  /** One message of sealed batches (a gossip payload or a RECORDS frame) carrying these records of its own, signed once. */
  seal (records: readonly WriteRecord[]): Uint8Array {
    const sealed = this.provenance.sealOwn(this.peerId, records, (bytes) => this.node.sign(bytes), SYNC_LIMITS.chunkBytes)
    return encodeSealedBatches(sealed.map((s) => s.bytes))
  }

  /**
   * The same, but naming `author` as the batch's author while signing with its own key: what
   * it would need to pass off records as someone else's.
   */
  sealAs (author: string, records: readonly WriteRecord[]): Uint8Array {
    const sealed = new Provenance().sealOwn(author, records, (bytes) => this.node.sign(bytes), SYNC_LIMITS.chunkBytes)
    return encodeSealedBatches(sealed.map((s) => s.bytes))
  }

  async publish (message: Uint8Array): Promise<void> {
    await this.node.publish(this.kvTopic, message)
  }

  /**
   * One anti-entropy session with `target`, scripted: HELLO, the given frames, DONE; then it
   * reads until the peer's DONE (by then the peer has applied, or refused, what it sent).
   */
  async sync (target: Peer, script: SyncScript = {}): Promise<SyncReply> {
    const stream = await this.open(target, this.node.protocol('sync', SYNC_PROTOCOL_VERSION), SYNC_LIMITS.maxMessageBytes)
    stream.send(encodeSyncFrame({ type: 'hello', vector: {}, digest: 'nothing', horizon: {}, retired: '', ...script.hello }))
    for (const frame of script.frames ?? []) stream.send(encodeSyncFrame(frame))
    if (script.done !== false) stream.send(encodeSyncFrame({ type: 'done' }))
    const reply: SyncReply = { frames: [], batches: [] }
    try {
      for (let bytes = await stream.next({ timeout: 10_000 }); bytes !== undefined; bytes = await stream.next({ timeout: 10_000 })) {
        const frame = decodeSyncFrame(bytes)
        reply.frames.push(frame)
        if (frame.type === 'records') reply.batches.push(...decodeSealedBatches(frame.batch).map((d) => d.batch))
        if (frame.type === 'done') break
      }
    } finally {
      await stream.close()
    }
    return reply
  }

  // --- membership and election ----------------------------------------------------------

  /** Its own alive announcement, at its current incarnation. */
  alive (): MemberUpdate {
    return { kind: 'alive', peerId: this.peerId, incarnation: this.incarnation, addresses: this.node.addresses(), priority: this.priority, tags: {} }
  }

  /** The membership protocol peers speak: one long-lived stream per member, framed (src/net/channel.ts). */
  get membershipProtocol (): string {
    return this.node.protocol('membership', MEMBERSHIP_PROTOCOL_VERSION)
  }

  /** The election protocol peers speak, framed the same way. */
  get electionProtocol (): string {
    return this.node.protocol('election', ELECTION_PROTOCOL_VERSION)
  }

  /** Sends one membership message as a request and returns the reply, if the peer sends one. */
  async membership (target: Peer, message: MembershipMessage): Promise<MembershipMessage | undefined> {
    const stream = await this.open(target, this.membershipProtocol, MEMBERSHIP_LIMITS.maxMessageBytes + 16)
    try {
      stream.send(encodeFrame(FRAME_KIND.request, 1, encodeMessage(message)))
      while (true) {
        const bytes = await stream.next({ timeout: 5_000 })
        if (bytes === undefined) return undefined
        const frame = decodeFrame(bytes, MEMBERSHIP_LIMITS.maxMessageBytes)
        if (frame.id !== 1) continue
        if (frame.kind === FRAME_KIND.done) return undefined
        if (frame.kind === FRAME_KIND.reply) return decodeMessage(frame.body)
      }
    } finally {
      await stream.close().catch(() => { stream.abort() })
    }
  }

  /** Sends one election message, one-way (`from` is whoever the stream says: itself). */
  async election (target: Peer, message: Omit<ElectionMessage, 'from'>): Promise<void> {
    const stream = await this.open(target, this.electionProtocol, MAX_ELECTION_MESSAGE_BYTES + 16)
    stream.send(encodeFrame(FRAME_KIND.oneWay, undefined, encodeElectionMessage({ ...message, from: this.peerId } as ElectionMessage)))
    void stream.close().catch(() => { stream.abort() })
  }

  // --- raw streams ----------------------------------------------------------------------

  /** Opens a stream of one of our protocols to `target`, and sends nothing yet. */
  async open (target: Peer, protocol: string, maxMessageBytes = 1_048_576): Promise<MessageStream> {
    return this.node.openStream(target.peerId, protocol, { addresses: target.addresses(), maxMessageBytes, timeout: 5_000 })
  }

  /** Serves one of our protocols its own way (say, to stall a peer's outbound session). */
  async serve (protocol: string, handler: (stream: MessageStream) => Promise<void>, maxMessageBytes = 1_048_576): Promise<void> {
    await this.node.handle(protocol, async (stream) => { await handler(stream).catch(() => { stream.abort() }) }, { maxInboundStreams: 64, maxOutboundStreams: 64, maxMessageBytes })
  }

  /** Answers probes as a live member would: an ACK (or SYNC_REPLY) carrying its own alive update, on each framed request. */
  private async answerMembership (): Promise<void> {
    await this.node.handle(this.membershipProtocol, async (stream) => {
      try {
        for await (const bytes of stream) {
          const frame = decodeFrame(bytes, MEMBERSHIP_LIMITS.maxMessageBytes)
          if (frame.kind !== FRAME_KIND.request && frame.kind !== FRAME_KIND.oneWay) continue
          const message = decodeMessage(frame.body)
          // Claims about itself are refuted, as an honest member would.
          for (const u of message.updates) {
            if (u.peerId === this.peerId && u.kind !== 'alive' && u.incarnation >= this.incarnation) this.incarnation = u.incarnation + 1
          }
          if (frame.kind === FRAME_KIND.oneWay) continue
          const reply = message.type === 'ping' || message.type === 'ping-req'
            ? encodeMessage({ type: 'ack', ok: message.type === 'ping', updates: [this.alive()] })
            : message.type === 'sync' ? encodeMessage({ type: 'sync-reply', updates: [this.alive()] }) : undefined
          stream.send(reply === undefined ? encodeFrame(FRAME_KIND.done, frame.id, undefined) : encodeFrame(FRAME_KIND.reply, frame.id, reply))
        }
      } catch {
        stream.abort()
      }
    }, { maxInboundStreams: 256, maxOutboundStreams: 256, maxMessageBytes: MEMBERSHIP_LIMITS.maxMessageBytes + 16 })
  }
}

/** What users of a peer see: every key with a value, and every register's versions. */
export function userView (peer: Peer): unknown {
  const list = peer.kv.list('')
  return { list, versions: list.map(({ key }) => [key, peer.kv.versions(key).map((v) => [v.dot, v.value])]) }
}

/** Waits until the honest peers show the same data (not only the same digest: digests are over dots). */
export async function agree (peers: Peer[], timeout = 30_000): Promise<void> {
  await expect.poll(() => {
    const views = peers.map((p) => JSON.stringify(userView(p)))
    const digests = peers.map((p) => p.kv.digest())
    return views.every((v) => v === views[0]) && digests.every((d) => d === digests[0])
  }, { timeout, interval: 100 }).toBe(true)
}

/** An honest write made now reaches every other honest peer: they still serve and replicate. */
export async function stillReplicates (writer: Peer, readers: Peer[], key = `honest-${Math.random().toString(36).slice(2)}`, timeout = 15_000): Promise<void> {
  const receipt = await writer.kv.put(key, { by: writer.peerId })
  expect(receipt.dot.replica).toBe(writer.peerId)
  await expect.poll(() => readers.map((p) => p.kv.get(key)), { timeout, interval: 50 }).toEqual(readers.map(() => ({ by: writer.peerId })))
}
