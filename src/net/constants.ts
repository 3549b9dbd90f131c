import type { Profile } from '../profile.js'

/** The version a protocol id carries unless its part says otherwise. */
export const DEFAULT_PROTOCOL_VERSION = '1.0.0'

/** Every protocol id carries the network name, so peers of different networks never mix. */
export function protocolId (network: string, part: string, version = DEFAULT_PROTOCOL_VERSION): string {
  return `/hearsay/${network}/${part}/${version}`
}

/** Network names become part of protocol ids and topics: keep them to a safe alphabet. */
export const NETWORK_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/

/** File in the data dir that holds the peer's Ed25519 key (libp2p protobuf encoding). */
export const KEY_FILE = 'peer.key'

/** Listen on an OS-assigned loopback port unless told otherwise. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0']

/**
 * How large one length-prefixed message on a hearsay stream protocol may be by default.
 * @default 1 MiB + 64 KiB (bytes): a full value plus its envelope
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_114_112

/** Default time to open a stream to a peer, dial included. @default 5_000 (ms) */
export const DEFAULT_DIAL_TIMEOUT = 5_000

/**
 * Most connections one peer may hold with us at once. An honest peer keeps one (two for a
 * moment when both sides dial together, a few more across quick reconnects); every connection
 * costs a muxer, buffers and protocol state, so a member opening them by the hundred is refused.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_PEER = 8

/**
 * How often libp2p pings each connection to find dead ones (ms), by profile. Membership probes
 * every member anyway and finds a dead one in seconds; each of these pings is a new stream (a
 * protocol negotiation and a peer-store write at each end), on every connection. At `lan` they
 * were a fifth of an idle peer's frames once messages went in one frame each.
 */
export const CONNECTION_PING_INTERVAL: Readonly<Record<Profile, number>> = { local: 30_000, lan: 300_000 }

export interface DiscoveryTiming {
  /**
   * The longest wait between two DHT rounds (ms). After the first rounds the wait doubles each
   * round up to this: a network that has found itself costs next to nothing, while a new peer
   * looks often. Membership spreads every join within seconds; the DHT is there for members no
   * one this peer knows has heard of.
   */
  interval: number
  /** The first lookups after start come this fast, so a new peer finds the network at once (ms). */
  initialInterval: number
  /** How many rounds to run at `initialInterval` before backing off. */
  initialRounds: number
  /** DHT self-query cadence during start-up (ms). */
  initialQuerySelfInterval: number
  /**
   * Once this peer's own provider record has been announced, announce it again only this often
   * (ms); kad-dht also re-announces it on its own before it expires. Until then, every round
   * tries.
   */
  reprovideInterval: number
}

export const LOCAL_DISCOVERY: DiscoveryTiming = {
  interval: 60_000,
  initialInterval: 1_000,
  initialRounds: 2,
  // kad-dht's start-up self-queries are the heaviest thing twenty peers in one process do.
  initialQuerySelfInterval: 1_000,
  reprovideInterval: 300_000
}

export const LAN_DISCOVERY: DiscoveryTiming = {
  interval: 1_800_000,
  initialInterval: 1_000,
  initialRounds: 3,
  initialQuerySelfInterval: 1_000,
  reprovideInterval: 3_600_000
}

/** Discovery timers by profile. */
export const DISCOVERY_PROFILES: Readonly<Record<Profile, DiscoveryTiming>> = { local: LOCAL_DISCOVERY, lan: LAN_DISCOVERY }

/** First and longest wait between rounds of dialling the bootstrap addresses while none answers (ms). */
export const BOOTSTRAP_BACKOFF: Readonly<Record<Profile, { minDelay: number, maxDelay: number }>> = {
  local: { minDelay: 100, maxDelay: 2_000 },
  lan: { minDelay: 1_000, maxDelay: 30_000 }
}
