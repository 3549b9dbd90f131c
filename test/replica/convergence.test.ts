import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeBatch, encodeBatch, encodeBatches, ReplicaState, WrongTypeError } from '../../src/replica/index.js'
import { ManualTime, prng, replica, shuffle, sync, transmit, view } from './helpers.js'
import type { Json, WriteRecord } from '../../src/replica/index.js'

const KEYS = ['a', 'b', 'c', 'd']
const IDS = ['A', 'B', 'C']

type Mutation = 'put' | 'delete' | 'increment' | 'decrement' | 'setAdd' | 'setRemove'

type Step =
  | { kind: 'write', at: number, mutation: Mutation, key: string, value: Json }
  | { kind: 'deliver', from: number, to: number }
  | { kind: 'time', at: number, ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({
    kind: fc.constant('write' as const),
    at: fc.integer({ min: 0, max: 2 }),
    mutation: fc.constantFrom<Mutation>('put', 'delete', 'increment', 'decrement', 'setAdd', 'setRemove'),
    key: fc.constantFrom(...KEYS),
    value: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom<Json>('x', 'y', { o: 1 }, [1, 2], null, true))
  }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('deliver' as const), from: fc.integer({ min: 0, max: 2 }), to: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('time' as const), at: fc.integer({ min: 0, max: 2 }), ms: fc.integer({ min: 0, max: 20 }) }) }
)

function write (r: ReplicaState, s: Extract<Step, { kind: 'write' }>): WriteRecord | undefined {
  try {
    switch (s.mutation) {
      case 'put': return r.put(s.key, s.value)
      case 'delete': return r.delete(s.key)
      case 'increment': return r.increment(s.key, typeof s.value === 'number' && s.value > 0 ? s.value : 1)
      case 'decrement': return r.decrement(s.key)
      case 'setAdd': return r.setAdd(s.key, s.value)
      case 'setRemove': return r.setRemove(s.key, s.value)
    }
  } catch (err) {
    // Counter/set operations on a key that holds another type are refused by design.
    if (err instanceof WrongTypeError) return undefined
    throw err
  }
}

interface World {
  replicas: ReplicaState[]
  /** Every record ever written, in write order. */
  written: WriteRecord[]
}

/**
 * Runs a script over three replicas whose wall clocks disagree. Gossip is lossy and
 * unordered: each delivery sends a random part of what is pending (the rest arrives
 * later), shuffled, sometimes twice, in random batches, always through the wire codec.
 * When `gossip` is false nothing is delivered during the script.
 */
function run (steps: Step[], seed: number, gossip = true): World {
  const random = prng(seed)
  const times = [new ManualTime(1_700_000_000_000), new ManualTime(1_700_000_000_050), new ManualTime(1_699_999_999_970)]
  const replicas = IDS.map((id, i) => replica(id, times[i]))
  const pending: WriteRecord[][][] = IDS.map(() => IDS.map(() => []))
  const written: WriteRecord[] = []

  const deliver = (from: number, to: number, all: boolean): void => {
    const queue = pending[from]?.[to] as WriteRecord[]
    const sending: WriteRecord[] = []
    const late: WriteRecord[] = []
    for (const record of queue) (all || random() < 0.6 ? sending : late).push(record)
    for (const record of [...sending]) if (random() < 0.2) sending.push(record)
    queue.splice(0, queue.length, ...late)
    const target = replicas[to] as ReplicaState
    const order = shuffle(sending, random)
    const batches = encodeBatches(order, { maxRecords: 1 + Math.floor(random() * 4) })
    for (const batch of batches) {
      const records = decodeBatch(batch)
      if (random() < 0.5) target.join(records)
      else for (const record of records) target.apply(record)
    }
  }

  for (const s of steps) {
    if (s.kind === 'time') {
      times[s.at]?.advance(s.ms)
    } else if (s.kind === 'write') {
      const record = write(replicas[s.at] as ReplicaState, s)
      if (record === undefined) continue
      written.push(record)
      for (let to = 0; to < IDS.length; to++) if (to !== s.at) pending[s.at]?.[to]?.push(record)
    } else if (gossip && s.from !== s.to) {
      deliver(s.from, s.to, false)
    }
  }
  if (gossip) {
    for (const from of shuffle([0, 1, 2], random)) for (let to = 0; to < 3; to++) if (from !== to) deliver(from, to, true)
  }
  return { replicas, written }
}

function expectConverged (replicas: ReplicaState[]): void {
  const [first, ...rest] = replicas as [ReplicaState, ...ReplicaState[]]
  for (const other of rest) {
    expect(other.list('')).toEqual(first.list(''))
    for (const key of KEYS) {
      expect(other.versions(key)).toEqual(first.versions(key))
      expect(other.typeOf(key)).toEqual(first.typeOf(key))
    }
    expect(other.digest()).toBe(first.digest())
    expect(other.recordCount()).toBe(first.recordCount())
    expect(other.versionVector()).toEqual(first.versionVector())
  }
}

/** A fresh observer replica that has joined the given record sets, each through the codec. */
function joined (...sets: WriteRecord[][]): ReplicaState {
  const observer = new ReplicaState('observer')
  for (const set of sets) observer.join(transmit(set))
  return observer
}

const script = fc.array(step, { minLength: 1, maxLength: 60 })
const seed = fc.integer()

describe('convergence (property)', () => {
  it('three replicas with lossy, late, duplicated, reordered, batched gossip converge once everything is delivered', () => {
    fc.assert(fc.property(script, seed, (steps, s) => {
      const { replicas, written } = run(steps, s)
      expectConverged(replicas)
      for (const r of replicas) expect(r.recordCount()).toBe(written.length)
      for (const a of replicas) for (const b of replicas) expect(a.recordsSince(b.versionVector())).toEqual([])
    }), { numRuns: 300 })
  })

  it('anti-entropy alone (no gossip at all) converges', () => {
    fc.assert(fc.property(script, seed, (steps, s) => {
      const { replicas } = run(steps, s, false)
      const [a, b, c] = replicas as [ReplicaState, ReplicaState, ReplicaState]
      sync(a, b)
      sync(b, c)
      sync(c, a)
      sync(a, b)
      expectConverged(replicas)
    }), { numRuns: 150 })
  })

  it('the derived view depends only on the set of records, not on their arrival order', () => {
    fc.assert(fc.property(script, seed, seed, (steps, s1, s2) => {
      const { written } = run(steps, s1)
      const inOrder = joined(written)
      const shuffled = new ReplicaState('observer')
      for (const record of transmit(shuffle(written, prng(s2)))) shuffled.apply(record)
      expect(view(shuffled)).toEqual(view(inOrder))
    }), { numRuns: 150 })
  })
})

describe('join laws (property), on record sets and on derived views', () => {
  /** Three random, possibly overlapping subsets of the records of one run: causal gaps included. */
  const subsets = fc.tuple(script, seed, fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 60, maxLength: 60 }))
    .map(([steps, s, picks]) => {
      const { written } = run(steps, s)
      const sets: WriteRecord[][] = [[], [], []]
      written.forEach((record, i) => {
        const mask = picks[i % picks.length] as number
        for (let j = 0; j < 3; j++) if ((mask & (1 << j)) !== 0) sets[j]?.push(record)
      })
      return sets as [WriteRecord[], WriteRecord[], WriteRecord[]]
    })

  const dots = (r: ReplicaState): string[] => [...r.allRecords()].map((x) => `${x.dot.replica}:${x.dot.seq}`).sort()

  it('commutative: x ⊔ y = y ⊔ x', () => {
    fc.assert(fc.property(subsets, ([x, y]) => {
      const xy = joined(x, y)
      const yx = joined(y, x)
      expect(dots(xy)).toEqual(dots(yx))
      expect(view(xy)).toEqual(view(yx))
    }), { numRuns: 100 })
  })

  it('associative: (x ⊔ y) ⊔ z = x ⊔ (y ⊔ z)', () => {
    fc.assert(fc.property(subsets, ([x, y, z]) => {
      const left = joined([...joined(x, y).allRecords()], z)
      const right = joined(x, [...joined(y, z).allRecords()])
      expect(dots(left)).toEqual(dots(right))
      expect(view(left)).toEqual(view(right))
    }), { numRuns: 100 })
  })

  it('idempotent: x ⊔ x = x', () => {
    fc.assert(fc.property(subsets, ([x]) => {
      const once = joined(x)
      const twice = joined(x, x)
      twice.join(transmit([...once.allRecords()]))
      expect(dots(twice)).toEqual(dots(once))
      expect(view(twice)).toEqual(view(once))
    }), { numRuns: 100 })
  })
})

describe('concurrency scenarios, replayed over every delivery order', () => {
  it('a delete on one side and a put on the other: the put survives in every order', () => {
    for (let s = 0; s < 50; s++) {
      const a = replica('A')
      const b = replica('B')
      const base = a.put('k', 'old')
      b.apply(transmit([base])[0] as WriteRecord)
      const del = a.delete('k') as WriteRecord
      const put = b.put('k', 'new')
      const c = replica('C')
      for (const record of transmit(shuffle([base, del, put], prng(s)))) c.apply(record)
      expect(c.get('k')).toBe('new')
      expect(decodeBatch(encodeBatch([...c.allRecords()]))).toHaveLength(3)
    }
  })
})
