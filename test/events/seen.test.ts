import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SeenWindow, TokenBuckets } from '../../src/events/index.js'

describe('SeenWindow', () => {
  it('an id added is a duplicate for twice maxAge, then forgotten', () => {
    const seen = new SeenWindow({ maxAge: 100, maxEntries: 10 })
    seen.add('a', 1_000)
    expect(seen.has('a', 1_000)).toBe(true)
    expect(seen.has('a', 1_199)).toBe(true)
    expect(seen.has('a', 1_200)).toBe(false)
    expect(seen.size).toBe(0)
  })

  it('a send time more than maxAge from now either way is stale', () => {
    const seen = new SeenWindow({ maxAge: 100, maxEntries: 10 })
    expect(seen.isStale(900, 1_000)).toBe(false)
    expect(seen.isStale(899, 1_000)).toBe(true)
    expect(seen.isStale(1_100, 1_000)).toBe(false)
    expect(seen.isStale(1_101, 1_000)).toBe(true)
  })

  it('past maxEntries the oldest go first, and are counted', () => {
    const seen = new SeenWindow({ maxAge: 1_000, maxEntries: 3 })
    for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) seen.add(id, i)
    expect(seen.size).toBe(3)
    expect(seen.evicted).toBe(1)
    expect(seen.has('a', 5)).toBe(false)
    expect(seen.has('d', 5)).toBe(true)
  })

  it('refuses windows that are not positive whole numbers', () => {
    expect(() => new SeenWindow({ maxAge: 0, maxEntries: 1 })).toThrow(TypeError)
    expect(() => new SeenWindow({ maxAge: 1, maxEntries: 0.5 })).toThrow(TypeError)
  })

  it('whatever copies arrive, whenever, each message is delivered at most once (the service\'s admission rule)', () => {
    // Copies of a few messages arrive at random times (each with its own send time); a copy is
    // delivered when it is neither stale nor seen, as EventsService does.
    const arrival = fc.record({ message: fc.integer({ min: 0, max: 5 }), after: fc.integer({ min: 0, max: 400 }) })
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 6, maxLength: 6 }), fc.array(arrival, { maxLength: 80 }), (sentAt, arrivals) => {
      const seen = new SeenWindow({ maxAge: 100, maxEntries: 1_000 })
      const delivered = new Map<number, number>()
      let now = 0
      for (const { message, after } of arrivals) {
        now += after
        const id = `m${message}`
        const at = sentAt[message] as number
        if (seen.has(id, now) || seen.isStale(at, now)) continue
        seen.add(id, now)
        delivered.set(message, (delivered.get(message) ?? 0) + 1)
      }
      for (const count of delivered.values()) expect(count).toBe(1)
      expect(seen.size).toBeLessThanOrEqual(6)
    }))
  })
})

describe('TokenBuckets', () => {
  it('lets a burst through, then the rate', () => {
    const buckets = new TokenBuckets({ perSecond: 10, burst: 3, maxKeys: 10 })
    expect([1, 2, 3, 4].map(() => buckets.take('a', 0))).toEqual([true, true, true, false])
    expect(buckets.take('b', 0)).toBe(true)
    expect(buckets.take('a', 99)).toBe(false)
    expect(buckets.take('a', 100)).toBe(true)
    expect(buckets.take('a', 100)).toBe(false)
    // Idle long enough, the bucket is full again, never fuller.
    expect([1, 2, 3, 4].map(() => buckets.take('a', 60_000))).toEqual([true, true, true, false])
  })

  it('keeps at most maxKeys senders, forgetting the least recently used', () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1, maxKeys: 2 })
    expect(buckets.take('a', 0)).toBe(true)
    expect(buckets.take('b', 0)).toBe(true)
    expect(buckets.take('a', 0)).toBe(false)
    expect(buckets.take('c', 0)).toBe(true)
    expect(buckets.size).toBe(2)
    // b was the least recently used: forgotten, it starts again with a full bucket.
    expect(buckets.take('b', 0)).toBe(true)
    expect(buckets.take('a', 0)).toBe(true)
  })

  it('a clock that goes back adds no tokens', () => {
    const buckets = new TokenBuckets({ perSecond: 1_000, burst: 1, maxKeys: 2 })
    expect(buckets.take('a', 10_000)).toBe(true)
    expect(buckets.take('a', 0)).toBe(false)
    expect(buckets.take('a', 10_000)).toBe(false)
    expect(buckets.take('a', 10_001)).toBe(true)
  })

  it('over any interval a sender gets at most burst + rate × time through', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 10 }),
      fc.array(fc.record({ key: fc.constantFrom('a', 'b'), after: fc.integer({ min: 0, max: 300 }) }), { maxLength: 200 }),
      (perSecond, burst, takes) => {
        const buckets = new TokenBuckets({ perSecond, burst, maxKeys: 10 })
        let now = 0
        const accepted: Record<string, number[]> = { a: [], b: [] }
        for (const { key, after } of takes) {
          now += after
          if (buckets.take(key, now)) accepted[key]?.push(now)
        }
        for (const times of Object.values(accepted)) {
          for (let i = 0; i < times.length; i++) {
            for (let j = i; j < times.length; j++) {
              const span = (times[j] as number) - (times[i] as number)
              expect(j - i + 1).toBeLessThanOrEqual(burst + Math.floor(span * perSecond / 1000 + 1e-9))
            }
          }
        }
      }))
  })

  it('refuses rates and sizes that make no sense', () => {
    expect(() => new TokenBuckets({ perSecond: 0, burst: 1, maxKeys: 1 })).toThrow(TypeError)
    expect(() => new TokenBuckets({ perSecond: 1, burst: 0, maxKeys: 1 })).toThrow(TypeError)
    expect(() => new TokenBuckets({ perSecond: 1, burst: 1, maxKeys: 0 })).toThrow(TypeError)
  })
})
