/** Types both kinds of cluster share: peers in this process and one process per peer. */

export interface ConvergedOptions {
  /** @default 10_000 (ms) */
  timeout?: number
}
