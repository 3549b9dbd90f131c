/**
 * Named defaults for the election. Two profiles, after memberlist's `DefaultLANConfig` /
 * `DefaultLocalConfig`: `lan` for real networks, `local` with fast timers for the harness and
 * tests. The ratios matter more than the numbers: a follower waits several heartbeat intervals
 * before it suspects the coordinator (one late or lost heartbeat must not start an election), and
 * a candidate that was answered waits longer than an answer takes, so the peer that answered has
 * time to finish its own election before we try again.
 */

import type { Profile } from '../profile.js'

/** The election's timers (see the profiles below). */
export interface ElectionOptions {
  /**
   * How often the coordinator sends heartbeats to every live member.
   *
   * @default 1_000 (ms) with the `lan` profile, 250 (ms) with `local`
   */
  heartbeatInterval: number
  /**
   * A follower that hears no heartbeat from its coordinator for this long starts an election.
   * Must be longer than `heartbeatInterval`.
   *
   * @default 4_000 (ms) with the `lan` profile, 1_000 (ms) with `local`
   */
  heartbeatTimeout: number
  /**
   * A candidate that hears no ANSWER for this long declares itself coordinator.
   *
   * @default 2_000 (ms) with the `lan` profile, 300 (ms) with `local`
   */
  answerTimeout: number
  /**
   * A candidate that got an ANSWER but then no COORDINATOR for this long restarts the election.
   * Must be longer than `answerTimeout`.
   *
   * @default 6_000 (ms) with the `lan` profile, 900 (ms) with `local`
   */
  coordinatorTimeout: number
}

/** File in the data dir that keeps the highest term seen, so a restarted peer never goes back. */
export const TERM_FILE = 'election.json'

/** File in the data dir that keeps the members last counted toward a majority (see remembered.ts). */
export const MEMBERS_FILE = 'election-members.json'

/**
 * Version part of `/hearsay/<network>/election/<version>`; bump it when the wire messages change
 * incompatibly. 2.0.0 carries the messages on one long-lived stream per member, in frames (see
 * StreamChannel); 1.0.0 opened a stream per message.
 */
export const ELECTION_PROTOCOL_VERSION = '2.0.0'

/**
 * The highest term there is: 2^52. A term only grows by one per election, so no real network
 * gets near it. A message claiming more (forged or corrupted) is ignored, and our own claims
 * stop at it, so every term a peer holds is one the others accept and the term file reads back
 * exactly. Without it, a claim at 2^53 - 1 made our next claim 2^53, which is not exact
 * (2^53 + 1 rounds back to it, so two coordinators shared a fencing token) and which the term
 * file was not read back from (a restart went back to term 0).
 */
export const MAX_TERM = 2 ** 52

/** `local` profile: coordinator heartbeat period. */
export const LOCAL_HEARTBEAT_INTERVAL = 250
/** `local` profile: silence after which a follower starts an election (4 heartbeats). */
export const LOCAL_HEARTBEAT_TIMEOUT = 1_000
/** `local` profile: how long a candidate waits for an ANSWER before it takes over. */
export const LOCAL_ANSWER_TIMEOUT = 300
/** `local` profile: how long an answered candidate waits for a COORDINATOR before retrying. */
export const LOCAL_COORDINATOR_TIMEOUT = 900

/** `lan` profile: coordinator heartbeat period. */
export const LAN_HEARTBEAT_INTERVAL = 1_000
/** `lan` profile: silence after which a follower starts an election (4 heartbeats). */
export const LAN_HEARTBEAT_TIMEOUT = 4_000
/** `lan` profile: how long a candidate waits for an ANSWER before it takes over. */
export const LAN_ANSWER_TIMEOUT = 2_000
/** `lan` profile: how long an answered candidate waits for a COORDINATOR before retrying. */
export const LAN_COORDINATOR_TIMEOUT = 6_000

/** Fast timers for the harness and tests (all peers on one machine). */
export const LOCAL_ELECTION_OPTIONS: Readonly<ElectionOptions> = Object.freeze({
  heartbeatInterval: LOCAL_HEARTBEAT_INTERVAL,
  heartbeatTimeout: LOCAL_HEARTBEAT_TIMEOUT,
  answerTimeout: LOCAL_ANSWER_TIMEOUT,
  coordinatorTimeout: LOCAL_COORDINATOR_TIMEOUT
})

/** Timers for real networks; the default. */
export const LAN_ELECTION_OPTIONS: Readonly<ElectionOptions> = Object.freeze({
  heartbeatInterval: LAN_HEARTBEAT_INTERVAL,
  heartbeatTimeout: LAN_HEARTBEAT_TIMEOUT,
  answerTimeout: LAN_ANSWER_TIMEOUT,
  coordinatorTimeout: LAN_COORDINATOR_TIMEOUT
})

/** Profiles by the name the config and CLI use. */
export const ELECTION_PROFILES: Readonly<Record<Profile, Readonly<ElectionOptions>>> = Object.freeze({
  local: LOCAL_ELECTION_OPTIONS,
  lan: LAN_ELECTION_OPTIONS
})
