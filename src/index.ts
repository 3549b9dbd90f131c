// First, before anything that needs Node 22 runs: an older Node gets one line saying what to do.
import './node-version.js'
export { createPeer } from './peer.js'
export type { Peer, PeerEvents, StopOptions, KvLimits, Kv, PeerNet, Diagnostics, PeerStats } from './peer.js'
export type { PeerOptions } from './options.js'
export type { Member, MemberState, MembershipTiming, MembershipStats } from './membership/index.js'
export { LOCAL_MEMBERSHIP, LAN_MEMBERSHIP } from './membership/index.js'
export type { DiscoveryTiming } from './net/index.js'
export type { Profile } from './profile.js'
export { DEFAULT_PROFILE } from './profile.js'
export { HearsayError } from './errors.js'
export type { Log, LogFn } from './log.js'
export type { Leader } from './election/index.js'
export type { JobOptions, JobContext, JobRun, JobInfo, JobOutcome } from './jobs/index.js'
export type { KvChange, WriteReceipt, Json, Version } from './replica/index.js'
export type { Observe } from './observe/index.js'
export type { MembershipView } from './membership/index.js'
export type { ElectionView, ElectionRole } from './election/index.js'
export type { JobsView } from './jobs/index.js'
export type { ConvergenceReport, MemberLag, TraceReport, PeerTrace, MeshGraph, GraphNode, GraphEdge, ObserveInit, ObserveStats } from './observe/index.js'
export type {
  Events, EventsInit, EventsStats, EventReceipt, QueryContext, QueryHandler, QueryOptions, QueryResponse, QueryResult, UserEvent
} from './events/index.js'
export {
  EventTooLargeError, InvalidEventNameError, InvalidPayloadError, InvalidQueryTimeoutError, MalformedEventError, RateLimitedError
} from './events/index.js'
export { NodeVersionError, MIN_NODE_MAJOR } from './node-version.js'
export { VERSION } from './version.js'
