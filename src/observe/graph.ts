/** The network as a graph, from what each peer said of its own connections and mesh. No I/O. */
import type { TopicMesh } from '../net/index.js'
import { counts } from './lag.js'

/** What one peer said of whom it talks to. */
export interface PeerLinks {
  connections: readonly string[]
  mesh: readonly TopicMesh[]
  /** When it said so (ms since the epoch). */
  at: number
}

export interface GraphNode {
  peerId: string
  state: string
  self: boolean
  /** When its links were last learned (null: never). */
  linksAt: number | null
}

export interface GraphEdge {
  /** The two ends, `a < b`. */
  a: string
  b: string
  /** Either end has an open connection to the other. */
  connected: boolean
  /** Gossipsub topics (by part name: `kv`, `beacon`) on which either end has the other in its mesh. */
  mesh: string[]
}

export interface MeshGraph {
  nodes: GraphNode[]
  edges: GraphEdge[]
}

/** `/hearsay/<network>/kv/1.0.0` → `kv`; any other topic stays as it is. */
export function topicPart (topic: string): string {
  return /^\/hearsay\/[^/]+\/([^/]+)\/[^/]+$/.exec(topic)?.[1] ?? topic
}

/**
 * Nodes are the members of the view; edges join members that are not gone (dead or left),
 * as either end reported them. A member's own report is left out once it is gone: what it
 * said last is no longer true.
 */
export function buildGraph (members: ReadonlyArray<{ peerId: string, state: string, self: boolean }>, links: ReadonlyMap<string, PeerLinks>): MeshGraph {
  const nodes: GraphNode[] = members.map((m) => ({ peerId: m.peerId, state: m.state, self: m.self, linksAt: links.get(m.peerId)?.at ?? null }))
  const present = new Set(members.filter((m) => counts(m.state)).map((m) => m.peerId))
  const edges = new Map<string, GraphEdge>()
  const edge = (x: string, y: string): GraphEdge | undefined => {
    if (x === y || !present.has(x) || !present.has(y)) return undefined
    const [a, b] = x < y ? [x, y] : [y, x]
    const id = `${a} ${b}`
    let found = edges.get(id)
    if (found === undefined) edges.set(id, found = { a, b, connected: false, mesh: [] })
    return found
  }
  for (const [peerId, view] of links) {
    if (!present.has(peerId)) continue
    for (const other of view.connections) {
      const e = edge(peerId, other)
      if (e !== undefined) e.connected = true
    }
    for (const { topic, peers } of view.mesh) {
      const part = topicPart(topic)
      for (const other of peers) {
        const e = edge(peerId, other)
        if (e !== undefined && !e.mesh.includes(part)) e.mesh.push(part)
      }
    }
  }
  for (const e of edges.values()) e.mesh.sort()
  return { nodes, edges: [...edges.values()].sort((x, y) => x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : x.b > y.b ? 1 : 0) }
}
