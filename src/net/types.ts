import type { Registry } from 'prom-client'
import type { Log } from '../log.js'
import type { Profile } from '../profile.js'
import type { TypedEventTarget } from '../events.js'
import type { DiscoveryTiming } from './constants.js'
import type { DiscoveredPeer } from './discovery.js'
import type { MessageStream } from './stream.js'

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
  /** Most connections one peer may hold with us at once; inbound ones past it are refused. @default 8 */
  maxConnectionsPerPeer?: number
}

/** What the node is given to work with, as every part is (options go in `NetInit`). */
export interface NetComponents {
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

/**
 * What a topic's handler says of a message: `accept` (forward it), `reject` (invalid: not
 * forwarded, and gossipsub holds it against the neighbour that sent it) or `ignore` (not
 * forwarded, no blame). A handler that returns nothing accepts.
 */
export type GossipVerdict = 'accept' | 'reject' | 'ignore'

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
  /** The addresses others can dial, each ending in /p2p/<peerId>. */
  addresses (): string[]
  protocol (part: string, version?: string): string
  /**
   * `<part>/<version>` of every protocol id the parts asked `protocol()` for (each part asks when
   * it is made, the DHT and gossipsub when the node starts), sorted: what this peer speaks.
   */
  protocols (): string[]
  handle (protocol: string, handler: (stream: MessageStream) => void | Promise<void>, options?: StreamHandlerOptions): Promise<void>
  unhandle (protocol: string): Promise<void>
  openStream (peerId: string, protocol: string, options?: OpenStreamOptions): Promise<MessageStream>
  connect (peerId: string, addresses: string[], signal?: AbortSignal): Promise<void>
  /** Dial a multiaddr (with or without /p2p/); resolves with the remote's PeerId. */
  dial (address: string, signal?: AbortSignal): Promise<string>
  connections (): ConnectionInfo[]
  /** Inbound connections refused because their peer already held `maxConnectionsPerPeer`. */
  refusedConnections (): number
  isConnected (peerId: string): boolean
  /** Look up the members of this network in the DHT now. */
  lookupMembers (timeout: number): Promise<DiscoveredPeer[]>
  /**
   * With `signed`, only messages sealed by `publish(..., { signed: true })` whose signature
   * verifies reach `handler`. The handler runs before gossipsub forwards the message, and its
   * verdict decides whether it does (see GossipVerdict).
   */
  subscribe (topic: string, handler: (message: PubsubMessage) => GossipVerdict | void, options?: TopicOptions): void
  unsubscribe (topic: string): void
  /** With `signed`, the payload is sealed with this peer's signature (for topics whose receivers must know the sender). */
  publish (topic: string, data: Uint8Array, options?: TopicOptions): Promise<number>
  topicPeers (topic: string): string[]
  /** The gossipsub mesh of every topic this node is subscribed to (diagnostics: the dashboard's graph). */
  gossipMesh (): TopicMesh[]
  /** gossipsub's score of a neighbour: below −80 it is graylisted (what it sends is ignored). */
  gossipScore (peerId: string): number
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
