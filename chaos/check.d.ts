// Types of check.js, for the tests that prove the checks can fail.

export interface Dot { replica: string, seq: number }
export interface RecordedWrite {
  type: 'put' | 'counter' | 'set' | 'set-remove'
  key: string
  value?: unknown
  by?: number
  element?: unknown
  peer?: number
  receipt?: { key: string, dot?: Dot, hlc?: Hlc, changed?: boolean }
}
export interface Hlc { wall: number, logical: number }
export interface Version { value: unknown, dot: Dot, clock: Record<string, number>, hlc?: Hlc }
export interface WriteSnapshot {
  index: number
  values: Map<string, unknown>
  versions: Map<string, Version[]>
}
export interface TermObservation { source: string, term: number, at: number }
export interface LeaderSnapshot {
  index: number
  peerId: string
  term: number
  leader: { peerId: string, term: number } | undefined
}

export const RETIRED_PREFIX: string
export function canonical (value: unknown): string
export interface LoggedRecord { dot: Dot, key?: string, clock: Record<string, number>, removes: Dot[], hlc?: Hlc }
export function checkWrites (acked: RecordedWrite[], unknown: RecordedWrite[], snapshots: WriteSnapshot[], records?: Map<string, LoggedRecord>): {
  lost: number
  violations: string[]
  found: { present: number, clock: number, superseded: number }
}
export function checkSameAnswers (snapshots: WriteSnapshot[]): string[]
export function checkTerms (observations: Map<number, TermObservation[]>): string[]
export function checkLeader (snapshots: LeaderSnapshot[], context: { expected: string, highestObserved: number }): string[]
export interface RssSample { at: number, process: number, startedAt: number, rss: number }
export interface RssProcess {
  process: number
  startedAtMs: number
  samples: number
  fromMs: number | null
  toMs: number | null
  checked: boolean
  baselineMb?: number
  endMb?: number
  growthPct?: number
}
export function checkRssGrowth (samples: Map<number, RssSample[]>, options: { fromMs: number, warmupMs: number, minSpanMs: number, maxGrowth: number, edge?: number }): {
  peers: Array<{ index: number, processes: RssProcess[] }>
  checked: number
  violations: string[]
}
export interface LogSample { at: number, process: number, held?: number, logRecords?: number, logBytes?: number, compactions?: number }
export function checkLogBound (samples: Map<number, LogSample[]>, options: { maxRatio: number, slack: number }): {
  peers: Array<{ index: number, compactions: number, samples: number, worstRatio: { ratio: number, atS: number, held: number, logRecords: number, logBytes: number } | null }>
  violations: string[]
}
export interface RecordedRun { name: string, peer: string, term: number, start: number, end: number }
export function findOverlaps<R extends RecordedRun> (runs: R[]): Array<{ a: R, b: R, ms: number }>
export function checkJobOverlaps (runs: RecordedRun[], options?: { pauses?: Map<string, Array<{ from: number, to: number }>>, label?: (run: RecordedRun) => string }): {
  overlaps: number
  paused: number
  violations: string[]
}
