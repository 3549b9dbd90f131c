import type { Log } from './log.js'
import type { DiscoveryTiming } from './net/index.js'
import type { Profile } from './profile.js'
import type { MembershipTiming } from './membership/index.js'
import type { ReplicationInit } from './replica/index.js'
import type { SyncPolicy } from './storage/index.js'
import type { ElectionOptions } from './election/index.js'
import type { JobsInit, MaintenanceOptions } from './jobs/index.js'
import type { ObserveInit } from './observe/index.js'
import type { EventsInit } from './events/index.js'

export interface PeerOptions {
  /** Network name: peers of different networks never mix. @default 'default' */
  network?: string
  /** Directory for the peer's key and state; leave out for an in-memory peer with a fresh identity. */
  dataDir?: string
  /** Multiaddrs to listen on. @default ['/ip4/127.0.0.1/tcp/0'] */
  listen?: string[]
  /** Multiaddrs of peers to join through; one is enough. */
  bootstrap?: string[]
  /** Election priority: the alive member with the highest priority leads. @default 0 */
  priority?: number
  /** Free-form labels shown to other members. */
  tags?: Record<string, string>
  /**
   * Timer defaults: `lan` for real networks, `local` for many peers on one machine (tests,
   * the harness, `hearsay cluster`). @default 'lan'
   */
  profile?: Profile
  /** Override membership timers of the profile. */
  membership?: Partial<MembershipTiming>
  /** Override DHT discovery timers of the profile. */
  discovery?: Partial<DiscoveryTiming>
  /** Pre-shared key for a private network (contents of the file `hearsay key gen-psk` writes). */
  psk?: Uint8Array
  /**
   * When a write counts as durable: `always` fsyncs before acknowledging (group commit; survives
   * kill -9 and power loss), `interval` fsyncs every 100 ms (survives kill -9 of the process,
   * not power loss), `none` never fsyncs. @default 'always'
   */
  sync?: SyncPolicy
  /** Override election timers of the profile (heartbeat interval and timeouts, in ms). */
  election?: Partial<ElectionOptions>
  /** Jobs: how many runs to keep per job. */
  jobs?: JobsInit
  /** Built-in maintenance jobs (GC of delete metadata, retiring departed replicas): periods and thresholds. */
  maintenance?: MaintenanceOptions
  /**
   * Only these PeerIds may write (`--writers FILE`): others' writes are dropped and counted
   * everywhere, and a local write here is refused unless this peer is listed.
   */
  writers?: string[]
  /**
   * Where the peer logs: a pino logger (or any with its `error/warn/info/debug/child`);
   * every part logs through a child bound to `{ component }`. @default nothing is logged
   */
  logger?: Log
  /** Store options: gossip on/off, anti-entropy interval, key and value limits. */
  replication?: Omit<ReplicationInit, 'profile'>
  /** Write tracing and convergence: beacon timers, trace buffer size and timeout. */
  observe?: Omit<ObserveInit, 'profile'>
  /** User events and queries: payload limit (64 KiB), rate per sender, deduplication window, query timeout. */
  events?: EventsInit
}
