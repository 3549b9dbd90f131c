import { horizonOffer, joinVectors, meetVectors, ReplicaState, Session, settleOffer, WrongTypeError } from '../../src/replica/index.js'
import type { Json, Settlement, VectorClock, WriteRecord } from '../../src/replica/index.js'
import { transmit } from './helpers.js'

/**
 * One direction of an anti-entropy session as the service runs it, without the stream:
 * `to` hears `from`'s horizon offer (if any) and gets the records it lacks, then settles.
 * `published` stands for what the coordinator published (GC_KEY) as `to` knows it;
 * `believed` for the service's `corroborated` (default: every offer is believed).
 */
export function gcSync (from: ReplicaState, to: ReplicaState, published: VectorClock, believed?: (horizon: VectorClock) => boolean): Settlement {
  const session = new Session()
  for (const frame of horizonOffer(from, to.horizon(), to.versionVector())) session.offered(frame)
  const records = transmit(from.recordsSince(to.versionVector()))
  for (const record of records) session.vouch(record.dot.replica, [record.dot.seq])
  to.join(records)
  return settleOffer(to, session, published, believed)
}

/** Both directions, like one real session. */
export function gcSyncBoth (a: ReplicaState, b: ReplicaState, published: VectorClock): void {
  gcSync(a, b, published)
  gcSync(b, a, published)
}

/** What the coordinator would publish for these members (the published horizon included). */
export function horizonOf (members: ReplicaState[], published: VectorClock = {}): VectorClock {
  return joinVectors(published, meetVectors(members.map((m) => m.versionVector())))
}

/** Adopts the horizon on every replica that covers it, as the service does when GC_KEY changes. */
export function adoptWhereCovered (replicas: ReplicaState[], horizon: VectorClock): void {
  for (const r of replicas) if (r.covers(joinVectors(r.horizon(), horizon))) r.adoptHorizon(horizon)
}

/** The user-visible view of a replica (no record counts, digests or vectors: GC changes those by design). */
export function userView (r: ReplicaState, keys: string[]): unknown {
  return { list: r.list(''), keys: keys.map((k) => [k, r.typeOf(k) ?? null, r.versions(k)]) }
}

export type Mutation = 'put' | 'delete' | 'increment' | 'decrement' | 'setAdd' | 'setRemove'

export function mutate (r: ReplicaState, mutation: Mutation, key: string, value: Json): WriteRecord | undefined {
  try {
    switch (mutation) {
      case 'put': return r.put(key, value)
      case 'delete': return r.delete(key)
      case 'increment': return r.increment(key, typeof value === 'number' && value > 0 ? value : 1)
      case 'decrement': return r.decrement(key)
      case 'setAdd': return r.setAdd(key, value)
      case 'setRemove': return r.setRemove(key, value)
    }
  } catch (err) {
    if (err instanceof WrongTypeError) return undefined
    throw err
  }
}
