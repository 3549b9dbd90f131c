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

export interface DiscoveryTiming {
  /** How often to advertise and look up members in the DHT once started (ms). */
  interval: number
  /** The first lookups after start come faster, so a new peer finds the network at once (ms). */
  initialInterval: number
  /** How many fast lookups to run before settling to `interval`. */
  initialRounds: number
  /** DHT self-query cadence during start-up (ms). */
  initialQuerySelfInterval: number
}

export const LOCAL_DISCOVERY: DiscoveryTiming = {
  interval: 10_000,
  initialInterval: 500,
  initialRounds: 3,
  // kad-dht's start-up self-queries are the heaviest thing twenty peers in one process do.
  initialQuerySelfInterval: 1_000
}

export const LAN_DISCOVERY: DiscoveryTiming = {
  interval: 30_000,
  initialInterval: 1_000,
  initialRounds: 5,
  initialQuerySelfInterval: 1_000
}

/** Discovery timers by profile. */
export const DISCOVERY_PROFILES: Readonly<Record<Profile, DiscoveryTiming>> = { local: LOCAL_DISCOVERY, lan: LAN_DISCOVERY }

/** First and longest wait between rounds of dialling the bootstrap addresses while none answers (ms). */
export const BOOTSTRAP_BACKOFF: Readonly<Record<Profile, { minDelay: number, maxDelay: number }>> = {
  local: { minDelay: 100, maxDelay: 2_000 },
  lan: { minDelay: 1_000, maxDelay: 30_000 }
}
