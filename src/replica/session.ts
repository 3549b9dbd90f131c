/**
 * The GC part of an anti-entropy session, without I/O: what to tell a peer that has not
 * adopted our horizon, and what to do with what a peer told us. The service runs it over a
 * stream; tests run it between ReplicaStates directly.
 */
import { horizonFrames, type SyncFrame } from './sync-codec.js'
import { isEmptyVector, joinVectors, seqOf, vectorLeq } from './version-vector.js'
import type { ReplicaState } from './store.js'
import type { Dot, VectorClock } from './types.js'

type HorizonFrame = Extract<SyncFrame, { type: 'horizon' }>

/**
 * The HORIZON frames for a peer whose HELLO showed `theirHorizon` and `theirVector`: none
 * when it has adopted ours; just the horizon when its vector covers it (it can collect by
 * itself); otherwise the horizon and the dots we still hold at or below it and its vector.
 */
export function horizonOffer (state: ReplicaState, theirHorizon: VectorClock, theirVector: VectorClock): HorizonFrame[] {
  const horizon = state.horizon()
  if (isEmptyVector(horizon) || vectorLeq(horizon, theirHorizon)) return []
  if (vectorLeq(horizon, theirVector)) return [{ type: 'horizon', horizon, kept: [], complete: true }]
  return horizonFrames(horizon, state.keptDots(horizon, theirVector)) as HorizonFrame[]
}

/** What one anti-entropy session learned from the peer: its horizon, the dots it holds below it, and whether all of it was good. */
export class Session {
  horizon: VectorClock | undefined
  complete = false
  clean = true
  private readonly dots = new Map<string, Set<number>>()

  /**
   * `holds` says whether this replica holds (or has collected) a dot. Only such dots are
   * remembered: what a peer vouches for matters only for records we hold, and a peer that
   * lists dots we never had cannot grow the session without bound (HORIZON frames may follow
   * one another until DONE).
   */
  constructor (private readonly holds: (dot: Dot) => boolean = () => true) {}

  offered (frame: HorizonFrame): void {
    if (this.horizon === undefined) {
      this.horizon = frame.horizon
      this.complete = frame.complete
    }
    for (const [replica, seqs] of frame.kept) this.vouch(replica, seqs)
  }

  /** The peer holds these dots: it listed them or sent their records. */
  vouch (replica: string, seqs: readonly number[]): void {
    let set = this.dots.get(replica)
    for (const seq of seqs) {
      if (!this.holds({ replica, seq })) continue
      if (set === undefined) this.dots.set(replica, set = new Set())
      set.add(seq)
    }
  }

  vouched (dot: Dot): boolean {
    return this.dots.get(dot.replica)?.has(dot.seq) === true
  }
}

export type Settlement =
  | { outcome: 'none' }
  /** The offered horizon is above what was published: not believed. */
  | { outcome: 'refused' }
  /** This replica would have to drop records on the peer's word, and the current members' vectors do not all cover the horizon yet. */
  | { outcome: 'deferred' }
  | { outcome: 'adopted', collected: number }
  | { outcome: 'reconciled', dropped: number, collected: number }

/**
 * Acts on a peer's horizon at the end of a session. Adopts it when this replica covers it
 * (nothing is missing below it); otherwise, after a clean session with a dot list, drops
 * what the peer no longer holds below it and adopts it. Only a horizon at or below
 * `published` (what the coordinator published, as this replica knows it) is believed, so
 * a peer cannot make us forget records by inventing one.
 *
 * `published` is a value any writer can write, though, and the dot list is the peer's word.
 * Dropping records on that word is done only when `believed(horizon)` says so (the
 * service asks `corroborated` below). Without it, a member could offer a horizon over dots
 * no one else holds, with an empty list, and the replica would drop everything below it,
 * then offer the same to the next peer.
 */
export function settleOffer (state: ReplicaState, session: Session, published: VectorClock, believed: (horizon: VectorClock) => boolean = () => true): Settlement {
  const offered = session.horizon
  if (offered === undefined) return { outcome: 'none' }
  const current = state.horizon()
  if (vectorLeq(offered, current)) return { outcome: 'none' }
  if (!vectorLeq(offered, joinVectors(published, current))) return { outcome: 'refused' }
  const next = joinVectors(current, offered)
  if (state.covers(next)) return { outcome: 'adopted', collected: state.adoptHorizon(next) }
  if (session.complete || !session.clean) return { outcome: 'none' }
  if (!believed(offered)) return { outcome: 'deferred' }
  return { outcome: 'reconciled', ...state.reconcile(offered, (dot) => session.vouched(dot)) }
}

/**
 * Whether records may be dropped on `offering`'s word to catch up with `horizon`. `others`
 * are the last HELLO vectors of the other current members (undefined: none yet); with no
 * other member, the offering peer's word is all there is. Otherwise another member's HELLO
 * must cover the horizon (a third party holds, or has collected, everything below it, as
 * every member does once the coordinator's horizon has gone round), but for the offering
 * peer's own entry: an author collecting its own superseded writes before anyone else had
 * them (a peer restarted alone did) is believed up to the highest of its seqs held here.
 * Its word then only drops its own writes, which it could delete anyway; a horizon over its
 * own future seqs, or over dots of others no one else holds, is still not believed.
 */
export function corroborated (offering: string, horizon: VectorClock, others: ReadonlyArray<VectorClock | undefined>, heldOfOffering: number): boolean {
  if (others.length === 0) return true
  const covered = (part: VectorClock): boolean => others.some((vector) => vector !== undefined && vectorLeq(part, vector))
  const own = seqOf(horizon, offering)
  const rest: VectorClock = Object.fromEntries(Object.entries(horizon).filter(([replica]) => replica !== offering))
  return (own <= heldOfOffering || covered({ [offering]: own })) && covered(rest)
}
