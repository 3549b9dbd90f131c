export { createCluster } from './cluster.js'
export type { Cluster, ClusterOptions } from './cluster.js'
export type { ConvergedOptions } from './types.js'
export { createProcessCluster } from './processes.js'
export type {
  ApiCallOptions, ProcessCluster, ProcessClusterOptions, ProcessLine, ProcessPeer, ProcessPeerOptions, ProcessState, UnexpectedExit
} from './processes.js'
export * from './errors.js'
