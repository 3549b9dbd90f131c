/**
 * Named defaults of the observe part (write tracing, convergence, the beacon). Options that
 * take them document them with `@default`; they are applied with `??` where options are read.
 */
import type { Profile } from '../profile.js'

/**
 * Timers of the beacon, which tells the other members how far this peer's replica is and whom
 * it is linked to. A beacon goes out when something it says changed, and otherwise only as a
 * slow keep-alive: an idle network sends (and verifies) next to none.
 */
export interface BeaconTiming {
  /** With nothing changed, a beacon still goes out this often (ms): the keep-alive. */
  interval: number
  /** After a write, the next beacon waits at least this long since the last one (ms). */
  minInterval: number
  /**
   * After a connection opens or closes, the beacon that reports it waits this long (ms), so a
   * start-up's many new connections make one beacon, not one each.
   */
  linkSettle: number
}

export const BEACON_TIMING: Readonly<Record<Profile, BeaconTiming>> = {
  local: { interval: 10_000, minInterval: 1_000, linkSettle: 3_000 },
  lan: { interval: 60_000, minInterval: 1_000, linkSettle: 10_000 }
}

/** Writes each peer remembers in its trace buffer (the oldest go first). */
export const DEFAULT_TRACE_BUFFER = 4_096

/** How long a trace waits for the other members' answers. @default 2_000 (ms) */
export const DEFAULT_TRACE_TIMEOUT = 2_000

/** Wire limits. Every decoder checks them; bad input is dropped and counted, never applied. */
export const OBSERVE_LIMITS = {
  /** Largest beacon (4,096 vector entries of ~60 bytes plus the peer lists). */
  maxBeaconBytes: 512 * 1024,
  /** Most replicas a beacon's vector may name. */
  maxVectorEntries: 4_096,
  /** Most PeerIds in a beacon's connection list, and in one topic's mesh. */
  maxPeers: 1_024,
  /** Most topics in a beacon's mesh. */
  maxTopics: 16,
  /** Longest PeerId (or replica id), topic or digest. */
  maxIdLength: 128,
  maxTopicLength: 256,
  /** Most writes one trace request may ask about. */
  maxTraceDots: 256,
  /** Largest trace request or reply on the stream. */
  maxTraceMessageBytes: 64 * 1024
} as const

/** Parts of the protocol ids: `/hearsay/<network>/beacon/1.0.0`, `/hearsay/<network>/trace/1.0.0`. */
export const BEACON_PART = 'beacon'
export const TRACE_PART = 'trace'
