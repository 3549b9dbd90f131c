import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareHlc, HybridClock, MAX_HLC_LOGICAL } from '../../src/replica/index.js'
import type { Hlc } from '../../src/replica/index.js'

describe('HybridClock', () => {
  it('follows the wall clock when it moves forward', () => {
    let now = 1000
    const clock = new HybridClock(() => now)
    expect(clock.tick()).toEqual({ wall: 1000, logical: 0 })
    now = 1005
    expect(clock.tick()).toEqual({ wall: 1005, logical: 0 })
  })

  it('is monotonic when the wall clock stands still or goes backwards', () => {
    let now = 1000
    const clock = new HybridClock(() => now)
    const a = clock.tick()
    const b = clock.tick()
    now = 500
    const c = clock.tick()
    expect(compareHlc(b, a)).toBe(1)
    expect(compareHlc(c, b)).toBe(1)
    expect(c).toEqual({ wall: 1000, logical: 2 })
  })

  it('every tick after observing a remote reading is above it', () => {
    const clock = new HybridClock(() => 1000)
    clock.observe({ wall: 30_000, logical: 7 })
    expect(clock.tick()).toEqual({ wall: 30_000, logical: 8 })
  })

  it('drift guard: a remote wall more than maxDrift ahead is not adopted', () => {
    const clock = new HybridClock(() => 1000, { maxDrift: 10_000 })
    clock.observe({ wall: 11_001, logical: 0 })
    expect(clock.tick()).toEqual({ wall: 1000, logical: 0 })
    clock.observe({ wall: 11_000, logical: 0 })
    expect(clock.tick()).toEqual({ wall: 11_000, logical: 1 })
  })

  it('the default drift limit is 60 s', () => {
    const clock = new HybridClock(() => 0)
    clock.observe({ wall: 60_001, logical: 0 })
    expect(clock.tick().wall).toBe(0)
  })

  it('the logical counter never leaves uint32: it borrows a millisecond instead', () => {
    const clock = new HybridClock(() => 1000)
    clock.observe({ wall: 1000, logical: MAX_HLC_LOGICAL })
    expect(clock.tick()).toEqual({ wall: 1001, logical: 0 })
  })

  it('property: ticks strictly increase under any mix of wall times and observations', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('tick' as const), now: fc.integer({ min: 0, max: 100_000 }) }),
      fc.record({ kind: fc.constant('observe' as const), now: fc.integer({ min: 0, max: 100_000 }), wall: fc.integer({ min: 0, max: 200_000 }), logical: fc.integer({ min: 0, max: 10 }) })
    )
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      let now = 0
      const clock = new HybridClock(() => now)
      let last: Hlc | undefined
      let seen: Hlc = { wall: 0, logical: 0 }
      for (const s of steps) {
        now = s.now
        if (s.kind === 'tick') {
          const t = clock.tick()
          if (last !== undefined) expect(compareHlc(t, last)).toBe(1)
          expect(compareHlc(t, seen)).toBe(1)
          last = t
        } else {
          const remote = { wall: s.wall, logical: s.logical }
          clock.observe(remote)
          if (s.wall <= now + 60_000 && compareHlc(remote, seen) > 0) seen = remote
        }
      }
    }))
  })
})
