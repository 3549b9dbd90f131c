// Types of schedule.js, for the tests of its determinism.

export interface Rng {
  next: () => number
  int: (min: number, max: number) => number
  pick: <T>(items: T[]) => T
  fork: () => Rng
}
export type Fault =
  | { at: number, action: 'partition', groups: number[][] }
  | { at: number, action: 'heal' }
  | { at: number, action: 'kill' | 'restart' | 'pause' | 'resume', peer: number }
export type WriteOp =
  | { type: 'put', key: string, value: { w: string, n: number } }
  | { type: 'counter', key: string, by: number }
  | { type: 'set', key: string, element: string }
  | { type: 'set-remove', key: string, element: string, peer: number }

export function createRng (seed: number): Rng
export function seedOf (text: string | number): number
export function faultSchedule (rng: Rng, options: { peers: number, durationMs: number, minGapMs?: number, maxGapMs?: number, maxDown?: number }): Fault[]
export function createWriter (rng: Rng, id: string, options?: { registerKeys?: number, counterKeys?: number, setKeys?: number, keepElements?: number }): {
  next: (live?: number[]) => WriteOp
  acknowledged: (op: WriteOp, peer: number) => void
  target: (live: number[]) => number
}
export function soakSchedule (rng: Rng, options: { peers: number, durationMs: number, everyMs: number, downMs: number }): Fault[]
export function scheduleDigest (schedule: Fault[]): string
