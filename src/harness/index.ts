// First, before anything that needs Node 22 runs: an older Node gets one line saying what to do.
import '../node-version.js'
export { createCluster } from './cluster.js'
export type { Cluster, ClusterOptions } from './cluster.js'
export type { ClusterControl, ConvergedOptions } from './types.js'
export { createProcessCluster } from './processes.js'
export type {
  ApiCallOptions, ProcessCluster, ProcessPlacement, ProcessClusterOptions, ProcessLine, ProcessPeer, ProcessPeerOptions, ProcessState, UnexpectedExit
} from './processes.js'
export { createHostCluster, DEFAULT_HOST_PORT, removeStaleNetworks, FaultPlan, HostsUnavailableError, TestNetworkError } from './hosts/index.js'
export type { HostCluster, HostClusterOptions, DropRule } from './hosts/index.js'
export * from './errors.js'
