import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { FaultPlan } from '../../src/harness/index.js'

const SIZE = 6
const addresses = Array.from({ length: SIZE }, (_v, i) => `10.77.9.${i + 2}`)

/** Random disjoint groups over some of the peers, and loss settings applied in order. */
const scenario = fc.record({
  assignment: fc.array(fc.integer({ min: -1, max: 2 }), { minLength: SIZE, maxLength: SIZE }),
  everywhere: fc.integer({ min: 0, max: 100 }),
  links: fc.array(fc.record({ a: fc.integer({ min: 0, max: SIZE - 1 }), b: fc.integer({ min: 0, max: SIZE - 1 }), percent: fc.integer({ min: 0, max: 100 }) }), { maxLength: 8 })
})

describe('the kernel fault plan', () => {
  it('drops everything between groups, nothing within one, and each link\'s loss both ways', () => {
    fc.assert(fc.property(scenario, ({ assignment, everywhere, links }) => {
      const groups = [0, 1, 2].map((g) => assignment.flatMap((a, i) => a === g ? [i] : [])).filter((g) => g.length > 0)
      const plan = new FaultPlan(SIZE)
      plan.partition(groups)
      plan.loss(everywhere)
      const expected = new Map<string, number>()
      for (const { a, b, percent } of links) {
        if (a === b) continue
        plan.loss(percent, [a, b])
        expected.set(`${Math.min(a, b)}-${Math.max(a, b)}`, percent)
      }
      const groupOf = (i: number): number => groups.findIndex((g) => g.includes(i))
      for (let i = 0; i < SIZE; i++) {
        const rules = plan.rules(i, addresses)
        expect(rules.some((r) => r.daddr === addresses[i])).toBe(false)
        expect(new Set(rules.map((r) => r.daddr)).size).toBe(rules.length)
        for (let j = 0; j < SIZE; j++) {
          if (i === j) continue
          const cut = groupOf(i) >= 0 && groupOf(j) >= 0 && groupOf(i) !== groupOf(j)
          const loss = expected.get(`${Math.min(i, j)}-${Math.max(i, j)}`) ?? everywhere
          const want = cut ? 100 : loss
          const rule = rules.find((r) => r.daddr === addresses[j])
          expect(rule?.percent ?? 0).toBe(want)
          expect(plan.cut(i, j)).toBe(plan.cut(j, i))
        }
      }
      plan.heal()
      plan.loss(0)
      for (let i = 0; i < SIZE; i++) expect(plan.rules(i, addresses)).toEqual([])
    }), { numRuns: 300 })
  })

  it('a peer in no group is cut from no one', () => {
    const plan = new FaultPlan(4)
    plan.partition([[0], [1]])
    expect(plan.rules(2, addresses)).toEqual([])
    expect(plan.rules(0, addresses)).toEqual([{ daddr: addresses[1], percent: 100 }])
  })
})
