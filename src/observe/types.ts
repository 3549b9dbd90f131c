import type { ArrivalPath, Dot, Hlc, OpType, VectorClock } from '../replica/index.js'
import type { TopicMesh } from '../net/index.js'

/** One write as a peer's trace buffer remembers it: how and when it reached this peer. */
export interface TraceEntry {
  /** `<author>/<seq>`: the write's dot, which names exactly one write in the network. */
  readonly traceId: string
  readonly key: string
  readonly dot: Dot
  /** The author's hybrid logical clock when it wrote. */
  readonly hlc: Hlc
  readonly op: OpType
  readonly path: ArrivalPath
  /** Who handed it over: this peer for a local write, the gossip neighbour, or the anti-entropy partner. */
  readonly from: string
  /** ms since the epoch, on this peer's clock. */
  readonly receivedAt: number
  readonly appliedAt: number
}

/** What one peer answers about one write. */
export type TraceAnswer =
  | { status: 'applied', path: ArrivalPath, from: string, receivedAt: number, appliedAt: number }
  /** It holds the write, but the write has left its trace buffer: when it came is forgotten. */
  | { status: 'held' }
  | { status: 'missing' }

/** What a peer's beacon says: how far its replica is, and whom it talks to. */
export interface BeaconMessage {
  /** Contiguous maxima of its version vector. */
  vector: VectorClock
  digest: string
  /** Keys with a live value. */
  keys: number
  /** PeerIds it has open connections to. */
  connections: string[]
  /** Its gossipsub mesh, per topic. */
  mesh: TopicMesh[]
}

export function traceId (dot: Dot): string {
  return `${dot.replica}/${dot.seq}`
}
