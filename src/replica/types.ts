/** Identifies one write: the `seq`-th write (1, 2, 3, ...) of replica `replica` (a PeerId string). */
export interface Dot {
  readonly replica: string
  readonly seq: number
}

/** Hybrid logical clock reading: wall time in ms plus a counter for events within one ms. */
export interface Hlc {
  readonly wall: number
  readonly logical: number
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export type Op =
  /** Multi-value register write. */
  | { readonly type: 'put', readonly value: Json }
  /** Removes the versions it has seen; never a live value itself. */
  | { readonly type: 'delete' }
  /** PN-counter: this author's cumulative increments (`p`) and decrements (`n`) on this key. */
  | { readonly type: 'counter', readonly p: number, readonly n: number }
  /** OR-set add. */
  | { readonly type: 'set-add', readonly element: Json }
  /** OR-set remove: removes the adds of `element` it has seen; never a live value itself. */
  | { readonly type: 'set-remove', readonly element: Json }

export type OpType = Op['type']

/** Contiguous maxima of a version vector: replica id → highest seq with no gap below it. */
export type VectorClock = Record<string, number>

/**
 * One write, as stored, gossiped and synced. Records are immutable once applied (the store
 * freezes them), and a replica's state is nothing but the set of records it holds.
 */
export interface WriteRecord {
  readonly dot: Dot
  readonly key: string
  readonly op: Op
  readonly hlc: Hlc
  /** The author's version vector when it wrote (its causal context); `clock[dot.replica] === dot.seq`. */
  readonly clock: Readonly<VectorClock>
  /** Dots of records of the same key that this write supersedes. */
  readonly removes: readonly Dot[]
  /**
   * The author's signature over `signingBytes(record)`. The core carries it and never
   * checks it: verifying is the network layer's job, before `apply`.
   */
  readonly signature?: Uint8Array
}

/** The type a key holds, decided by its newest live record. */
export type ValueType = 'register' | 'counter' | 'set'

/** One concurrent sibling of a register, as `versions(key)` returns it. */
export interface Version {
  readonly value: Json
  readonly clock: Readonly<VectorClock>
  readonly author: string
  readonly hlc: Hlc
  readonly dot: Dot
}

export type ChangeOrigin = 'local' | 'remote'

/** Passed to `onChange` when a key's live records, and so possibly its value, changed. */
export interface ReplicaChange {
  readonly key: string
  /** The record whose arrival caused the change. */
  readonly record: WriteRecord
  readonly origin: ChangeOrigin
}

export type Ordering = 'equal' | 'before' | 'after' | 'concurrent'
