import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  corroborated, decodeSyncFrame, encodeSyncFrame, expandRetired, HorizonNotCoveredError, horizonFrames, joinVectors, meetVectors, omitRetired,
  parseHorizon, parseRetirement, ReplicaState, retiredDigest, Session, settleOffer, vectorLeq
} from '../../src/replica/index.js'
import type { Json, VectorClock, WriteRecord } from '../../src/replica/index.js'
import { ManualTime, prng, replica, shuffle, sync, syncAll, transmit } from './helpers.js'
import { adoptWhereCovered, gcSync, gcSyncBoth, horizonOf, mutate, userView, type Mutation } from './gc-helpers.js'

describe('vectors', () => {
  it('meet is the entry-wise minimum (a replica missing anywhere is 0), join the maximum', () => {
    expect(meetVectors([{ A: 3, B: 5 }, { A: 4, B: 2, C: 1 }])).toEqual({ A: 3, B: 2 })
    expect(meetVectors([{ A: 3 }])).toEqual({ A: 3 })
    expect(meetVectors([])).toEqual({})
    expect(joinVectors({ A: 3, B: 5 }, { A: 4, C: 1 })).toEqual({ A: 4, B: 5, C: 1 })
    expect(vectorLeq({ A: 1 }, { A: 1, B: 2 })).toBe(true)
    expect(vectorLeq({ A: 2 }, { A: 1, B: 2 })).toBe(false)
  })

  it('a vector with retired replicas left out expands back to the same vector', () => {
    const retired = new Map([['R', 4], ['S', 9]])
    const full = { A: 2, R: 4, S: 10 }
    const sent = omitRetired(full, retired)
    expect(sent).toEqual({ A: 2, S: 10 })
    expect(expandRetired(sent, retired)).toEqual(full)
    expect(retiredDigest(new Map())).toBe('')
    expect(retiredDigest(retired)).toBe(retiredDigest(new Map([['S', 9], ['R', 4]])))
    expect(retiredDigest(retired)).not.toBe(retiredDigest(new Map([['R', 5], ['S', 9]])))
  })

  it('published values parse strictly: anything else is ignored', () => {
    expect(parseHorizon({ vector: { A: 3 }, term: 2 })).toEqual({ vector: { A: 3 }, term: 2 })
    expect(parseHorizon({ vector: { A: -1 }, term: 2 })).toBeUndefined()
    expect(parseHorizon({ vector: [1], term: 2 })).toBeUndefined()
    expect(parseHorizon('x')).toBeUndefined()
    expect(parseRetirement({ seq: 4, term: 1 })).toEqual({ seq: 4, term: 1 })
    expect(parseRetirement({ seq: 0, term: 1 })).toBeUndefined()
  })

  it('HORIZON frames round-trip through the codec and split long dot lists', () => {
    const kept: Array<[string, number[]]> = [['A', [1, 2, 5, 9]], ['B', [3]]]
    const frames = horizonFrames({ A: 9, B: 3 }, kept, 3)
    expect(frames).toHaveLength(2)
    const decoded = frames.map((f) => decodeSyncFrame(encodeSyncFrame(f)))
    expect(decoded[0]).toEqual({ type: 'horizon', horizon: { A: 9, B: 3 }, kept: [['A', [1, 2, 5]]], complete: false })
    expect(decoded[1]).toEqual({ type: 'horizon', horizon: {}, kept: [['A', [9]], ['B', [3]]], complete: false })
    const hello = { type: 'hello' as const, vector: { A: 1 }, digest: 'd', horizon: { A: 1 }, retired: 'r' }
    expect(decodeSyncFrame(encodeSyncFrame(hello))).toEqual(hello)
  })
})

describe('collection', () => {
  it('an overwritten value is collected once the horizon covers both writes; the view, the vector and equal digests stay', () => {
    const a = replica('A')
    const b = replica('B')
    a.put('k', 1)
    sync(a, b)
    b.put('k', 2)
    syncAll([a, b])
    const before = { a: userView(a, ['k']), vv: a.versionVector() }
    const h = horizonOf([a, b])
    expect(h).toEqual({ A: 1, B: 1 })
    expect(a.collectible(h)).toBe(1)
    expect(a.adoptHorizon(h)).toBe(1)
    expect(b.adoptHorizon(h)).toBe(1)
    for (const r of [a, b]) {
      expect(r.recordCount()).toBe(1)
      expect(userView(r, ['k'])).toEqual(before.a)
      expect(r.versionVector()).toEqual(before.vv)
      expect(r.has({ replica: 'A', seq: 1 })).toBe(true)
    }
    expect(a.digest()).toBe(b.digest())
  })

  it('a delete and what it removed are both collected; the key is gone for good', () => {
    const a = replica('A')
    const put = a.put('k', 1)
    a.delete('k')
    a.adoptHorizon(a.versionVector())
    expect(a.recordCount()).toBe(0)
    expect(a.get('k')).toBeUndefined()
    // The collected put arriving again (a late gossip) is a duplicate: it does not come back.
    expect(a.apply(transmit([put])[0] as WriteRecord)).toBe('duplicate')
    expect(a.get('k')).toBeUndefined()
    expect(a.list('')).toEqual([])
  })

  it('live records are never collected, whatever the horizon', () => {
    const a = replica('A')
    a.put('x', 1)
    a.setAdd('s', 'e')
    a.increment('c', 2)
    expect(a.adoptHorizon(a.versionVector())).toBe(0)
    expect(a.recordCount()).toBe(3)
    expect(a.list('')).toEqual([['c', 2], ['s', ['e']], ['x', 1]])
  })

  it('set-removes and superseded counter records are collected; values stay', () => {
    const a = replica('A')
    a.setAdd('s', 'e')
    a.setAdd('s', 'f')
    a.setRemove('s', 'e')
    a.increment('c')
    a.increment('c', 4)
    expect(a.adoptHorizon(a.versionVector())).toBe(3)
    expect(a.get('s')).toEqual(['f'])
    expect(a.get('c')).toBe(5)
    expect(a.recordCount()).toBe(2)
  })

  it('a delete that removed a dot above the horizon waits until the horizon covers that dot', () => {
    const a = replica('A')
    const b = replica('B')
    b.put('x', 0) // B:1
    b.put('k', 1) // B:2
    sync(b, a)
    a.delete('k') // A:1 removes B:2
    expect(a.adoptHorizon({ A: 1, B: 1 })).toBe(0)
    expect(a.recordCount()).toBe(3)
    expect(a.adoptHorizon({ A: 1, B: 2 })).toBe(2)
    expect(a.recordCount()).toBe(1)
    expect(a.list('')).toEqual([['x', 0]])
  })

  it('a value below the horizon removed later by a write above it is collected when that write arrives', () => {
    const a = replica('A')
    const b = replica('B')
    a.put('k', 1)
    sync(a, b)
    a.adoptHorizon({ A: 1 })
    b.adoptHorizon({ A: 1 })
    b.put('k', 2) // B:1 removes A:1, above the horizon itself
    expect(b.recordCount()).toBe(1)
    sync(b, a)
    expect(a.recordCount()).toBe(1)
    expect(a.get('k')).toBe(2)
    expect(a.digest()).toBe(b.digest())
  })

  it('a horizon the replica does not cover is refused with a typed error, changing nothing', () => {
    const a = replica('A')
    a.put('k', 1)
    const digest = a.digest()
    expect(() => a.adoptHorizon({ A: 1, B: 1 })).toThrow(HorizonNotCoveredError)
    try {
      a.adoptHorizon({ B: 1 })
    } catch (err) {
      expect((err as HorizonNotCoveredError).code).toBe('ERR_HORIZON_NOT_COVERED')
    }
    expect(a.digest()).toBe(digest)
    expect(a.horizon()).toEqual({})
  })

  it('digests: no horizon is the old digest; equal writes and equal horizons give equal digests', () => {
    const a = replica('A')
    const plain = replica('A2')
    a.put('k', 1)
    plain.join(transmit(a.allRecords()))
    expect(a.digest()).toBe(plain.digest())
    a.put('j', 1)
    plain.join(transmit(a.recordsSince(plain.versionVector())))
    a.adoptHorizon({ A: 1 })
    // Nothing was collected, yet the horizon differs: the two are not "converged" until both adopt it.
    expect(a.recordCount()).toBe(plain.recordCount())
    expect(a.digest()).not.toBe(plain.digest())
    plain.adoptHorizon({ A: 1 })
    expect(a.digest()).toBe(plain.digest())
  })

  it('own seqs are never reused: a restored horizon covering our own dots moves lastSeq', () => {
    const a = replica('A')
    a.put('k', 1)
    a.delete('k')
    const restarted = replica('A')
    restarted.restoreHorizon({ A: 2 })
    expect(restarted.lastSeq).toBe(2)
    expect(restarted.put('k', 3).dot.seq).toBe(3)
  })
})

describe('a replica behind the horizon', () => {
  function scenario (): { a: ReplicaState, b: ReplicaState, late: ReplicaState, published: VectorClock } {
    const time = new ManualTime()
    const a = replica('A', time)
    const b = replica('B', time)
    const late = replica('L', time)
    a.put('gone', 'old')
    a.put('kept', 'v1')
    syncAll([a, b, late])
    // L is cut off. A and B delete and overwrite; GC among them collects it.
    a.delete('gone')
    b.put('kept', 'v2')
    syncAll([a, b])
    const published = horizonOf([a, b])
    adoptWhereCovered([a, b], published)
    expect(a.recordCount()).toBe(1)
    return { a, b, late, published }
  }

  it('drops what was collected elsewhere, keeps its own writes above the horizon, and everyone ends equal', () => {
    const { a, b, late, published } = scenario()
    late.put('mine', 'written while away')
    late.setAdd('tags', 'x')
    expect(late.get('gone')).toBe('old')
    const settled = gcSync(a, late, published)
    expect(settled).toMatchObject({ outcome: 'reconciled', dropped: 2 })
    expect(late.get('gone')).toBeUndefined()
    expect(late.get('kept')).toBe('v2')
    expect(late.get('mine')).toBe('written while away')
    gcSyncBoth(late, a, published)
    gcSyncBoth(late, b, published)
    for (const r of [a, b, late]) {
      expect(r.list('')).toEqual([['kept', 'v2'], ['mine', 'written while away'], ['tags', ['x']]])
      expect(r.digest()).toBe(a.digest())
    }
  })

  it('a put made while away, concurrent with the collected delete, survives everywhere', () => {
    const { a, b, late, published } = scenario()
    late.put('gone', 'rewritten while away')
    gcSyncBoth(a, late, published)
    gcSyncBoth(b, late, published)
    gcSyncBoth(a, b, published)
    for (const r of [a, b, late]) expect(r.get('gone')).toBe('rewritten while away')
    expect(late.digest()).toBe(a.digest())
    expect(b.digest()).toBe(a.digest())
  })

  it('records gossiped by the late replica never bring a collected value back', () => {
    const { a, late } = scenario()
    // Plain gossip (no session): everything L holds, straight into A.
    a.join(transmit(late.allRecords()))
    expect(a.get('gone')).toBeUndefined()
    expect(a.recordCount()).toBe(1)
  })

  it('a horizon above what was published is refused; an unclean session changes nothing', () => {
    const { a, late } = scenario()
    const session = new Session()
    session.offered({ type: 'horizon', horizon: a.horizon(), kept: [], complete: false })
    expect(settleOffer(late, session, {})).toEqual({ outcome: 'refused' })
    session.clean = false
    expect(settleOffer(late, session, a.horizon())).toEqual({ outcome: 'none' })
    expect(late.get('gone')).toBe('old')
  })

  it('a replica that covers the horizon adopts it by itself (no list needed)', () => {
    const a = replica('A')
    const b = replica('B')
    const c = replica('C')
    a.put('k', 1)
    a.delete('k')
    syncAll([a, b, c])
    // C was not a member when the horizon was decided, but it has every write below it.
    const published = horizonOf([a, b])
    adoptWhereCovered([a, b], published)
    expect(c.horizon()).toEqual({})
    expect(gcSync(a, c, published)).toEqual({ outcome: 'adopted', collected: 2 })
    expect(c.digest()).toBe(a.digest())
  })
})

describe('whose word a horizon offer needs', () => {
  it('another member\'s HELLO covers it; or, for the offering author\'s own entry, a later seq of it is held here', () => {
    const offer = { A: 5, B: 3 }
    // Alone with the offering peer: its word is all there is.
    expect(corroborated('A', offer, [], 0)).toBe(true)
    // Another member covers all of it.
    expect(corroborated('A', offer, [undefined, { A: 5, B: 4 }], 0)).toBe(true)
    // No one else has A's seqs up to 5, but we hold A's seq 7: A collected its own superseded writes first.
    expect(corroborated('A', offer, [{ A: 2, B: 3 }], 7)).toBe(true)
    expect(corroborated('A', offer, [{ A: 2, B: 3 }], 5)).toBe(true)
    // A's own future seqs (nothing of A held at or above 5), or B's dots no one else has: not believed.
    expect(corroborated('A', offer, [{ A: 2, B: 3 }], 4)).toBe(false)
    expect(corroborated('A', offer, [{ A: 5, B: 2 }], 9)).toBe(false)
    expect(corroborated('A', offer, [undefined], 9)).toBe(false)
  })

  it('an author that collected its own superseded writes before anyone had them (restarted, alone in its view) is believed: the others catch up and converge', () => {
    const a = replica('A')
    const b = replica('B')
    const c = replica('C')
    a.put('k', 0)
    b.put('j', 0)
    syncAll([a, b, c])
    // A, restarted and alone in its view: overwrites k twice; the middle write reaches no one.
    a.put('k', 1)
    const last = a.put('k', 2)
    for (const r of [b, c]) r.join(transmit([last]))
    // The horizon A published from its own vector alone: it collects its first two writes.
    const published = a.versionVector()
    a.adoptHorizon(published)
    expect(a.recordCount()).toBe(2)
    // B and C lack A's seq 2 for ever, so neither covers the horizon; each holds k = 0 beside k = 2.
    expect(b.versions('k')).toHaveLength(2)
    const believedBy = (to: ReplicaState, other: ReplicaState) => (h: VectorClock) => corroborated('A', h, [other.versionVector()], to.highestSeq('A'))
    expect(corroborated('A', published, [c.versionVector()], 0)).toBe(false)
    expect(gcSync(a, b, published, believedBy(b, c))).toEqual({ outcome: 'reconciled', dropped: 1, collected: 0 })
    expect(gcSync(a, c, published, believedBy(c, b))).toMatchObject({ outcome: expect.stringMatching(/reconciled|adopted/) })
    for (const r of [b, c]) {
      expect(r.versions('k').map((v) => v.value)).toEqual([2])
      expect(r.digest()).toBe(a.digest())
    }
  })
})

// --- property: GC never changes what anyone ends up seeing -------------------------------

const KEYS = ['a', 'b', 'c']
const IDS = ['A', 'B', 'C', 'L']

type Step =
  | { kind: 'write', at: number, mutation: Mutation, key: string, value: Json }
  | { kind: 'gossip', from: number, to: number }
  | { kind: 'session', a: number, b: number }
  | { kind: 'gc', members: number[] }
  | { kind: 'time', at: number, ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    kind: fc.constant('write' as const),
    at: fc.integer({ min: 0, max: 3 }),
    mutation: fc.constantFrom<Mutation>('put', 'put', 'delete', 'delete', 'increment', 'setAdd', 'setRemove'),
    key: fc.constantFrom(...KEYS),
    value: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom<Json>('x', 'y'))
  }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('gossip' as const), from: fc.integer({ min: 0, max: 3 }), to: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('session' as const), a: fc.integer({ min: 0, max: 3 }), b: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('gc' as const), members: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('time' as const), at: fc.integer({ min: 0, max: 3 }), ms: fc.integer({ min: 0, max: 20 }) }) }
)

describe('GC (property)', () => {
  it('random scripts, GC at random points among random members, a late replica cut off for a while: the final views equal a replica that never collected', () => {
    fc.assert(fc.property(fc.array(step, { minLength: 10, maxLength: 100 }), fc.integer({ min: 0, max: 100 }), fc.integer(), (steps, healAt, seed) => {
      const random = prng(seed)
      const times = IDS.map((_, i) => new ManualTime(1_700_000_000_000 + i * 17))
      const replicas = IDS.map((id, i) => replica(id, times[i]))
      const away = (i: number, n: number): boolean => i === 3 && n < healAt
      const pending: WriteRecord[][][] = IDS.map(() => IDS.map(() => []))
      const written: WriteRecord[] = []
      let published: VectorClock = {}
      steps.forEach((s, n) => {
        if (s.kind === 'time') {
          times[s.at]?.advance(s.ms)
        } else if (s.kind === 'write') {
          const record = mutate(replicas[s.at] as ReplicaState, s.mutation, s.key, s.value)
          if (record === undefined) return
          written.push(record)
          for (let to = 0; to < IDS.length; to++) if (to !== s.at) pending[s.at]?.[to]?.push(record)
        } else if (s.kind === 'gossip') {
          if (s.from === s.to || away(s.from, n) || away(s.to, n)) return
          // Lossy and late: a random part of what is pending, shuffled.
          const queue = pending[s.from]?.[s.to] as WriteRecord[]
          const sending = queue.filter(() => random() < 0.6)
          pending[s.from]![s.to] = queue.filter((r) => !sending.includes(r))
          ;(replicas[s.to] as ReplicaState).join(transmit(shuffle(sending, random)))
        } else if (s.kind === 'session') {
          if (s.a === s.b || away(s.a, n) || away(s.b, n)) return
          gcSyncBoth(replicas[s.a] as ReplicaState, replicas[s.b] as ReplicaState, published)
        } else {
          // The coordinator's members: whoever it believes current (never L while it is away).
          const members = s.members.filter((i) => !away(i, n)).map((i) => replicas[i] as ReplicaState)
          if (members.length === 0) return
          const horizon = horizonOf(members, published)
          published = horizon
          adoptWhereCovered(replicas.filter((_, i) => !away(i, n)), published)
        }
      })
      // Heal: anti-entropy until nothing changes (sessions carry the horizon to everyone).
      for (let round = 0; round < 3; round++) {
        for (const [i, a] of replicas.entries()) for (const [j, b] of replicas.entries()) if (i < j) gcSyncBoth(a, b, published)
      }
      const reference = new ReplicaState('reference')
      reference.join(transmit(written))
      const expected = userView(reference, KEYS)
      const [first] = replicas as [ReplicaState]
      for (const r of replicas) {
        expect(userView(r, KEYS)).toEqual(expected)
        expect(r.digest()).toBe(first.digest())
        expect(r.horizon()).toEqual(first.horizon())
        expect(r.recordCount()).toBeLessThanOrEqual(written.length)
      }
    }), { numRuns: 400 })
  })
})
