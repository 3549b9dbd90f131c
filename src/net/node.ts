import { createLibp2p, type Libp2p } from 'libp2p'
import { silentLog, type Log } from '../log.js'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { gossipsub, type GossipSub, type GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Identify } from '@libp2p/identify'
import type { PingService } from '@libp2p/ping'
import type { PeerId, PrivateKey, Message, PubSub } from '@libp2p/interface'
import { createHash } from 'node:crypto'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { Registry } from 'prom-client'
import { TypedEventTarget } from '../events.js'
import {
  protocolId, NETWORK_NAME_PATTERN, DEFAULT_LISTEN, DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_DIAL_TIMEOUT, LOCAL_DISCOVERY, LAN_DISCOVERY, type DiscoveryTiming
} from './constants.js'
import { InvalidMultiaddrError, InvalidNetworkNameError, InvalidPeerIdError, NotStartedError } from './errors.js'
import { loadOrCreateKey, generateKey, withCachedSigner, SignatureVerifier } from './identity.js'
import { PartitionGater } from './gater.js'
import { DhtDiscovery, networkKey, type DiscoveredPeer } from './discovery.js'
import { BootstrapDialer } from './bootstrap.js'
import { wrapStream, type MessageStream } from './stream.js'
import { validatePsk } from './pnet.js'
import { lanAnnounceFilter } from './announce.js'
import { openEnvelope, seal } from './envelope.js'
import { rateLimited } from '../log.js'

export type Profile = 'local' | 'lan'

export interface NetInit {
  /** Network name; part of every protocol id. @default 'default' */
  network?: string
  /** Directory holding the peer key. `undefined` → a fresh identity (an in-memory peer). */
  dataDir?: string
  /** @default ['/ip4/127.0.0.1/tcp/0'] */
  listen?: string[]
  /** Multiaddrs of peers to join through. */
  bootstrap?: string[]
  /** `local` keeps loopback addresses in the DHT and uses fast timers; `lan` is for real networks. @default 'lan' */
  profile?: Profile
  /** Override DHT discovery timing of the profile. */
  discovery?: Partial<DiscoveryTiming>
  /** A pre-shared key for a private network (the file contents `key gen-psk` writes). */
  psk?: Uint8Array
  /** Largest message on a hearsay stream protocol. @default 1_114_112 (bytes) */
  maxMessageBytes?: number
  /** Register libp2p's own metrics here (one registry per peer: several peers share a process). */
  metricsRegistry?: Registry
  /** Where this part logs (a pino logger, or any with the same methods). @default silent */
  logger?: Log
}

export interface NetEvents extends Record<string, unknown> {
  'peer:connect': string
  'peer:disconnect': string
  /** A member of this network found through the DHT. */
  'peer:discovered': DiscoveredPeer
  /** The remote's protocols are known (identify finished). */
  'peer:identify': { peerId: string, protocols: string[] }
}

export interface StreamHandlerOptions {
  maxInboundStreams?: number
  maxOutboundStreams?: number
  maxMessageBytes?: number
}

export interface OpenStreamOptions {
  /** Addresses to try if the peer is not connected. */
  addresses?: string[]
  signal?: AbortSignal
  /** @default 5_000 (ms) */
  timeout?: number
  maxMessageBytes?: number
}

export interface ConnectionInfo {
  peerId: string
  address: string
  direction: 'inbound' | 'outbound'
}

export interface PubsubMessage {
  topic: string
  data: Uint8Array
  /**
   * On a topic subscribed with `{ signed: true }`: the PeerId whose signature over the payload
   * verified. Gossip envelopes carry no libp2p signature (StrictNoSign), so on other topics the
   * sender is unknown and this is undefined.
   */
  from: string | undefined
  /** The neighbour this copy arrived from (the author itself, or a mesh peer relaying it). */
  via: string
}

export interface TopicOptions {
  /** Seal (publish) or require (subscribe) the sender's signature over each payload. @default false */
  signed?: boolean
}

/** One gossipsub topic this node is subscribed to, and its mesh peers there. */
export interface TopicMesh {
  topic: string
  /** PeerIds this node exchanges full messages with on the topic. */
  peers: string[]
}

/**
 * The peer's libp2p node behind an interface of strings and bytes: no libp2p type crosses
 * this boundary, so a move to libp2p 3 touches `src/net` alone.
 */
export interface NetNode extends TypedEventTarget<NetEvents> {
  readonly peerId: string
  readonly network: string
  readonly profile: Profile
  start (): Promise<void>
  stop (): Promise<void>
  isStarted (): boolean
  /** The addresses others can dial, each ending in /p2p/<peerId>. */
  addresses (): string[]
  protocol (part: string, version?: string): string
  handle (protocol: string, handler: (stream: MessageStream) => void | Promise<void>, options?: StreamHandlerOptions): Promise<void>
  unhandle (protocol: string): Promise<void>
  openStream (peerId: string, protocol: string, options?: OpenStreamOptions): Promise<MessageStream>
  connect (peerId: string, addresses: string[], signal?: AbortSignal): Promise<void>
  /** Dial a multiaddr (with or without /p2p/); resolves with the remote's PeerId. */
  dial (address: string, signal?: AbortSignal): Promise<string>
  hangUp (peerId: string): Promise<void>
  connections (): ConnectionInfo[]
  isConnected (peerId: string): boolean
  /** Known addresses of a peer (from identify, the DHT or membership). */
  peerAddresses (peerId: string): Promise<string[]>
  /** Look up the members of this network in the DHT now. */
  lookupMembers (timeout: number): Promise<DiscoveredPeer[]>
  /** With `signed`, only messages sealed by `publish(..., { signed: true })` whose signature verifies reach `handler`. */
  subscribe (topic: string, handler: (message: PubsubMessage) => void, options?: TopicOptions): void
  unsubscribe (topic: string): void
  /** With `signed`, the payload is sealed with this peer's signature (for topics whose receivers must know the sender). */
  publish (topic: string, data: Uint8Array, options?: TopicOptions): Promise<number>
  topicPeers (topic: string): string[]
  /** The gossipsub mesh of every topic this node is subscribed to (diagnostics: the dashboard's graph). */
  gossipMesh (): TopicMesh[]
  /** Cut this node off from these peers: deny dials both ways and close open connections. */
  block (peerIds: string[]): Promise<void>
  /** Lift a block (all blocks when no list is given); reconnecting is the parts' own job. */
  unblock (peerIds?: string[]): void
  blocked (): string[]
  /** Sign with the peer's key (Ed25519). */
  sign (data: Uint8Array): Uint8Array
  /** Check `signature` over `data` against the key inside `author` (a PeerId); false for anything invalid. */
  verify (author: string, data: Uint8Array, signature: Uint8Array): boolean
}


type Services = { identify: Identify, ping: PingService, dht: KadDHT, pubsub: PubSub<GossipsubEvents> }

export async function createNetNode (init: NetInit = {}): Promise<NetNode> {
  const network = init.network ?? 'default'
  if (!NETWORK_NAME_PATTERN.test(network)) throw new InvalidNetworkNameError(network)
  const listen = init.listen ?? DEFAULT_LISTEN
  for (const addr of [...listen, ...(init.bootstrap ?? [])]) parseMultiaddr(addr)
  if (init.psk !== undefined) validatePsk(init.psk)
  const privateKey = init.dataDir === undefined ? await generateKey() : await loadOrCreateKey(init.dataDir)
  return new Libp2pNetNode(network, withCachedSigner(privateKey), init)
}

export function parseMultiaddr (addr: string): Multiaddr {
  try {
    return multiaddr(addr)
  } catch (err) {
    throw new InvalidMultiaddrError(addr, err)
  }
}

export function parsePeerId (peerId: string): PeerId {
  try {
    return peerIdFromString(peerId)
  } catch (err) {
    throw new InvalidPeerIdError(peerId, err)
  }
}

class Libp2pNetNode extends TypedEventTarget<NetEvents> implements NetNode {
  readonly peerId: string
  readonly network: string
  readonly profile: Profile
  private readonly privateKey: PrivateKey
  private readonly init: NetInit
  private readonly gater = new PartitionGater()
  private readonly maxMessageBytes: number
  private readonly handlers = new Map<string, { handler: (message: PubsubMessage) => void, signed: boolean }>()
  private logDropped: (fields: Record<string, unknown>, message: string) => void = () => {}
  private readonly verifier = new SignatureVerifier()
  private libp2p: Libp2p<Services> | undefined
  private discovery: DhtDiscovery | undefined
  private bootstrapDialer: BootstrapDialer | undefined

  constructor (network: string, privateKey: PrivateKey, init: NetInit) {
    super()
    this.network = network
    this.privateKey = privateKey
    this.init = init
    this.profile = init.profile ?? 'lan'
    this.maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.peerId = privateKey.publicKey.toString()
  }

  protocol (part: string, version?: string): string {
    return protocolId(this.network, part, version)
  }

  isStarted (): boolean {
    return this.libp2p !== undefined
  }

  async start (): Promise<void> {
    if (this.libp2p !== undefined) return
    const local = this.profile === 'local'
    const timing = { ...(local ? LOCAL_DISCOVERY : LAN_DISCOVERY), ...this.init.discovery }
    const protector = this.init.psk === undefined ? undefined : await loadPnet(this.init.psk)
    const node = await createLibp2p<Services>({
      start: false,
      privateKey: this.privateKey,
      addresses: {
        listen: this.init.listen ?? DEFAULT_LISTEN,
        ...(local ? {} : { announceFilter: lanAnnounceFilter })
      },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: this.gater,
      ...(this.init.metricsRegistry === undefined
        ? {}
        : { metrics: prometheusMetrics({ registry: this.init.metricsRegistry, collectDefaultMetrics: false, preserveExistingMetrics: true }) }),
      ...(protector === undefined ? {} : { connectionProtector: protector }),
      connectionManager: {
        // Every peer on this machine is one host: without this, libp2p's per-host inbound
        // rate limit refuses most of a local cluster's connections.
        allow: ['/ip4/127.0.0.1', '/ip6/::1'],
        dialTimeout: DEFAULT_DIAL_TIMEOUT
      },
      services: {
        identify: identify({ protocolPrefix: `hearsay/${this.network}` }),
        ping: ping({ protocolPrefix: `hearsay/${this.network}` }),
        dht: kadDHT({
          protocol: this.protocol('kad'),
          clientMode: false,
          // kad-dht drops private addresses by default; on loopback or a LAN that leaves every
          // routing table empty. hearsay networks live on such networks, so keep them all.
          peerInfoMapper: passthroughMapper,
          initialQuerySelfInterval: timing.initialQuerySelfInterval,
          logPrefix: `hearsay:${this.network}:kad`
        }),
        pubsub: gossipsub({
          // No libp2p signature on gossip (DESIGN, "Signatures"): what the kv topic carries is
          // signed by its authors, and topics that need their sender seal their payload (see
          // envelope.ts). StrictSign cost one sign and a verify per receiver on every message,
          // ~4 of the ~5.5 ms of CPU a message cost among 5 peers. The id is a hash of topic and
          // content, so a duplicate copy from the mesh is dropped before anything decodes it.
          globalSignaturePolicy: 'StrictNoSign',
          msgIdFn: (message) => contentId(message.topic, message.data),
          fastMsgIdFn: (message) => Buffer.from(contentId(message.topic ?? '', message.data ?? new Uint8Array(0))).toString('base64'),
          allowPublishToZeroTopicPeers: false,
          emitSelf: false,
          // One mesh per network: the gossipsub protocol id carries the network name too.
          debugName: `hearsay:${this.network}`
        })
      }
    })
    ;(node.services.pubsub as GossipSub).multicodecs = [this.protocol('meshsub', MESHSUB_VERSION)]
    const logger = this.init.logger ?? silentLog
    this.logDropped = rateLimited(logger, 'warn')
    node.addEventListener('peer:connect', (evt) => {
      logger.debug({ peer: evt.detail.toString() }, 'connected')
      this.emit('peer:connect', evt.detail.toString())
    })
    node.addEventListener('peer:disconnect', (evt) => {
      logger.debug({ peer: evt.detail.toString() }, 'disconnected')
      this.emit('peer:disconnect', evt.detail.toString())
    })
    node.addEventListener('connection:open', (evt) => {
      // A connection that passed the gater just before a block() would otherwise outlive it.
      const connection = evt.detail
      if (this.gater.isBlocked(connection.remotePeer.toString())) void connection.close().catch(() => { connection.abort(new Error('blocked')) })
    })
    node.addEventListener('peer:identify', (evt) => {
      const protocols = evt.detail.protocols
      const ours = this.protocol('meshsub', MESHSUB_VERSION)
      if (!protocols.includes(ours) && protocols.some((p) => p.startsWith(`/hearsay/${this.network}/meshsub/`))) {
        this.logDropped({ peer: evt.detail.peerId.toString(), theirs: protocols.filter((p) => p.includes('/meshsub/')), ours },
          'a peer speaks an older gossip format (signed gossipsub envelopes): its gossip is refused; upgrade it to the same hearsay version')
      }
      this.emit('peer:identify', { peerId: evt.detail.peerId.toString(), protocols: evt.detail.protocols })
    })
    // gossipsub:message, not message: it also names the neighbour the copy came from.
    node.services.pubsub.addEventListener('gossipsub:message', (evt) => { this.onPubsubMessage(evt.detail.msg, evt.detail.propagationSource.toString()) })
    await node.start()
    this.libp2p = node

    this.discovery = new DhtDiscovery({
      contentRouting: node.contentRouting,
      selfId: this.peerId,
      onFound: (peer) => { this.emit('peer:discovered', peer) },
      onError: (err) => {
        // Lookups fail routinely while the routing table is empty; the next round retries.
        logger.debug({ err }, 'DHT lookup of the network\'s members failed')
      }
    }, { key: await networkKey(this.network), timing })
    this.discovery.start()

    this.bootstrapDialer = new BootstrapDialer({
      addresses: this.init.bootstrap ?? [],
      dial: async (address, signal) => { await this.dial(address, signal) },
      connectionCount: () => this.libp2p?.getConnections().length ?? 0,
      minDelay: local ? 100 : 1_000,
      maxDelay: local ? 2_000 : 30_000,
      onFailure: (errors, retryIn) => {
        const reasons = errors.map((e) => e instanceof Error ? e.message : String(e))
        logger.warn({ bootstrap: this.init.bootstrap, reasons, retryIn }, `no bootstrap address answered; trying again in ${retryIn} ms`)
      }
    })
    this.bootstrapDialer.start()
    logger.info({ addresses: this.addresses(), network: this.network }, `listening on ${this.addresses().length} addresses`)
  }

  async stop (): Promise<void> {
    const node = this.libp2p
    if (node === undefined) return
    this.bootstrapDialer?.stop()
    await this.discovery?.stop()
    this.libp2p = undefined
    await node.stop()
  }

  addresses (): string[] {
    return this.libp2p?.getMultiaddrs().map(String) ?? []
  }

  async handle (protocol: string, handler: (stream: MessageStream) => void | Promise<void>, options: StreamHandlerOptions = {}): Promise<void> {
    const node = this.started()
    const limit = options.maxMessageBytes ?? this.maxMessageBytes
    await node.handle(protocol, ({ stream, connection }) => {
      const wrapped = wrapStream(stream, connection.remotePeer.toString(), limit)
      Promise.resolve(handler(wrapped)).catch(() => { wrapped.abort() })
    }, {
      maxInboundStreams: options.maxInboundStreams ?? 64,
      maxOutboundStreams: options.maxOutboundStreams ?? 64
    })
  }

  async unhandle (protocol: string): Promise<void> {
    await this.libp2p?.unhandle(protocol)
  }

  async openStream (peerId: string, protocol: string, options: OpenStreamOptions = {}): Promise<MessageStream> {
    const node = this.started()
    const id = parsePeerId(peerId)
    const signals = [AbortSignal.timeout(options.timeout ?? DEFAULT_DIAL_TIMEOUT)]
    if (options.signal !== undefined) signals.push(options.signal)
    const signal = AbortSignal.any(signals)
    if (options.addresses !== undefined && options.addresses.length > 0 && !this.isConnected(peerId)) {
      await this.rememberAddresses(id, options.addresses, signal)
    }
    const stream = await node.dialProtocol(id, protocol, { signal })
    return wrapStream(stream, peerId, options.maxMessageBytes ?? this.maxMessageBytes)
  }

  async connect (peerId: string, addresses: string[], signal?: AbortSignal): Promise<void> {
    const node = this.started()
    const id = parsePeerId(peerId)
    const bounded = signal ?? AbortSignal.timeout(DEFAULT_DIAL_TIMEOUT)
    if (addresses.length > 0 && !this.isConnected(peerId)) await this.rememberAddresses(id, addresses, bounded)
    await node.dial(id, { signal: bounded })
  }

  async dial (address: string, signal?: AbortSignal): Promise<string> {
    const node = this.started()
    const connection = await node.dial(parseMultiaddr(address), { signal: signal ?? AbortSignal.timeout(DEFAULT_DIAL_TIMEOUT) })
    return connection.remotePeer.toString()
  }

  async hangUp (peerId: string): Promise<void> {
    await this.libp2p?.hangUp(parsePeerId(peerId))
  }

  connections (): ConnectionInfo[] {
    return (this.libp2p?.getConnections() ?? []).map((c) => ({
      peerId: c.remotePeer.toString(),
      address: c.remoteAddr.toString(),
      direction: c.direction
    }))
  }

  isConnected (peerId: string): boolean {
    const node = this.libp2p
    if (node === undefined) return false
    return node.getConnections(parsePeerId(peerId)).some((c) => c.status === 'open')
  }

  async peerAddresses (peerId: string): Promise<string[]> {
    const node = this.libp2p
    if (node === undefined) return []
    try {
      const peer = await node.peerStore.get(parsePeerId(peerId))
      return peer.addresses.map((a) => a.multiaddr.toString())
    } catch {
      return []
    }
  }

  async lookupMembers (timeout: number): Promise<DiscoveredPeer[]> {
    if (this.discovery === undefined) throw new NotStartedError()
    return this.discovery.lookup(timeout)
  }

  subscribe (topic: string, handler: (message: PubsubMessage) => void, options: TopicOptions = {}): void {
    this.handlers.set(topic, { handler, signed: options.signed === true })
    this.started().services.pubsub.subscribe(topic)
  }

  unsubscribe (topic: string): void {
    this.handlers.delete(topic)
    this.libp2p?.services.pubsub.unsubscribe(topic)
  }

  async publish (topic: string, data: Uint8Array, options: TopicOptions = {}): Promise<number> {
    const payload = options.signed === true ? seal(topic, data, this.peerId, (bytes) => this.sign(bytes)) : data
    const result = await this.started().services.pubsub.publish(topic, payload)
    return result.recipients.length
  }

  topicPeers (topic: string): string[] {
    return (this.libp2p?.services.pubsub.getSubscribers(topic) ?? []).map(String)
  }

  gossipMesh (): TopicMesh[] {
    const pubsub = this.libp2p?.services.pubsub as GossipSub | undefined
    if (pubsub === undefined) return []
    return pubsub.getTopics().sort().map((topic) => ({ topic, peers: pubsub.getMeshPeers(topic).sort() }))
  }

  async block (peerIds: string[]): Promise<void> {
    this.gater.block(peerIds)
    const node = this.libp2p
    if (node === undefined) return
    await Promise.all(peerIds.map(async (id) => node.hangUp(parsePeerId(id)).catch(() => {})))
  }

  unblock (peerIds?: string[]): void {
    this.gater.unblock(peerIds)
  }

  blocked (): string[] {
    return this.gater.blockedPeers()
  }

  sign (data: Uint8Array): Uint8Array {
    const signature = this.privateKey.sign(data)
    // Ed25519 signs synchronously in Node; the interface allows a promise for other runtimes.
    if (signature instanceof Uint8Array) return signature
    throw new TypeError('this key type signs asynchronously; hearsay needs an Ed25519 key')
  }

  verify (author: string, data: Uint8Array, signature: Uint8Array): boolean {
    return this.verifier.verify(author, data, signature)
  }

  private onPubsubMessage (message: Message, via: string): void {
    const entry = this.handlers.get(message.topic)
    if (entry === undefined) return
    if (!entry.signed) {
      entry.handler({ topic: message.topic, data: message.data, from: undefined, via })
      return
    }
    let opened: { author: string, payload: Uint8Array }
    try {
      opened = openEnvelope(message.topic, message.data, this.maxMessageBytes, (author, data, signature) => this.verify(author, data, signature))
    } catch (err) {
      this.logDropped({ topic: message.topic, via, reason: (err as Error).message }, 'dropped a gossip message whose sender could not be proven')
      return
    }
    entry.handler({ topic: message.topic, data: opened.payload, from: opened.author, via })
  }

  /**
   * Adds addresses to the peer store, bounded by `signal`: the store serialises writes per
   * peer with process-wide locks, so under load an unbounded merge can hold a caller for seconds.
   */
  private async rememberAddresses (id: PeerId, addresses: string[], signal: AbortSignal): Promise<void> {
    const multiaddrs: Multiaddr[] = []
    for (const a of addresses) {
      try {
        multiaddrs.push(multiaddr(a))
      } catch {
        // An address we cannot parse came from the network; the others may still work.
      }
    }
    if (multiaddrs.length === 0) return
    await this.started().peerStore.merge(id, { multiaddrs }, { signal })
  }

  private started (): Libp2p<Services> {
    if (this.libp2p === undefined) throw new NotStartedError()
    return this.libp2p
  }
}

async function loadPnet (psk: Uint8Array): Promise<NonNullable<Parameters<typeof createLibp2p>[0]>['connectionProtector']> {
  const { preSharedKey } = await import('@libp2p/pnet')
  return preSharedKey({ psk })
}

/** The gossipsub protocol version in `/hearsay/<network>/meshsub/<version>`: 2.0.0 are StrictNoSign envelopes, 1.1.0 were StrictSign. */
const MESHSUB_VERSION = '2.0.0'

/** A message's id: SHA-256 of its topic and content, so two copies of one message have one id. */
function contentId (topic: string, data: Uint8Array): Uint8Array {
  return createHash('sha256').update(topic).update('\0').update(data).digest()
}
