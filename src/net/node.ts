import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import type { GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Identify } from '@libp2p/identify'
import type { PingService } from '@libp2p/ping'
import type { PeerId, PrivateKey, PubSub } from '@libp2p/interface'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { TypedEventTarget } from '../events.js'
import { DEFAULT_PROFILE, forProfile, type Profile } from '../profile.js'
import { rateLimited, silentLog, type Log, type LogFn } from '../log.js'
import {
  protocolId, DEFAULT_PROTOCOL_VERSION, NETWORK_NAME_PATTERN, DEFAULT_LISTEN, DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_DIAL_TIMEOUT, DISCOVERY_PROFILES, BOOTSTRAP_BACKOFF, CONNECTION_PING_INTERVAL, DEFAULT_MAX_CONNECTIONS_PER_PEER
} from './constants.js'
import { InvalidMultiaddrError, InvalidNetworkNameError, InvalidPeerIdError, NotStartedError, UnsupportedKeyTypeError } from './errors.js'
import { loadOrCreateKey, generateKey, withCachedSigner, SignatureVerifier } from './identity.js'
import { NetGater } from './gater.js'
import { DhtDiscovery, networkKey, type DiscoveredPeer } from './discovery.js'
import { BootstrapDialer } from './bootstrap.js'
import { wrapStream, type MessageStream } from './stream.js'
import { validatePsk } from './pnet.js'
import { lanAnnounceFilter } from './announce.js'
import { GossipTopics, MESHSUB_VERSION, gossipService, olderMeshProtocols, useMeshProtocol } from './pubsub.js'
import type {
  ConnectionInfo, GossipVerdict, NetComponents, NetEvents, NetInit, NetNode, OpenStreamOptions, PubsubMessage, StreamHandlerOptions, TopicMesh, TopicOptions
} from './types.js'

type Services = { identify: Identify, ping: PingService, dht: KadDHT, pubsub: PubSub<GossipsubEvents> }

export async function createNetNode (components: NetComponents = {}, init: NetInit = {}): Promise<NetNode> {
  const network = init.network ?? 'default'
  if (!NETWORK_NAME_PATTERN.test(network)) throw new InvalidNetworkNameError(network)
  const listen = init.listen ?? DEFAULT_LISTEN
  for (const addr of [...listen, ...(init.bootstrap ?? [])]) parseMultiaddr(addr)
  if (init.psk !== undefined) validatePsk(init.psk)
  const privateKey = init.dataDir === undefined ? await generateKey() : await loadOrCreateKey(init.dataDir)
  return new Libp2pNetNode(network, withCachedSigner(privateKey), components, init)
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
  private readonly components: NetComponents
  private readonly gater: NetGater
  private readonly maxConnectionsPerPeer: number
  private connectionsRefused = 0
  private readonly maxMessageBytes: number
  private readonly logger: Log
  private readonly logDropped: LogFn
  private readonly topics: GossipTopics
  private readonly verifier = new SignatureVerifier()
  private libp2p: Libp2p<Services> | undefined
  private discovery: DhtDiscovery | undefined
  private bootstrapDialer: BootstrapDialer | undefined
  /** `<part>/<version>` of every protocol id a part asked for: what this peer speaks. */
  private readonly spoken = new Set<string>()

  constructor (network: string, privateKey: PrivateKey, components: NetComponents, init: NetInit) {
    super()
    this.network = network
    this.privateKey = privateKey
    this.components = components
    this.init = init
    this.profile = init.profile ?? DEFAULT_PROFILE
    this.maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.peerId = privateKey.publicKey.toString()
    this.logger = components.logger ?? silentLog
    this.logDropped = rateLimited(this.logger, 'warn')
    this.maxConnectionsPerPeer = init.maxConnectionsPerPeer ?? DEFAULT_MAX_CONNECTIONS_PER_PEER
    this.gater = new NetGater({
      max: this.maxConnectionsPerPeer,
      count: (peerId) => this.libp2p?.getConnections(parsePeerId(peerId)).length ?? 0,
      onRefused: (peerId) => { this.refuseConnection(peerId) }
    })
    this.topics = new GossipTopics({
      peerId: this.peerId,
      pubsub: () => this.libp2p?.services.pubsub,
      maxMessageBytes: this.maxMessageBytes,
      sign: (data) => this.sign(data),
      verify: (author, data, signature) => this.verify(author, data, signature),
      logDropped: this.logDropped
    })
  }

  protocol (part: string, version?: string): string {
    this.spoken.add(`${part}/${version ?? DEFAULT_PROTOCOL_VERSION}`)
    return protocolId(this.network, part, version)
  }

  protocols (): string[] {
    return [...this.spoken].sort()
  }

  async start (): Promise<void> {
    if (this.libp2p !== undefined) return
    const timing = { ...forProfile(DISCOVERY_PROFILES, this.profile), ...this.init.discovery }
    const protector = this.init.psk === undefined ? undefined : await loadPnet(this.init.psk)
    const node = await createLibp2p<Services>({
      start: false,
      privateKey: this.privateKey,
      addresses: {
        listen: this.init.listen ?? DEFAULT_LISTEN,
        ...(this.profile === 'local' ? {} : { announceFilter: lanAnnounceFilter })
      },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: this.gater,
      ...(this.components.metricsRegistry === undefined
        ? {}
        : { metrics: prometheusMetrics({ registry: this.components.metricsRegistry, collectDefaultMetrics: false, preserveExistingMetrics: true }) }),
      ...(protector === undefined ? {} : { connectionProtector: protector }),
      connectionManager: {
        // Every peer on this machine is one host: without this, libp2p's per-host inbound
        // rate limit refuses most of a local cluster's connections.
        allow: ['/ip4/127.0.0.1', '/ip6/::1'],
        dialTimeout: DEFAULT_DIAL_TIMEOUT
      },
      // libp2p pings every connection on a new stream (with /ipfs/ping, which hearsay does
      // not serve, so each one also failed a protocol negotiation) every 10 s. Membership
      // probes every member anyway; this stays only to drop connections that died silently.
      connectionMonitor: {
        pingInterval: forProfile(CONNECTION_PING_INTERVAL, this.profile),
        protocolPrefix: `hearsay/${this.network}`
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
        pubsub: gossipService(this.network)
      }
    })
    useMeshProtocol(node.services.pubsub, this.protocol('meshsub', MESHSUB_VERSION))
    const logger = this.logger
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
      const ours = this.protocol('meshsub', MESHSUB_VERSION)
      const theirs = olderMeshProtocols(evt.detail.protocols, this.network, ours)
      if (theirs !== undefined) {
        this.logDropped({ peer: evt.detail.peerId.toString(), theirs, ours },
          'a peer speaks an older gossip format (signed gossipsub envelopes): its gossip is refused; upgrade it to the same hearsay version')
      }
      this.emit('peer:identify', { peerId: evt.detail.peerId.toString(), protocols: evt.detail.protocols })
    })
    // Messages reach their handlers through gossipsub's topic validators (see GossipTopics):
    // a handler's verdict decides whether a message is forwarded.
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
      ...forProfile(BOOTSTRAP_BACKOFF, this.profile),
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

  private refuseConnection (peerId: string): void {
    this.connectionsRefused++
    this.logDropped({ peer: peerId, max: this.maxConnectionsPerPeer }, 'refused a connection: the peer already holds as many as one peer may')
  }

  refusedConnections (): number {
    return this.connectionsRefused
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

  async lookupMembers (timeout: number): Promise<DiscoveredPeer[]> {
    if (this.discovery === undefined) throw new NotStartedError()
    return this.discovery.lookup(timeout)
  }

  subscribe (topic: string, handler: (message: PubsubMessage) => GossipVerdict | void, options: TopicOptions = {}): void {
    this.topics.subscribe(topic, handler, options)
  }

  unsubscribe (topic: string): void {
    this.topics.unsubscribe(topic)
  }

  async publish (topic: string, data: Uint8Array, options: TopicOptions = {}): Promise<number> {
    return this.topics.publish(topic, data, options)
  }

  topicPeers (topic: string): string[] {
    return this.topics.topicPeers(topic)
  }

  gossipScore (peerId: string): number {
    return this.topics.gossipScore(peerId)
  }

  gossipMesh (): TopicMesh[] {
    return this.topics.gossipMesh()
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
    throw new UnsupportedKeyTypeError(this.privateKey.type)
  }

  verify (author: string, data: Uint8Array, signature: Uint8Array): boolean {
    return this.verifier.verify(author, data, signature)
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
