import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemberTable } from '../../src/membership/state.js'
import type { Member, MemberState, MemberUpdate, Outcome, SelfInit, TimingOptions } from '../../src/membership/state.js'

// fast-check prints the seed and path of any failure; `fc.assert(..., { seed, path })`
// replays that exact sequence.

const POOL = ['p0', 'p1', 'p2', 'p3'] as const
const SELF_ID = 'S'
const T0 = 1_000

// At equal incarnation a member only moves up this order through apply().
const RANK: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 }

function selfInit (peerId: string, incarnation = 0): SelfInit {
  return { peerId, addresses: [`/dns4/${peerId}.test/tcp/1`], priority: 1, tags: { me: peerId }, incarnation }
}

// One advertisement per (peer, incarnation), as a real member would issue: conflicting
// alives at the same incarnation only happen across a restart, which the self rules cover.
function aliveFor (peerId: string, incarnation: number): MemberUpdate {
  return { kind: 'alive', peerId, incarnation, addresses: [`/dns4/${peerId}.test/tcp/${incarnation}`], priority: incarnation % 3, tags: { inc: String(incarnation) } }
}

function makeUpdate (kind: MemberUpdate['kind'], peerId: string, incarnation: number): MemberUpdate {
  switch (kind) {
    case 'alive': return aliveFor(peerId, incarnation)
    case 'suspect': return { kind, peerId, incarnation, from: 'X' }
    case 'dead': return { kind, peerId, incarnation, from: 'X' }
    case 'left': return { kind, peerId, incarnation }
  }
}

const kindArb = fc.constantFrom<MemberUpdate['kind']>('alive', 'suspect', 'dead', 'left')
const updateArb = (peers: readonly string[], maxIncarnation: number): fc.Arbitrary<MemberUpdate> =>
  fc.tuple(kindArb, fc.constantFrom(...peers), fc.nat({ max: maxIncarnation }))
    .map(([kind, peerId, incarnation]) => makeUpdate(kind, peerId, incarnation))

// An update whose incarnation is chosen relative to what the table holds when it arrives,
// so that sequences keep hitting the interesting boundaries (stale, equal, newer) instead
// of drifting above every incarnation early on.
interface RelativeUpdate { kind: MemberUpdate['kind'], peerId: string, delta: number }
const relativeArb = (peers: readonly string[]): fc.Arbitrary<RelativeUpdate> =>
  fc.record({ kind: kindArb, peerId: fc.constantFrom(...peers), delta: fc.constantFrom(-2, -1, 0, 0, 0, 1, 1, 2) })

function resolve (table: MemberTable, spec: RelativeUpdate): MemberUpdate {
  const current = table.get(spec.peerId)?.incarnation ?? 0
  return makeUpdate(spec.kind, spec.peerId, Math.max(0, current + spec.delta))
}

function byPeer (table: MemberTable): Map<string, Member> {
  return new Map(table.members().map((m) => [m.peerId, m]))
}

function version (m: Member | undefined): [MemberState, number] | undefined {
  return m === undefined ? undefined : [m.state, m.incarnation]
}

function seeded (selfId: string): MemberTable {
  const table = new MemberTable(selfInit(selfId), T0)
  for (const peerId of POOL) table.apply(aliveFor(peerId, 0), T0)
  return table
}

describe('membership state machine properties', () => {
  it('apply never moves a member backwards and only touches the member it is about', () => {
    const peers = [...POOL, SELF_ID]
    fc.assert(fc.property(
      fc.array(relativeArb(peers), { maxLength: 60, size: 'max' }),
      (specs) => {
        const table = new MemberTable(selfInit(SELF_ID, 1), T0)
        let now = T0
        for (const spec of specs) {
          const update = resolve(table, spec)
          const before = byPeer(table)
          table.apply(update, ++now)
          const after = byPeer(table)

          for (const [peerId, old] of before) {
            const next = after.get(peerId)
            expect(next, 'apply never removes a member').toBeDefined()
            if (next === undefined) continue
            expect(next.incarnation).toBeGreaterThanOrEqual(old.incarnation)
            if (next.incarnation === old.incarnation) expect(RANK[next.state]).toBeGreaterThanOrEqual(RANK[old.state])
            if (peerId !== update.peerId) expect(next).toEqual(old)
          }
          const old = before.get(update.peerId)
          if (old !== undefined && update.incarnation < old.incarnation) {
            expect(after.get(update.peerId), 'a lower incarnation never overrides a higher one').toEqual(old)
          }
          for (const peerId of after.keys()) {
            if (!before.has(peerId)) expect(update.kind === 'alive' && peerId === update.peerId, 'only an alive introduces').toBe(true)
          }
        }
      }
    ), { numRuns: 300 })
  })

  it('every reported change matches what changed, and every state change is reported', () => {
    const timing: TimingOptions = { suspicionTimeout: 30, reapTimeout: 100 }
    type Op =
      | { op: 'apply', spec: RelativeUpdate }
      | { op: 'suspect', peerId: string }
      | { op: 'tick' }
      | { op: 'heard', peerId: string }
    const peerArb = fc.constantFrom(...POOL, SELF_ID)
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: relativeArb([...POOL, SELF_ID]).map((spec): Op => ({ op: 'apply', spec })) },
      { weight: 2, arbitrary: peerArb.map((peerId): Op => ({ op: 'suspect', peerId })) },
      { weight: 2, arbitrary: fc.constant<Op>({ op: 'tick' }) },
      { weight: 1, arbitrary: peerArb.map((peerId): Op => ({ op: 'heard', peerId })) }
    )
    const expectedType = (old: Member | undefined, next: Member): string =>
      next.state === 'dead'
        ? 'fail'
        : next.state === 'left'
          ? 'leave'
          : old === undefined || old.state === 'dead' || old.state === 'left' ? 'join' : 'update'

    fc.assert(fc.property(
      fc.array(fc.tuple(opArb, fc.nat({ max: 20 })), { maxLength: 80, size: 'max' }),
      (ops) => {
        const table = new MemberTable(selfInit(SELF_ID), T0)
        let now = T0
        for (const [op, elapsed] of ops) {
          now += elapsed
          const before = byPeer(table)
          let outcome: Outcome = { changes: [], broadcast: [] }
          if (op.op === 'apply') outcome = table.apply(resolve(table, op.spec), now)
          else if (op.op === 'suspect') outcome = table.suspect(op.peerId, now)
          else if (op.op === 'tick') outcome = table.tick(now, timing)
          else table.heard(op.peerId, now)
          const after = byPeer(table)

          const self = after.get(SELF_ID)
          expect(version(self)).toEqual(['alive', self?.incarnation])

          for (const change of outcome.changes) {
            const old = before.get(change.member.peerId)
            if (change.type === 'reap') {
              expect(after.has(change.member.peerId)).toBe(false)
              expect(['dead', 'left']).toContain(old?.state)
              expect(now - (old?.stateSince ?? now)).toBeGreaterThanOrEqual(timing.reapTimeout)
            } else if (op.op !== 'tick') {
              // tick may fail and reap one member at once; elsewhere the change is the final view
              expect(change.member).toEqual(after.get(change.member.peerId))
              expect(change.type).toBe(expectedType(old, change.member))
            } else {
              expect(change.type).toBe('fail')
            }
          }
          const reported = new Set(outcome.changes.map((c) => c.member.peerId))
          for (const [peerId, old] of before) {
            const next = after.get(peerId)
            const stateChanged = next === undefined || next.state !== old.state
            if (stateChanged) expect(reported.has(peerId), `${peerId} changed state silently`).toBe(true)
            if (next !== undefined) expect(next.stateSince).toBe(stateChanged ? now : old.stateSince)
            if (!reported.has(peerId) && next !== undefined) {
              // The one silent change the rules allow: a suspect adopting a higher incarnation.
              const silentlyAdopted = next.state === 'suspect' && next.incarnation > old.incarnation
              if (!silentlyAdopted) expect({ ...next, lastHeard: 0 }).toEqual({ ...old, lastHeard: 0 })
            }
          }
          for (const peerId of after.keys()) {
            if (!before.has(peerId)) expect(outcome.changes.map((c) => [c.type, c.member.peerId])).toContainEqual(['join', peerId])
          }
        }
      }
    ), { numRuns: 300 })
  })

  it('tables that saw the same updates in any order agree, when no dead/left is outbid', () => {
    // The precise convergence property. Two cases make apply() order-dependent, both on
    // purpose (memberlist semantics): (a) a suspect/dead/left about a member we do not know
    // is dropped, since it carries no addresses, so the peers are seeded first; (b) a dead or
    // left member ignores suspect/dead/left updates with a higher incarnation (only an alive
    // revives it). With (b) excluded, i.e. every dead/left update about a peer carries the
    // highest non-alive incarnation about that peer, every order ends at the same version:
    // the highest incarnation seen, and at that incarnation the highest state in
    // alive < suspect < dead < left. Re-delivering everything then changes nothing.
    const normalise = (updates: MemberUpdate[]): MemberUpdate[] => {
      const top = new Map<string, number>()
      for (const u of updates) {
        if (u.kind !== 'alive') top.set(u.peerId, Math.max(top.get(u.peerId) ?? 0, u.incarnation))
      }
      return updates.map((u) => (u.kind === 'dead' || u.kind === 'left') ? { ...u, incarnation: top.get(u.peerId) ?? u.incarnation } : u)
    }
    const lattice = (updates: MemberUpdate[], peerId: string): [MemberState, number] => {
      let best: [MemberState, number] = ['alive', 0]
      for (const u of updates) {
        if (u.peerId !== peerId) continue
        if (u.incarnation > best[1] || (u.incarnation === best[1] && RANK[u.kind] > RANK[best[0]])) best = [u.kind, u.incarnation]
      }
      return best
    }
    const scenario = fc.array(updateArb(POOL, 5), { maxLength: 40, size: 'max' })
      .map(normalise)
      .chain((updates) => fc.tuple(
        fc.constant(updates),
        fc.shuffledSubarray(updates, { minLength: updates.length, maxLength: updates.length }),
        fc.shuffledSubarray(updates, { minLength: updates.length, maxLength: updates.length })
      ))

    fc.assert(fc.property(scenario, ([updates, orderA, orderB]) => {
      const a = seeded('A')
      const b = seeded('B')
      orderA.forEach((u, i) => a.apply(u, T0 + 1 + i))
      orderB.forEach((u, i) => b.apply(u, T0 + 1 + i))
      for (const peerId of POOL) {
        const expected = lattice(updates, peerId)
        expect(version(a.get(peerId))).toEqual(expected)
        expect(version(b.get(peerId))).toEqual(expected)
      }
      for (const u of orderB) expect(a.apply(u, T0 + 1_000)).toEqual({ changes: [], broadcast: [] })
    }), { numRuns: 500 })
  })

  it('in any order, the final incarnation lies between the highest alive and the highest seen', () => {
    // Holds even when (b) above makes two orders disagree on the state.
    const scenario = fc.array(updateArb(POOL, 5), { maxLength: 40, size: 'max' })
      .chain((updates) => fc.tuple(fc.constant(updates), fc.shuffledSubarray(updates, { minLength: updates.length, maxLength: updates.length })))
    fc.assert(fc.property(scenario, ([updates, order]) => {
      const table = seeded('A')
      order.forEach((u, i) => table.apply(u, T0 + 1 + i))
      for (const peerId of POOL) {
        const about = updates.filter((u) => u.peerId === peerId)
        const final = table.get(peerId)
        expect(final).toBeDefined()
        if (final === undefined) continue
        const highestAlive = Math.max(0, ...about.filter((u) => u.kind === 'alive').map((u) => u.incarnation))
        const highest = Math.max(0, ...about.map((u) => u.incarnation))
        expect(final.incarnation).toBeGreaterThanOrEqual(highestAlive)
        expect(final.incarnation).toBeLessThanOrEqual(highest)
        // The final version is one that was actually heard (or the seed).
        const heard = [['alive', 0], ...about.map((u) => [u.kind, u.incarnation])]
        expect(heard).toContainEqual([final.state, final.incarnation])
      }
    }), { numRuns: 300 })
  })

  it('self stays alive, above every accusation about it, and announces each new incarnation', () => {
    const peers = [SELF_ID, SELF_ID, ...POOL] // bias towards updates about self
    fc.assert(fc.property(
      fc.nat({ max: 3 }),
      fc.array(relativeArb(peers), { maxLength: 50, size: 'max' }),
      (initial, specs) => {
        const init = selfInit(SELF_ID, initial)
        const table = new MemberTable(init, T0)
        let highestAccusation = -1
        let highestAlive = initial
        for (const spec of specs) {
          const update = resolve(table, spec)
          const before = table.get(SELF_ID)
          const outcome = table.apply(update, T0 + 1)
          const self = table.get(SELF_ID)
          expect(self).toMatchObject({ state: 'alive', self: true, addresses: init.addresses, priority: init.priority, tags: init.tags })
          if (self === undefined || before === undefined) continue

          if (update.peerId === SELF_ID) {
            if (update.kind === 'alive') highestAlive = Math.max(highestAlive, update.incarnation)
            else highestAccusation = Math.max(highestAccusation, update.incarnation)
          }
          expect(self.incarnation).toBeGreaterThan(highestAccusation)
          expect(self.incarnation).toBeGreaterThanOrEqual(highestAlive)

          if (self.incarnation !== before.incarnation) {
            expect(outcome.changes).toEqual([{ type: 'update', member: self }])
            expect(outcome.broadcast).toEqual([{ kind: 'alive', peerId: SELF_ID, incarnation: self.incarnation, addresses: init.addresses, priority: init.priority, tags: init.tags }])
          }
        }
      }
    ), { numRuns: 300 })
  })

  it('apply never throws on arbitrary input and ignores what is malformed', () => {
    const garbageField = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string()), fc.dictionary(fc.string(), fc.string()))
    const nearMiss = fc.record({
      kind: fc.oneof(fc.constantFrom('alive', 'suspect', 'dead', 'left'), fc.string()),
      peerId: fc.oneof(fc.constant(''), fc.integer(), fc.constant(null)),
      incarnation: garbageField,
      addresses: garbageField,
      priority: garbageField,
      tags: garbageField,
      from: garbageField
    })
    fc.assert(fc.property(fc.oneof(fc.anything(), nearMiss), (value) => {
      const table = seeded(SELF_ID)
      const before = table.members()
      const outcome = table.apply(value as MemberUpdate, T0 + 1)
      // nearMiss always has a bad peerId; fc.anything() is never a well-formed update in practice
      expect(outcome).toEqual({ changes: [], broadcast: [] })
      expect(table.members()).toEqual(before)
    }), { numRuns: 500 })
  })
})
