import type { Profile } from '../profile.js'

/** Timers of the membership protocol. Every field is in milliseconds unless it says otherwise. */
export interface MembershipTiming {
  /** How often this peer probes one member (round-robin over the members). */
  probeInterval: number
  /** How long a direct probe may take before indirect probes are tried. */
  probeTimeout: number
  /** How long indirect probes through other members may take before the member is suspected. */
  indirectProbeTimeout: number
  /** How many other members to ask for an indirect probe. */
  indirectProbes: number
  /** How long a member stays `suspect` before it is declared `dead`, unless it refutes. */
  suspicionTimeout: number
  /** How long a `dead` or `left` member stays in the view (and is redialled) before it is removed. */
  reapTimeout: number
  /** How often queued updates are pushed to a few random members. */
  gossipInterval: number
  /** How many members receive each gossip push. */
  gossipFanout: number
  /** How often the whole view is exchanged with one random member (push-pull). */
  pushPullInterval: number
  /** First and longest wait between redials of a `suspect` or `dead` member. */
  reconnectMinDelay: number
  reconnectMaxDelay: number
  /** A queued update is sent this many times × log2(members + 1) before it is dropped (a count). */
  retransmitMult: number
}

/** Fast timers for tests and the harness: many peers on one machine, over loopback. */
export const LOCAL_MEMBERSHIP: MembershipTiming = {
  probeInterval: 250,
  probeTimeout: 250,
  indirectProbeTimeout: 400,
  indirectProbes: 3,
  suspicionTimeout: 1_500,
  reapTimeout: 600_000,
  gossipInterval: 100,
  gossipFanout: 3,
  pushPullInterval: 2_000,
  reconnectMinDelay: 250,
  reconnectMaxDelay: 2_000,
  retransmitMult: 4
}

/** Defaults for real networks (memberlist's LAN profile, adapted). */
export const LAN_MEMBERSHIP: MembershipTiming = {
  probeInterval: 1_000,
  probeTimeout: 500,
  indirectProbeTimeout: 1_000,
  indirectProbes: 3,
  suspicionTimeout: 5_000,
  reapTimeout: 86_400_000,
  gossipInterval: 200,
  gossipFanout: 3,
  pushPullInterval: 30_000,
  reconnectMinDelay: 1_000,
  reconnectMaxDelay: 30_000,
  retransmitMult: 4
}

/** Profiles by the name the config and CLI use. */
export const MEMBERSHIP_PROFILES: Readonly<Record<Profile, MembershipTiming>> = { local: LOCAL_MEMBERSHIP, lan: LAN_MEMBERSHIP }

/**
 * Version part of `/hearsay/<network>/membership/<version>`. 2.0.0 carries every message on one
 * long-lived stream per member, in frames (see StreamChannel); 1.0.0 opened a stream per message.
 */
export const MEMBERSHIP_PROTOCOL_VERSION = '2.0.0'

/** Limits on what a membership message may hold; anything past them is dropped and counted. */
export const MEMBERSHIP_LIMITS = {
  /** @default 1 MiB (bytes): a full view of a few thousand members */
  maxMessageBytes: 1_048_576,
  maxUpdates: 4_096,
  maxAddresses: 16,
  maxAddressLength: 256,
  maxTags: 32,
  maxTagKeyLength: 64,
  maxTagValueLength: 256,
  maxPeerIdLength: 128,
  /** Longest software version a member may announce (characters). */
  maxVersionLength: 64,
  /** Most protocols one member may announce, and the longest `<part>/<version>` (characters). */
  maxProtocols: 32,
  maxProtocolLength: 128
} as const

/** Most updates piggybacked on one probe or gossip message. */
export const MAX_PIGGYBACK = 32

/** File in the data dir that keeps the incarnation, so a restarted peer always announces a newer one. */
export const INCARNATION_FILE = 'membership.json'

/** Highest Lifeguard local-health score: probe timeouts stretch up to ×(1 + this). */
export const MAX_AWARENESS = 8
