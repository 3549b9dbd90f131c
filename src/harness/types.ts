/** Types both kinds of cluster share: peers in this process and one process per peer. */

export interface ConvergedOptions {
  /** @default 10_000 (ms) */
  timeout?: number
}

/** What every cluster offers: its peers by index, and the faults a test injects into them. */
export interface ClusterControl {
  readonly network: string
  readonly size: number
  /** The indices of the peers that run now. */
  live (): number[]
  /** Cut the network into groups of indices; peers in different groups cannot talk. */
  partition (...groups: number[][]): Promise<void>
  /** Lift every partition. */
  heal (): Promise<void>
  /** Stop peer i abruptly: no goodbye, others find out by failure detection. */
  kill (index: number): Promise<void>
  /** Stop every peer gracefully (and remove the temporary data dirs). */
  stop (): Promise<void>
  /** Resolves once every live peer sees exactly the live peers alive and every live replica holds the same writes. */
  converged (options?: ConvergedOptions): Promise<void>
}
