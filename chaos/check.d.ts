// Types of check.js, for the tests that prove the checks can fail.

export interface Dot { replica: string, seq: number }
export interface RecordedWrite {
  type: 'put' | 'counter' | 'set'
  key: string
  value?: unknown
  by?: number
  element?: unknown
  peer?: number
  receipt?: { key: string, dot: Dot }
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
