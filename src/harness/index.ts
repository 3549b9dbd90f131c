export { createCluster } from './cluster.js'
export type { Cluster, ClusterOptions, ConvergedOptions } from './cluster.js'
export * from './errors.js'
