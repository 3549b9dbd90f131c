import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  assessConvergence, lagEntries, learnReport, learnVector, missingRanges, type ConvergenceInput, type MemberKnowledge
} from '../../src/observe/index.js'
import { joinVectors, vectorLeq, type VectorClock } from '../../src/replica/index.js'

const replica = fc.constantFrom('A', 'B', 'C', 'D', 'E')
const vector: fc.Arbitrary<VectorClock> = fc.dictionary(replica, fc.integer({ min: 0, max: 1_000 }))

describe('lagEntries', () => {
  it('counts, per replica, the seqs one vector has above the other', () => {
    expect(lagEntries({ A: 5, B: 2 }, { A: 3, B: 2 })).toBe(2)
    expect(lagEntries({ A: 5, B: 2 }, { B: 7 })).toBe(5)
    expect(lagEntries({}, { A: 9 })).toBe(0)
    expect(lagEntries({ A: 4 }, {})).toBe(4)
  })

  it('is zero exactly when the other vector covers this one', () => {
    fc.assert(fc.property(vector, vector, (mine, theirs) => {
      expect(lagEntries(mine, theirs) === 0).toBe(vectorLeq(mine, theirs))
    }))
  })

  it('is zero against a join that includes this vector, and never grows when the other learns more', () => {
    fc.assert(fc.property(vector, vector, vector, (mine, theirs, more) => {
      expect(lagEntries(mine, joinVectors(mine, theirs))).toBe(0)
      expect(lagEntries(mine, joinVectors(theirs, more))).toBeLessThanOrEqual(lagEntries(mine, theirs))
    }))
  })

  it('obeys the triangle inequality: going through a third replica never shortens the way', () => {
    fc.assert(fc.property(vector, vector, vector, (a, b, c) => {
      expect(lagEntries(a, c)).toBeLessThanOrEqual(lagEntries(a, b) + lagEntries(b, c))
    }))
  })

  it('equals the total size of the missing ranges', () => {
    fc.assert(fc.property(vector, vector, (mine, theirs) => {
      const ranges = missingRanges(mine, theirs)
      expect(ranges.reduce((n, r) => n + r.to - r.from + 1, 0)).toBe(lagEntries(mine, theirs))
      for (const r of ranges) expect(r.from).toBeGreaterThanOrEqual(1)
    }))
  })
})

describe('what a peer learns of a member', () => {
  it('vectors only add up, whatever order they arrive in', () => {
    fc.assert(fc.property(fc.array(vector, { maxLength: 6 }), (vectors) => {
      let forward: MemberKnowledge | undefined
      for (const [i, v] of vectors.entries()) forward = learnVector(forward, v, i)
      let backward: MemberKnowledge | undefined
      for (const [i, v] of [...vectors.entries()].reverse()) backward = learnVector(backward, v, i)
      expect(forward?.known ?? {}).toEqual(backward?.known ?? {})
      expect(forward?.known ?? {}).toEqual(joinVectors(...vectors))
    }))
  })

  it('the newer report wins; an older one that arrives late still raises what is known', () => {
    const newer = learnReport(undefined, { vector: { A: 3 }, digest: 'd3', at: 200, source: 'beacon' })
    const after = learnReport(newer, { vector: { A: 1, B: 4 }, digest: 'd1', at: 100, source: 'anti-entropy' })
    expect(after.report).toMatchObject({ digest: 'd3', at: 200 })
    expect(after.known).toEqual({ A: 3, B: 4 })
    expect(after.heardAt).toBe(200)
  })

  it('a HELLO (no key count) keeps the count of the beacon before it', () => {
    const beacon = learnReport(undefined, { vector: { A: 1 }, digest: 'd1', keys: 7, at: 100, source: 'beacon' })
    const hello = learnReport(beacon, { vector: { A: 2 }, digest: 'd2', at: 200, source: 'anti-entropy' })
    expect(hello.report).toEqual({ vector: { A: 2 }, digest: 'd2', keys: 7, at: 200, source: 'anti-entropy' })
  })

  it('a lower bound keeps the last report', () => {
    const reported = learnReport(undefined, { vector: { A: 1 }, digest: 'd1', at: 100, source: 'beacon' })
    const learned = learnVector(reported, { A: 2 }, 150)
    expect(learned.report?.digest).toBe('d1')
    expect(learned.known).toEqual({ A: 2 })
  })
})

function input (overrides: Partial<ConvergenceInput> = {}): ConvergenceInput {
  return {
    self: { peerId: 'P0', vector: { P0: 3, P1: 2 }, digest: 'same', keys: 4 },
    members: [
      { peerId: 'P0', state: 'alive', self: true },
      { peerId: 'P1', state: 'alive', self: false },
      { peerId: 'P2', state: 'alive', self: false }
    ],
    knowledge: new Map([
      ['P1', learnReport(undefined, { vector: { P0: 3, P1: 2 }, digest: 'same', keys: 4, at: 900, source: 'beacon' })],
      ['P2', learnReport(undefined, { vector: { P0: 3, P1: 2 }, digest: 'same', at: 950, source: 'anti-entropy' })]
    ]),
    now: 1_000,
    oldestMissing: () => 400,
    ...overrides
  }
}

describe('assessConvergence', () => {
  it('converged: every member last reported our digest and lacks nothing', () => {
    const report = assessConvergence(input())
    expect(report.converged).toBe(true)
    expect(report.members.map((m) => [m.peerId, m.self, m.inSync, m.lagEntries])).toEqual([
      ['P0', true, true, 0], ['P1', false, true, 0], ['P2', false, true, 0]
    ])
    expect(report.members[1]).toMatchObject({ keys: 4, reportedAt: 900, source: 'beacon', oldestMissingMs: 0 })
    expect(report.members[2]).toMatchObject({ keys: null, source: 'anti-entropy' })
  })

  it('a member that lacks writes: its lag in entries and the age of the oldest it lacks', () => {
    const knowledge = new Map(input().knowledge)
    knowledge.set('P2', learnReport(undefined, { vector: { P0: 1 }, digest: 'older', at: 950, source: 'beacon' }))
    const seen: VectorClock[] = []
    const report = assessConvergence(input({ knowledge, oldestMissing: (v) => { seen.push(v); return 700 } }))
    expect(report.converged).toBe(false)
    expect(report.members[2]).toMatchObject({ peerId: 'P2', lagEntries: 4, aheadEntries: 0, oldestMissingMs: 300, inSync: false, digest: 'older' })
    expect(seen).toEqual([{ P0: 1 }])
  })

  it('a member with writes we lack is not in sync either, and says how far ahead it is', () => {
    const knowledge = new Map(input().knowledge)
    knowledge.set('P1', learnReport(undefined, { vector: { P0: 3, P1: 5 }, digest: 'newer', at: 990, source: 'beacon' }))
    const report = assessConvergence(input({ knowledge }))
    expect(report.converged).toBe(false)
    expect(report.members[1]).toMatchObject({ lagEntries: 0, aheadEntries: 3, inSync: false })
  })

  it('a member nothing is known of yet: unknown lag, not converged', () => {
    const knowledge = new Map(input().knowledge)
    knowledge.delete('P2')
    const report = assessConvergence(input({ knowledge }))
    expect(report.converged).toBe(false)
    expect(report.members[2]).toMatchObject({ vector: null, lagEntries: null, oldestMissingMs: null, inSync: false })
  })

  it('a suspect member still counts; dead and departed members do not', () => {
    const knowledge = new Map(input().knowledge)
    knowledge.delete('P2')
    const suspect = assessConvergence(input({ knowledge, members: [...input().members.slice(0, 2), { peerId: 'P2', state: 'suspect', self: false }] }))
    expect(suspect.converged).toBe(false)
    for (const state of ['dead', 'left']) {
      const gone = assessConvergence(input({ knowledge, members: [...input().members.slice(0, 2), { peerId: 'P2', state, self: false }] }))
      expect(gone.converged).toBe(true)
      expect(gone.members.map((m) => m.peerId)).toEqual(['P0', 'P1', 'P2'])
    }
  })

  it('a lower bound from a write clock can show lag but never convergence without a report', () => {
    const knowledge = new Map<string, MemberKnowledge>([
      ['P1', learnVector(undefined, { P0: 3, P1: 2 }, 990)],
      ['P2', learnVector(undefined, { P0: 3, P1: 2 }, 990)]
    ])
    const report = assessConvergence(input({ knowledge }))
    expect(report.members[1]).toMatchObject({ lagEntries: 0, inSync: false, digest: null })
    expect(report.converged).toBe(false)
  })

  it('alone in the network: converged with itself', () => {
    const report = assessConvergence(input({ members: [{ peerId: 'P0', state: 'alive', self: true }], knowledge: new Map() }))
    expect(report.converged).toBe(true)
    expect(report.members).toHaveLength(1)
  })

  it('converged means: every counted member has lag 0 and our digest (any knowledge)', () => {
    const state = fc.constantFrom('alive', 'suspect', 'dead', 'left')
    const digest = fc.constantFrom('x', 'y')
    fc.assert(fc.property(vector, digest, fc.array(fc.record({ state, known: fc.option(fc.record({ vector, digest })) }), { maxLength: 4 }), (mine, myDigest, others) => {
      const members = [{ peerId: 'me', state: 'alive', self: true }, ...others.map((o, i) => ({ peerId: `m${i}`, state: o.state, self: false }))]
      const knowledge = new Map<string, MemberKnowledge>()
      others.forEach((o, i) => {
        if (o.known !== null) knowledge.set(`m${i}`, learnReport(undefined, { vector: o.known.vector, digest: o.known.digest, at: 1, source: 'beacon' }))
      })
      const report = assessConvergence({ self: { peerId: 'me', vector: mine, digest: myDigest, keys: 0 }, members, knowledge, now: 10, oldestMissing: () => 5 })
      const expected = others.every((o) => (o.state !== 'alive' && o.state !== 'suspect') ||
        (o.known !== null && o.known.digest === myDigest && vectorLeq(mine, o.known.vector)))
      expect(report.converged).toBe(expected)
    }))
  })
})
