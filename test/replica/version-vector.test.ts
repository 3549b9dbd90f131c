import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareVectors, VersionVector } from '../../src/replica/index.js'

describe('VersionVector', () => {
  it('keeps a contiguous maximum plus the dots beyond a gap', () => {
    const vv = new VersionVector()
    expect(vv.add({ replica: 'A', seq: 1 })).toBe(true)
    expect(vv.add({ replica: 'A', seq: 3 })).toBe(true)
    expect(vv.add({ replica: 'A', seq: 3 })).toBe(false)
    expect(vv.toJSON()).toEqual({ A: 1 })
    expect(vv.has({ replica: 'A', seq: 3 })).toBe(true)
    expect(vv.has({ replica: 'A', seq: 2 })).toBe(false)
    expect(vv.gaps('A')).toEqual([3])
    expect(vv.highest('A')).toBe(3)
    vv.add({ replica: 'A', seq: 2 })
    expect(vv.toJSON()).toEqual({ A: 3 })
    expect(vv.gaps('A')).toEqual([])
  })

  it('merge is a union of dots', () => {
    const a = new VersionVector({ A: 2 })
    a.add({ replica: 'B', seq: 5 })
    const b = new VersionVector({ A: 1, B: 3 })
    b.add({ replica: 'B', seq: 6 })
    a.merge(b)
    expect(a.toJSON()).toEqual({ A: 2, B: 3 })
    expect(a.has({ replica: 'B', seq: 5 })).toBe(true)
    a.add({ replica: 'B', seq: 4 })
    expect(a.toJSON()).toEqual({ A: 2, B: 6 })
  })

  it('compare: equal, before, after, concurrent', () => {
    expect(compareVectors({ A: 1 }, { A: 1 })).toBe('equal')
    expect(compareVectors({ A: 1 }, { A: 2 })).toBe('before')
    expect(compareVectors({ A: 2, B: 1 }, { A: 2 })).toBe('after')
    expect(compareVectors({ A: 2 }, { B: 1 })).toBe('concurrent')
    const gap = new VersionVector({ A: 1 })
    gap.add({ replica: 'A', seq: 3 })
    expect(compareVectors(gap, { A: 2 })).toBe('concurrent')
    expect(compareVectors(gap, { A: 3 })).toBe('before')
  })

  it('a replica named __proto__ is an ordinary entry', () => {
    const vv = new VersionVector()
    vv.add({ replica: '__proto__', seq: 1 })
    const json = vv.toJSON()
    expect(Object.keys(json)).toEqual(['__proto__'])
    expect(new VersionVector(json).has({ replica: '__proto__', seq: 1 })).toBe(true)
  })

  it('property: agrees with a plain set of dots', () => {
    const dot = fc.record({ replica: fc.constantFrom('A', 'B', 'C'), seq: fc.integer({ min: 1, max: 12 }) })
    fc.assert(fc.property(fc.array(dot), fc.array(dot), (xs, ys) => {
      const key = (d: { replica: string, seq: number }): string => `${d.replica}:${d.seq}`
      const a = new VersionVector()
      const b = new VersionVector()
      for (const d of xs) a.add(d)
      for (const d of ys) b.add(d)
      const setA = new Set(xs.map(key))
      const setB = new Set(ys.map(key))
      for (const replica of ['A', 'B', 'C']) {
        for (let seq = 1; seq <= 13; seq++) expect(a.has({ replica, seq })).toBe(setA.has(`${replica}:${seq}`))
      }
      const subset = [...setA].every((k) => setB.has(k))
      const superset = [...setB].every((k) => setA.has(k))
      const expected = subset && superset ? 'equal' : subset ? 'before' : superset ? 'after' : 'concurrent'
      expect(compareVectors(a, b)).toBe(expected)
      const union = a.clone().merge(b)
      for (const replica of ['A', 'B', 'C']) {
        for (let seq = 1; seq <= 13; seq++) {
          expect(union.has({ replica, seq })).toBe(setA.has(`${replica}:${seq}`) || setB.has(`${replica}:${seq}`))
        }
      }
    }))
  })
})
