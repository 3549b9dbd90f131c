/**
 * Convergence, computed without I/O: what this peer has learned of each member's replica
 * (version vectors from beacons, anti-entropy HELLOs and the causal context of gossiped
 * writes), and how far behind each member is compared with this peer's own replica.
 */
import { joinVectors, seqOf, type VectorClock } from '../replica/index.js'

/** Where a member's last full report came from. */
export type ReportSource = 'beacon' | 'anti-entropy'

/** A member's own statement of its replica at one moment: its whole vector and its digest. */
export interface MemberReport {
  vector: VectorClock
  digest: string
  /** Keys with a live value (beacons say it; HELLOs do not). */
  keys?: number
  /** When it arrived here (ms since the epoch). */
  at: number
  source: ReportSource
}

/** Everything this peer has learned of one member's replica. */
export interface MemberKnowledge {
  /** The join of every vector learned of it: it holds at least this much. */
  known: VectorClock
  /** Its latest full report. */
  report?: MemberReport
  /** When anything was last learned of it (ms since the epoch). */
  heardAt: number
}

/** Writes `mine` has that `theirs` lacks, by contiguous maxima: the sum over replicas of max(0, mine − theirs). */
export function lagEntries (mine: Readonly<VectorClock>, theirs: Readonly<VectorClock>): number {
  let lag = 0
  for (const replica of Object.keys(mine)) lag += Math.max(0, seqOf(mine, replica) - seqOf(theirs, replica))
  return lag
}

/** Per replica, the seqs `mine` has and `theirs` lacks (inclusive), replicas sorted. */
export function missingRanges (mine: Readonly<VectorClock>, theirs: Readonly<VectorClock>): Array<{ replica: string, from: number, to: number }> {
  const out: Array<{ replica: string, from: number, to: number }> = []
  for (const replica of Object.keys(mine).sort()) {
    const to = seqOf(mine, replica)
    const from = seqOf(theirs, replica) + 1
    if (from <= to) out.push({ replica, from, to })
  }
  return out
}

/** Knowledge after a full report: the newer report wins; vectors only add up. */
export function learnReport (before: MemberKnowledge | undefined, report: MemberReport): MemberKnowledge {
  const newer = before?.report === undefined || report.at >= before.report.at
  // A HELLO does not say how many keys: the last beacon's count stands until the next one.
  const keys = report.keys ?? before?.report?.keys
  const latest = newer ? { ...report, ...(keys === undefined ? {} : { keys }) } : before?.report
  return {
    known: joinVectors(before?.known ?? {}, report.vector),
    ...(latest === undefined ? {} : { report: latest }),
    heardAt: Math.max(before?.heardAt ?? 0, report.at)
  }
}

/** Knowledge after a lower bound: the member holds at least `vector` (the causal context of a write it made). */
export function learnVector (before: MemberKnowledge | undefined, vector: Readonly<VectorClock>, at: number): MemberKnowledge {
  return {
    known: joinVectors(before?.known ?? {}, vector),
    ...(before?.report === undefined ? {} : { report: before.report }),
    heardAt: Math.max(before?.heardAt ?? 0, at)
  }
}

/** One member's row of the convergence report. */
export interface MemberLag {
  peerId: string
  state: string
  self: boolean
  /** The most this peer knows the member holds; null when nothing has been learned of it yet. */
  vector: VectorClock | null
  /** Its digest and key count as of its last report. */
  digest: string | null
  keys: number | null
  /** When its last report arrived, and where from. */
  reportedAt: number | null
  source: ReportSource | null
  /** Writes this peer holds that the member lacks (an upper bound: it may have caught up since it last said). */
  lagEntries: number | null
  /** Writes the member has that this peer lacks. */
  aheadEntries: number | null
  /** How old the oldest write it lacks is (ms; 0 when it lacks none). */
  oldestMissingMs: number | null
  /** Its last report had this peer's digest and it lacks nothing: the same writes. */
  inSync: boolean
}

export interface ConvergenceReport {
  peerId: string
  /** When this was computed (ms since the epoch). */
  at: number
  /** Every member alive or suspect (this peer aside) last reported the same digest and lacks nothing. */
  converged: boolean
  vector: VectorClock
  digest: string
  keys: number
  /** Every member of the view, this peer first. */
  members: MemberLag[]
}

export interface ConvergenceInput {
  self: { peerId: string, vector: VectorClock, digest: string, keys: number }
  members: ReadonlyArray<{ peerId: string, state: string, self: boolean }>
  knowledge: ReadonlyMap<string, MemberKnowledge>
  now: number
  /** Wall time (ms) of the oldest write this peer holds that a replica at `vector` lacks. */
  oldestMissing: (vector: VectorClock) => number | undefined
}

/** Members whose replicas count for convergence: those not known to be gone. */
export function counts (state: string): boolean {
  return state === 'alive' || state === 'suspect'
}

export function assessConvergence (input: ConvergenceInput): ConvergenceReport {
  const { self, now } = input
  const rows: MemberLag[] = [{
    peerId: self.peerId,
    state: input.members.find((m) => m.self)?.state ?? 'alive',
    self: true,
    vector: self.vector,
    digest: self.digest,
    keys: self.keys,
    reportedAt: now,
    source: null,
    lagEntries: 0,
    aheadEntries: 0,
    oldestMissingMs: 0,
    inSync: true
  }]
  let converged = true
  for (const member of input.members) {
    if (member.self || member.peerId === self.peerId) continue
    const knowledge = input.knowledge.get(member.peerId)
    const row = memberRow(member, knowledge, input)
    rows.push(row)
    if (counts(member.state) && !row.inSync) converged = false
  }
  return { peerId: self.peerId, at: now, converged, vector: self.vector, digest: self.digest, keys: self.keys, members: rows }
}

function memberRow (member: { peerId: string, state: string }, knowledge: MemberKnowledge | undefined, input: ConvergenceInput): MemberLag {
  const base = { peerId: member.peerId, state: member.state, self: false }
  if (knowledge === undefined) {
    return {
      ...base, vector: null, digest: null, keys: null, reportedAt: null, source: null,
      lagEntries: null, aheadEntries: null, oldestMissingMs: null, inSync: false
    }
  }
  const mine = input.self.vector
  const theirs = knowledge.known
  const lag = lagEntries(mine, theirs)
  const oldest = lag === 0 ? undefined : input.oldestMissing(theirs)
  const report = knowledge.report
  return {
    ...base,
    vector: theirs,
    digest: report?.digest ?? null,
    keys: report?.keys ?? null,
    reportedAt: report?.at ?? null,
    source: report?.source ?? null,
    lagEntries: lag,
    aheadEntries: lagEntries(theirs, mine),
    oldestMissingMs: lag === 0 ? 0 : oldest === undefined ? null : Math.max(0, input.now - oldest),
    inSync: report !== undefined && report.digest === input.self.digest && lag === 0
  }
}
