/** Puts the answers of every peer about one write together into what an operator reads. No I/O. */
import type { ArrivalPath, Dot, Hlc, OpType } from '../replica/index.js'
import type { TraceAnswer } from './types.js'

/** One peer's line of a trace. */
export interface PeerTrace {
  peerId: string
  /** `applied` with when and how; `held` when it has the write but no longer remembers when it came; `no-answer` when it did not answer in time. */
  status: 'applied' | 'held' | 'missing' | 'no-answer'
  path?: ArrivalPath
  from?: string
  /** ms since the epoch, on that peer's clock. */
  receivedAt?: number
  appliedAt?: number
  /** appliedAt − writtenAt (ms). Across hosts only as good as their clock sync. */
  afterMs?: number
  /** Why it did not answer. */
  error?: string
}

export interface TraceReport {
  /** `<author>/<seq>`: the write's dot. */
  traceId: string
  key: string
  dot: Dot
  op: OpType
  author: string
  hlc: Hlc
  /** When it was made (ms since the epoch): the author's own record of it, else its HLC wall time. */
  writtenAt: number
  /** Every peer asked, this one included: applied ones first, in the order they applied it. */
  peers: PeerTrace[]
  /** Every peer asked holds the write. */
  complete: boolean
  /** From writtenAt until the last peer applied it (ms), once every peer asked has it and said when. */
  propagationMs: number | null
  /** Peers that did not answer in time. */
  unanswered: string[]
}

export type PeerAnswer = { peerId: string, answer: TraceAnswer } | { peerId: string, error: string }

const ORDER: Record<PeerTrace['status'], number> = { applied: 0, held: 1, missing: 2, 'no-answer': 3 }

export function buildTraceReport (write: { traceId: string, key: string, dot: Dot, hlc: Hlc, op: OpType }, answers: readonly PeerAnswer[]): TraceReport {
  const own = answers.find((a) => a.peerId === write.dot.replica && 'answer' in a && a.answer.status === 'applied' && a.answer.path === 'local')
  const writtenAt = own !== undefined && 'answer' in own && own.answer.status === 'applied' ? own.answer.appliedAt : write.hlc.wall
  const peers: PeerTrace[] = answers.map((a) => {
    if ('error' in a) return { peerId: a.peerId, status: 'no-answer', error: a.error }
    const answer = a.answer
    if (answer.status !== 'applied') return { peerId: a.peerId, status: answer.status }
    return {
      peerId: a.peerId,
      status: 'applied',
      path: answer.path,
      from: answer.from,
      receivedAt: answer.receivedAt,
      appliedAt: answer.appliedAt,
      afterMs: answer.appliedAt - writtenAt
    }
  })
  peers.sort((a, b) => ORDER[a.status] - ORDER[b.status] || (a.appliedAt ?? 0) - (b.appliedAt ?? 0) || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0))
  const complete = peers.every((p) => p.status === 'applied' || p.status === 'held')
  const timed = peers.every((p) => p.status === 'applied')
  const last = Math.max(...peers.map((p) => p.appliedAt ?? Number.NEGATIVE_INFINITY))
  return {
    traceId: write.traceId,
    key: write.key,
    dot: write.dot,
    op: write.op,
    author: write.dot.replica,
    hlc: write.hlc,
    writtenAt,
    peers,
    complete,
    propagationMs: complete && timed && peers.length > 0 ? Math.max(0, last - writtenAt) : null,
    unanswered: peers.filter((p) => p.status === 'no-answer').map((p) => p.peerId)
  }
}
