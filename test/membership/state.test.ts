import { describe, expect, it } from 'vitest'
import { InvalidSelfError } from '../../src/membership/errors.js'
import { MAX_INCARNATION, MemberTable } from '../../src/membership/state.js'
import type { Member, MemberUpdate, Outcome, SelfInit, TimingOptions } from '../../src/membership/state.js'

type AliveUpdate = Extract<MemberUpdate, { kind: 'alive' }>
type SuspectUpdate = Extract<MemberUpdate, { kind: 'suspect' }>

const T0 = 1_000
const timing: TimingOptions = { suspicionTimeout: 5_000, reapTimeout: 60_000 }
const SELF: SelfInit = { peerId: 'S', addresses: ['/ip4/10.0.0.1/tcp/4001'], priority: 5, tags: { zone: 'a' }, incarnation: 0 }

function alive (peerId: string, incarnation: number, fields: Partial<{ addresses: string[], priority: number, tags: Record<string, string> }> = {}): AliveUpdate {
  return {
    kind: 'alive',
    peerId,
    incarnation,
    addresses: fields.addresses ?? [`/dns4/${peerId.toLowerCase()}.test/tcp/${incarnation}`],
    priority: fields.priority ?? 1,
    tags: fields.tags ?? { v: String(incarnation) }
  }
}
const suspect = (peerId: string, incarnation: number, from = 'X'): SuspectUpdate => ({ kind: 'suspect', peerId, incarnation, from })
const dead = (peerId: string, incarnation: number, from = 'X'): MemberUpdate => ({ kind: 'dead', peerId, incarnation, from })
const left = (peerId: string, incarnation: number): MemberUpdate => ({ kind: 'left', peerId, incarnation })

const EMPTY: Outcome = { changes: [], broadcast: [] }

function table (now = T0, self: SelfInit = SELF): MemberTable {
  return new MemberTable(self, now)
}

/** A table that knows B alive at `incarnation`, learnt at T0. */
function tableWithB (incarnation = 3): MemberTable {
  const t = table()
  t.apply(alive('B', incarnation), T0)
  return t
}

function must<T> (value: T | undefined): T {
  expect(value).toBeDefined()
  return value as T
}

function stateOf (t: MemberTable, peerId: string): [string, number] | undefined {
  const m = t.get(peerId)
  return m === undefined ? undefined : [m.state, m.incarnation]
}

describe('unknown peers', () => {
  it('unknown → alive on an alive update (join, broadcast on)', () => {
    const t = table()
    const update = alive('B', 7, { addresses: ['/ip4/10.0.0.2/tcp/1'], priority: 9, tags: { zone: 'b' } })
    const out = t.apply(update, T0 + 10)
    const expected: Member = {
      peerId: 'B', addresses: ['/ip4/10.0.0.2/tcp/1'], state: 'alive', incarnation: 7, priority: 9,
      tags: { zone: 'b' }, version: '', protocols: [], lastHeard: T0 + 10, stateSince: T0 + 10, self: false
    }
    expect(out.changes).toEqual([{ type: 'join', member: expected }])
    expect(out.broadcast).toEqual([update])
    expect(t.get('B')).toEqual(expected)
    expect(t.size()).toBe(2)
  })

  it('alive carries the version and protocols a member announces; a newer incarnation replaces them', () => {
    const t = table()
    t.apply({ ...alive('B', 1), version: '0.1.0', protocols: ['kv/1.0.0', 'membership/1.0.0'] }, T0)
    expect(t.get('B')).toMatchObject({ version: '0.1.0', protocols: ['kv/1.0.0', 'membership/1.0.0'] })
    t.apply({ ...alive('B', 1), version: '9.9.9', protocols: [] }, T0 + 1)
    expect(t.get('B')?.version).toBe('0.1.0') // equal incarnation changes nothing
    t.apply({ ...alive('B', 2), version: '0.2.0', protocols: ['kv/2.0.0'] }, T0 + 2)
    expect(t.get('B')).toMatchObject({ version: '0.2.0', protocols: ['kv/2.0.0'] })
    expect(t.snapshot().find((u) => u.peerId === 'B')).toMatchObject({ version: '0.2.0', protocols: ['kv/2.0.0'] })
  })

  it('unknown peer suspect/dead/left ignored', () => {
    const t = table()
    for (const update of [suspect('B', 1), dead('B', 1), left('B', 1)]) {
      expect(t.apply(update, T0)).toEqual(EMPTY)
    }
    expect(t.suspect('B', T0)).toEqual(EMPTY) // nor can local detection accuse it
    expect(t.get('B')).toBeUndefined()
    expect(t.size()).toBe(1)
  })
})

describe('alive members', () => {
  it('alive → alive with new fields on a higher incarnation (update)', () => {
    const t = tableWithB(3)
    const update = alive('B', 4, { addresses: ['/ip4/10.0.0.9/tcp/2'], priority: 2, tags: { zone: 'c' } })
    const out = t.apply(update, T0 + 50)
    const b = must(t.get('B'))
    expect(b).toMatchObject({ state: 'alive', incarnation: 4, addresses: ['/ip4/10.0.0.9/tcp/2'], priority: 2, tags: { zone: 'c' } })
    expect(b.stateSince).toBe(T0) // still alive: the state did not change
    expect(b.lastHeard).toBe(T0) // third-party gossip is not evidence of life
    expect(out.changes).toEqual([{ type: 'update', member: b }])
    expect(out.broadcast).toEqual([update])
  })

  it('alive at the same incarnation cannot change addresses, priority or tags', () => {
    const t = tableWithB(3)
    const before = t.get('B')
    const out = t.apply(alive('B', 3, { addresses: ['/ip4/6.6.6.6/tcp/6'], priority: 99, tags: { evil: 'yes' } }), T0 + 50)
    expect(out).toEqual(EMPTY)
    expect(t.get('B')).toEqual(before)
  })

  it('alive → suspect on a suspect update with the same incarnation', () => {
    const t = tableWithB(3)
    const update = suspect('B', 3, 'C')
    const out = t.apply(update, T0 + 20)
    const b = must(t.get('B'))
    expect(b).toMatchObject({ state: 'suspect', incarnation: 3, stateSince: T0 + 20 })
    expect(out.changes).toEqual([{ type: 'update', member: b }])
    expect(out.broadcast).toEqual([update])
  })

  it('alive → suspect on a suspect update with a higher incarnation', () => {
    const t = tableWithB(3)
    const out = t.apply(suspect('B', 5), T0 + 20)
    expect(stateOf(t, 'B')).toEqual(['suspect', 5])
    expect(out.changes.map((c) => c.type)).toEqual(['update'])
    expect(out.broadcast).toEqual([suspect('B', 5)])
  })

  it('alive → dead on a dead update (fail)', () => {
    const t = tableWithB(3)
    const out = t.apply(dead('B', 3, 'C'), T0 + 30)
    const b = must(t.get('B'))
    expect(b).toMatchObject({ state: 'dead', incarnation: 3, stateSince: T0 + 30 })
    expect(out.changes).toEqual([{ type: 'fail', member: b }])
    expect(out.broadcast).toEqual([dead('B', 3, 'C')])
  })

  it('alive → left on a left update (leave)', () => {
    const t = tableWithB(3)
    const out = t.apply(left('B', 3), T0 + 30)
    const b = must(t.get('B'))
    expect(b).toMatchObject({ state: 'left', incarnation: 3, stateSince: T0 + 30 })
    expect(out.changes).toEqual([{ type: 'leave', member: b }])
    expect(out.broadcast).toEqual([left('B', 3)])
  })

  it('alive → suspect on local detection, accused by self at the current incarnation', () => {
    const t = tableWithB(3)
    const out = t.suspect('B', T0 + 40)
    const b = must(t.get('B'))
    expect(b).toMatchObject({ state: 'suspect', incarnation: 3, stateSince: T0 + 40 })
    expect(out.changes).toEqual([{ type: 'update', member: b }])
    expect(out.broadcast).toEqual([suspect('B', 3, 'S')])
  })

  it('stale incarnations are ignored', () => {
    const t = tableWithB(5)
    const before = t.get('B')
    for (const update of [alive('B', 4), suspect('B', 4), dead('B', 4), left('B', 0)]) {
      expect(t.apply(update, T0 + 1)).toEqual(EMPTY)
    }
    expect(t.get('B')).toEqual(before)
  })
})

describe('suspect members', () => {
  function suspectedB (): MemberTable {
    const t = tableWithB(3)
    t.apply(suspect('B', 3), T0 + 100)
    return t
  }

  it('suspect → refuted by an alive with a higher incarnation', () => {
    const t = suspectedB()
    const update = alive('B', 4)
    const out = t.apply(update, T0 + 200)
    const b = must(t.get('B'))
    expect(b).toMatchObject({ state: 'alive', incarnation: 4, stateSince: T0 + 200, addresses: ['/dns4/b.test/tcp/4'] })
    expect(out.changes).toEqual([{ type: 'update', member: b }])
    expect(out.broadcast).toEqual([update])
  })

  it('suspect is not refuted by an alive with the same incarnation', () => {
    const t = suspectedB()
    expect(t.apply(alive('B', 3), T0 + 200)).toEqual(EMPTY)
    expect(stateOf(t, 'B')).toEqual(['suspect', 3])
  })

  it('suspect adopts a higher suspect incarnation silently, keeping its suspicion timer', () => {
    const t = suspectedB()
    expect(t.apply(suspect('B', 6), T0 + 200)).toEqual(EMPTY)
    expect(must(t.get('B'))).toMatchObject({ state: 'suspect', incarnation: 6, stateSince: T0 + 100 })
    expect(t.suspect('B', T0 + 300)).toEqual(EMPTY) // nor does a repeated local suspicion restart it
    expect(must(t.get('B')).stateSince).toBe(T0 + 100)
  })

  it('suspect → dead on a dead update', () => {
    const t = suspectedB()
    const out = t.apply(dead('B', 3), T0 + 200)
    expect(must(t.get('B'))).toMatchObject({ state: 'dead', incarnation: 3, stateSince: T0 + 200 })
    expect(out.changes.map((c) => c.type)).toEqual(['fail'])
    expect(out.broadcast).toEqual([dead('B', 3)])
  })

  it('suspect → left on a left update', () => {
    const t = suspectedB()
    const out = t.apply(left('B', 3), T0 + 200)
    expect(stateOf(t, 'B')).toEqual(['left', 3])
    expect(out.changes.map((c) => c.type)).toEqual(['leave'])
    expect(out.broadcast).toEqual([left('B', 3)])
  })

  it('suspect → dead after the suspicion timeout', () => {
    const t = suspectedB()
    const deadline = T0 + 100 + timing.suspicionTimeout
    expect(t.tick(deadline - 1, timing)).toEqual(EMPTY)
    expect(stateOf(t, 'B')).toEqual(['suspect', 3])

    const out = t.tick(deadline, timing)
    const b = must(t.get('B'))
    expect(b).toMatchObject({ state: 'dead', incarnation: 3, stateSince: deadline })
    expect(out.changes).toEqual([{ type: 'fail', member: b }])
    expect(out.broadcast).toEqual([dead('B', 3, 'S')])
  })

  it('a refuted suspect is not failed by the timer', () => {
    const t = suspectedB()
    t.apply(alive('B', 4), T0 + 200)
    expect(t.tick(T0 + 100 + timing.suspicionTimeout * 10, timing)).toEqual(EMPTY)
    expect(stateOf(t, 'B')).toEqual(['alive', 4])
  })
})

describe('dead members', () => {
  function deadB (): MemberTable {
    const t = tableWithB(3)
    t.apply(dead('B', 3), T0 + 100)
    return t
  }

  it('dead → alive on a higher incarnation (join)', () => {
    const t = deadB()
    const update = alive('B', 4, { addresses: ['/ip4/10.0.0.3/tcp/9'] })
    const out = t.apply(update, T0 + 300)
    const b = must(t.get('B'))
    expect(b).toMatchObject({ state: 'alive', incarnation: 4, stateSince: T0 + 300, addresses: ['/ip4/10.0.0.3/tcp/9'] })
    expect(out.changes).toEqual([{ type: 'join', member: b }])
    expect(out.broadcast).toEqual([update])
  })

  it('dead is not revived by an alive with the same incarnation', () => {
    const t = deadB()
    expect(t.apply(alive('B', 3), T0 + 300)).toEqual(EMPTY)
    expect(stateOf(t, 'B')).toEqual(['dead', 3])
  })

  it('dead → left on a left update with the same incarnation', () => {
    const t = deadB()
    const out = t.apply(left('B', 3), T0 + 300)
    expect(must(t.get('B'))).toMatchObject({ state: 'left', incarnation: 3, stateSince: T0 + 300 })
    expect(out.changes.map((c) => c.type)).toEqual(['leave'])
    expect(out.broadcast).toEqual([left('B', 3)])
  })

  it('dead ignores later suspect and dead updates, even with a higher incarnation', () => {
    // memberlist semantics: only the member itself (an alive) brings it back; this is why
    // the final view can depend on the order updates arrive in (see the property tests).
    const t = deadB()
    for (const update of [suspect('B', 3), suspect('B', 8), dead('B', 3), dead('B', 8)]) {
      expect(t.apply(update, T0 + 300)).toEqual(EMPTY)
    }
    expect(must(t.get('B'))).toMatchObject({ state: 'dead', incarnation: 3, stateSince: T0 + 100 })
  })

  it('local suspicion of a dead member is ignored', () => {
    const t = deadB()
    expect(t.suspect('B', T0 + 300)).toEqual(EMPTY)
    expect(stateOf(t, 'B')).toEqual(['dead', 3])
  })

  it('reap after reapTimeout', () => {
    const t = deadB()
    t.apply(alive('C', 1), T0)
    t.apply(left('C', 1), T0 + 200)
    expect(t.tick(T0 + 100 + timing.reapTimeout - 1, timing)).toEqual(EMPTY)

    const deadSnapshot = must(t.get('B'))
    const out = t.tick(T0 + 100 + timing.reapTimeout, timing)
    expect(out).toEqual({ changes: [{ type: 'reap', member: deadSnapshot }], broadcast: [] })
    expect(t.get('B')).toBeUndefined()
    expect(stateOf(t, 'C')).toEqual(['left', 1])

    const leftSnapshot = must(t.get('C'))
    expect(t.tick(T0 + 200 + timing.reapTimeout, timing)).toEqual({ changes: [{ type: 'reap', member: leftSnapshot }], broadcast: [] })
    expect(t.members().map((m) => m.peerId)).toEqual(['S'])
  })

  it('a reaped member joins again with any incarnation', () => {
    const t = deadB()
    t.tick(T0 + 100 + timing.reapTimeout, timing)
    const out = t.apply(alive('B', 0), T0 + 100 + timing.reapTimeout + 1)
    expect(out.changes.map((c) => c.type)).toEqual(['join'])
    expect(stateOf(t, 'B')).toEqual(['alive', 0])
  })

  it('a suspect can fail and be reaped in one tick when reapTimeout is 0', () => {
    const t = tableWithB(3)
    t.apply(suspect('B', 3), T0)
    const out = t.tick(T0 + timing.suspicionTimeout, { suspicionTimeout: timing.suspicionTimeout, reapTimeout: 0 })
    expect(out.changes.map((c) => [c.type, c.member.state])).toEqual([['fail', 'dead'], ['reap', 'dead']])
    expect(out.broadcast).toEqual([dead('B', 3, 'S')])
    expect(t.get('B')).toBeUndefined()
  })
})

describe('left members', () => {
  it('left is final for its incarnation', () => {
    const t = tableWithB(3)
    t.apply(left('B', 3), T0 + 100)
    for (const update of [alive('B', 3), suspect('B', 3), suspect('B', 4), dead('B', 3), dead('B', 4), left('B', 3), left('B', 4)]) {
      expect(t.apply(update, T0 + 200)).toEqual(EMPTY)
    }
    expect(must(t.get('B'))).toMatchObject({ state: 'left', incarnation: 3, stateSince: T0 + 100 })
  })

  it('left → alive on a higher incarnation (join)', () => {
    const t = tableWithB(3)
    t.apply(left('B', 3), T0 + 100)
    const out = t.apply(alive('B', 4), T0 + 200)
    expect(must(t.get('B'))).toMatchObject({ state: 'alive', incarnation: 4, stateSince: T0 + 200 })
    expect(out.changes.map((c) => c.type)).toEqual(['join'])
    expect(out.broadcast).toEqual([alive('B', 4)])
  })
})

describe('self', () => {
  const selfAlive = (incarnation: number): MemberUpdate => ({
    kind: 'alive', peerId: 'S', incarnation, addresses: SELF.addresses, priority: SELF.priority, tags: SELF.tags
  })

  it('a suspicion about self is refuted with a higher incarnation', () => {
    const t = table(T0, { ...SELF, incarnation: 2 })
    const out = t.apply(suspect('S', 4, 'B'), T0 + 10)
    const s = must(t.get('S'))
    expect(s).toMatchObject({ state: 'alive', incarnation: 5, self: true })
    expect(out.changes).toEqual([{ type: 'update', member: s }])
    expect(out.broadcast).toEqual([selfAlive(5)])
  })

  it('a suspicion about self at our own incarnation is refuted', () => {
    const t = table(T0, { ...SELF, incarnation: 2 })
    const out = t.apply(suspect('S', 2), T0 + 10)
    expect(stateOf(t, 'S')).toEqual(['alive', 3])
    expect(out.broadcast).toEqual([selfAlive(3)])
  })

  // Found by fuzzing (fuzz/targets/membership.js): a suspicion at 2^32 - 1, the wire's largest
  // incarnation, made us refute at 2^32, which the uint32 field carried as 0: ignored as stale.
  it('a suspicion about self at the largest incarnation the wire carries: we stay within it', () => {
    const t = table(T0, { ...SELF, incarnation: 2 })
    t.apply(suspect('S', MAX_INCARNATION - 1), T0 + 10)
    expect(stateOf(t, 'S')).toEqual(['alive', MAX_INCARNATION])
    expect(MAX_INCARNATION).toBe(0xffff_ffff)
    const out = t.apply(suspect('S', MAX_INCARNATION), T0 + 20)
    expect(stateOf(t, 'S')).toEqual(['alive', MAX_INCARNATION])
    expect(out.broadcast).toEqual([selfAlive(MAX_INCARNATION)])
    t.updateSelf({ priority: 1 }, T0 + 30)
    expect(stateOf(t, 'S')).toEqual(['alive', MAX_INCARNATION])
  })

  it('a stale suspicion about self is ignored', () => {
    const t = table(T0, { ...SELF, incarnation: 2 })
    expect(t.apply(suspect('S', 1), T0 + 10)).toEqual(EMPTY)
    expect(stateOf(t, 'S')).toEqual(['alive', 2])
  })

  it('dead about self is refuted', () => {
    const t = table()
    const out = t.apply(dead('S', 0, 'B'), T0 + 10)
    expect(stateOf(t, 'S')).toEqual(['alive', 1])
    expect(out.changes.map((c) => c.type)).toEqual(['update'])
    expect(out.broadcast).toEqual([selfAlive(1)])
  })

  it('left about self is refuted while we are running', () => {
    const t = table()
    const out = t.apply(left('S', 3), T0 + 10)
    expect(stateOf(t, 'S')).toEqual(['alive', 4])
    expect(out.broadcast).toEqual([selfAlive(4)])
  })

  it('restart: an alive about self with a higher incarnation bumps ours', () => {
    const t = table() // restarted at incarnation 0, the network remembers 6
    const out = t.apply(alive('S', 6, { addresses: ['/ip4/192.168.0.1/tcp/1'] }), T0 + 10)
    const s = must(t.get('S'))
    expect(s).toMatchObject({ state: 'alive', incarnation: 7, addresses: SELF.addresses, priority: SELF.priority, tags: SELF.tags })
    expect(out.changes).toEqual([{ type: 'update', member: s }])
    expect(out.broadcast).toEqual([selfAlive(7)])
  })

  it('restart: an alive about self with our incarnation but an old advertisement is refuted', () => {
    const t = table()
    const out = t.apply(alive('S', 0, { addresses: ['/ip4/192.168.0.1/tcp/1'], priority: SELF.priority, tags: SELF.tags }), T0 + 10)
    expect(stateOf(t, 'S')).toEqual(['alive', 1])
    expect(out.broadcast).toEqual([selfAlive(1)])
  })

  it('restart after an upgrade: an alive about self with our incarnation but another version is refuted', () => {
    const t = table(T0, { ...SELF, version: '0.2.0', protocols: ['kv/1.0.0'] })
    const old = { ...alive('S', 0, { addresses: SELF.addresses, priority: SELF.priority, tags: SELF.tags }), version: '0.1.0', protocols: ['kv/1.0.0'] }
    const out = t.apply(old, T0 + 10)
    expect(stateOf(t, 'S')).toEqual(['alive', 1])
    expect(out.broadcast).toEqual([{ ...selfAlive(1), version: '0.2.0', protocols: ['kv/1.0.0'] }])
  })

  it('an alive about self matching our advertisement is ignored', () => {
    const t = table(T0, { ...SELF, incarnation: 4 })
    expect(t.apply(selfAlive(4), T0 + 10)).toEqual(EMPTY)
    expect(t.apply(alive('S', 3), T0 + 10)).toEqual(EMPTY)
    expect(stateOf(t, 'S')).toEqual(['alive', 4])
  })

  it('self is never suspected or reaped', () => {
    const t = table()
    expect(t.suspect('S', T0)).toEqual(EMPTY)
    t.leave(T0 + 1)
    expect(t.tick(T0 + 1 + timing.reapTimeout * 100, timing)).toEqual(EMPTY)
    expect(must(t.get('S'))).toMatchObject({ state: 'left', self: true })
  })

  it('leave: self goes left and broadcasts it, once', () => {
    const t = table(T0, { ...SELF, incarnation: 3 })
    const out = t.leave(T0 + 10)
    const s = must(t.get('S'))
    expect(s).toMatchObject({ state: 'left', incarnation: 3, stateSince: T0 + 10 })
    expect(out).toEqual({ changes: [{ type: 'leave', member: s }], broadcast: [left('S', 3)] })
    expect(t.leave(T0 + 20)).toEqual(EMPTY)
  })

  it('after leave, claims about self are not refuted and self cannot be updated', () => {
    const t = table(T0, { ...SELF, incarnation: 3 })
    t.leave(T0 + 10)
    for (const update of [suspect('S', 3), dead('S', 9), left('S', 9), alive('S', 9)]) {
      expect(t.apply(update, T0 + 20)).toEqual(EMPTY)
    }
    expect(t.updateSelf({ priority: 1 }, T0 + 30)).toEqual(EMPTY)
    expect(must(t.get('S'))).toMatchObject({ state: 'left', incarnation: 3, priority: SELF.priority })
  })

  it('updateSelf bumps our incarnation and broadcasts alive, which others accept', () => {
    const t = table()
    const out = t.updateSelf({ addresses: ['/ip4/10.0.0.1/tcp/5001'], tags: { zone: 'b' } }, T0 + 10)
    const s = must(t.get('S'))
    expect(s).toMatchObject({ incarnation: 1, addresses: ['/ip4/10.0.0.1/tcp/5001'], priority: SELF.priority, tags: { zone: 'b' } })
    expect(out.changes).toEqual([{ type: 'update', member: s }])
    const announced: MemberUpdate = { kind: 'alive', peerId: 'S', incarnation: 1, addresses: ['/ip4/10.0.0.1/tcp/5001'], priority: SELF.priority, tags: { zone: 'b' } }
    expect(out.broadcast).toEqual([announced])

    const other = table(T0, { ...SELF, peerId: 'B' })
    other.apply(selfAlive(0), T0)
    other.apply(announced, T0 + 20)
    expect(must(other.get('S'))).toMatchObject({ incarnation: 1, addresses: ['/ip4/10.0.0.1/tcp/5001'], tags: { zone: 'b' } })
  })

  it('updateSelf and the constructor reject invalid values', () => {
    const t = table()
    expect(() => t.updateSelf({ priority: Number.NaN }, T0)).toThrow(InvalidSelfError)
    expect(() => t.updateSelf({ addresses: [1] as unknown as string[] }, T0)).toThrow(InvalidSelfError)
    expect(() => t.updateSelf({ tags: { a: 1 } as unknown as Record<string, string> }, T0)).toThrow(InvalidSelfError)
    expect(stateOf(t, 'S')).toEqual(['alive', 0])

    expect(() => table(T0, { ...SELF, peerId: '' })).toThrow(InvalidSelfError)
    expect(() => table(T0, { ...SELF, incarnation: -1 })).toThrow(InvalidSelfError)
    expect(() => table(T0, { ...SELF, incarnation: 1.5 })).toThrow(InvalidSelfError)
    expect(() => table(T0, { ...SELF, addresses: undefined as unknown as string[] }))
      .toThrow(expect.objectContaining({ name: 'InvalidSelfError', code: 'ERR_INVALID_SELF' }))
  })
})

describe('heard', () => {
  it('heard updates lastHeard only, never state', () => {
    const t = tableWithB(3)
    t.apply(suspect('B', 3), T0 + 10)
    t.heard('B', T0 + 50)
    expect(must(t.get('B'))).toMatchObject({ state: 'suspect', incarnation: 3, lastHeard: T0 + 50, stateSince: T0 + 10 })
    t.heard('B', T0 + 20) // out-of-order delivery must not move it back
    expect(must(t.get('B')).lastHeard).toBe(T0 + 50)
    t.heard('nobody', T0 + 60)
    expect(t.get('nobody')).toBeUndefined()
  })
})

describe('input validation', () => {
  const garbage: Array<[string, unknown]> = [
    ['empty peerId', alive('', 1)],
    ['non-string peerId', { ...alive('B', 1), peerId: 7 }],
    ['negative incarnation', alive('B', -1)],
    ['fractional incarnation', suspect('B', 0.5)],
    ['NaN incarnation', dead('B', Number.NaN)],
    ['infinite incarnation', left('B', Number.POSITIVE_INFINITY)],
    ['unsafe incarnation', alive('B', 2 ** 53)],
    ['incarnation that cannot be refuted exactly', alive('B', MAX_INCARNATION + 1)],
    ['unknown kind', { kind: 'zombie', peerId: 'B', incarnation: 1 }],
    ['addresses not an array', { ...alive('B', 1), addresses: '/ip4/1.2.3.4/tcp/1' }],
    ['non-string address', { ...alive('B', 1), addresses: ['/ip4/1.2.3.4/tcp/1', 5] }],
    ['NaN priority', alive('B', 1, { priority: Number.NaN })],
    ['string priority', { ...alive('B', 1), priority: '1' }],
    ['null tags', { ...alive('B', 1), tags: null }],
    ['array tags', { ...alive('B', 1), tags: ['a'] }],
    ['non-string tag value', { ...alive('B', 1), tags: { a: 1 } }],
    ['suspect without from', { kind: 'suspect', peerId: 'B', incarnation: 1 }],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'alive'],
    ['an array', [alive('B', 1)]]
  ]

  it.each(garbage)('garbage input ignored: %s', (_name, update) => {
    const t = tableWithB(3)
    const before = t.members()
    expect(t.apply(update as MemberUpdate, T0 + 1)).toEqual(EMPTY)
    expect(t.members()).toEqual(before)
  })

  it('tag names such as __proto__ are stored as plain data', () => {
    const t = table()
    const tags = JSON.parse('{"__proto__":"x","zone":"b"}') as Record<string, string>
    t.apply({ ...alive('B', 1), tags }, T0)
    const b = must(t.get('B'))
    expect(Object.hasOwn(b.tags, '__proto__')).toBe(true)
    expect(Object.keys(b.tags).sort()).toEqual(['__proto__', 'zone'])
    expect(Object.getPrototypeOf(b.tags)).toBe(Object.prototype)
  })

  it('extra fields on an update are not gossiped on', () => {
    const t = table()
    const out = t.apply({ ...suspect('B', 1), extra: 'payload' } as MemberUpdate, T0)
    expect(out).toEqual(EMPTY)
    t.apply(alive('B', 1), T0)
    const relayed = t.apply({ ...suspect('B', 1), extra: 'payload' } as MemberUpdate, T0)
    expect(relayed.broadcast).toEqual([suspect('B', 1)])
    expect(Object.keys(relayed.broadcast[0] ?? {})).not.toContain('extra')
  })
})

describe('views', () => {
  it('members are copies, sorted by peerId, self included and flagged', () => {
    const t = table()
    t.apply(alive('Z', 1), T0)
    t.apply(alive('A', 1), T0)
    t.apply(alive('a', 1), T0)
    const members = t.members()
    expect(members.map((m) => [m.peerId, m.self])).toEqual([['A', false], ['S', true], ['Z', false], ['a', false]])
    expect(t.size()).toBe(4)

    const first = must(members[0])
    first.addresses.push('/mutated')
    first.tags['mutated'] = 'yes'
    first.state = 'dead'
    expect(must(t.get('A'))).toMatchObject({ state: 'alive', addresses: ['/dns4/a.test/tcp/1'], tags: { v: '1' } })
  })

  it('mutating an applied update or a reported change does not reach the table', () => {
    const t = table()
    const update = alive('B', 1)
    const out = t.apply(update, T0)
    update.addresses.push('/mutated')
    must(out.changes[0]).member.tags['mutated'] = 'yes'
    expect(must(t.get('B'))).toMatchObject({ addresses: ['/dns4/b.test/tcp/1'], tags: { v: '1' } })
  })
})

describe('snapshot', () => {
  /** A: self S, B alive@4, C suspect@2, D dead@1, E left@5. */
  function populated (): MemberTable {
    const t = table(T0, { ...SELF, incarnation: 2 })
    t.apply(alive('B', 4, { priority: 7, tags: { role: 'db' } }), T0)
    t.apply(alive('C', 2), T0)
    t.apply(suspect('C', 2), T0 + 1)
    t.apply(alive('D', 1), T0)
    t.apply(dead('D', 1), T0 + 1)
    t.apply(alive('E', 5), T0)
    t.apply(left('E', 5), T0 + 1)
    return t
  }

  it('snapshot lists every member once, sorted, self included with its current incarnation', () => {
    expect(populated().snapshot()).toEqual([
      alive('B', 4, { priority: 7, tags: { role: 'db' } }),
      suspect('C', 2, 'S'),
      dead('D', 1, 'S'),
      left('E', 5),
      { kind: 'alive', peerId: 'S', incarnation: 2, addresses: SELF.addresses, priority: SELF.priority, tags: SELF.tags }
    ])
  })

  it('snapshot round-trips: a fresh table learns every alive member exactly', () => {
    const a = populated()
    const b = table(T0, { ...SELF, peerId: 'F' })
    for (const update of a.snapshot()) b.apply(update, T0 + 5)
    // Suspect, dead and left updates carry no addresses, so they cannot introduce a member
    // (memberlist does the same); only alive members are learnt from a snapshot.
    const view = (t: MemberTable): unknown[] => t.members()
      .filter((m) => m.peerId !== 'F' && m.state === 'alive')
      .map(({ peerId, addresses, state, incarnation, priority, tags }) => ({ peerId, addresses, state, incarnation, priority, tags }))
    expect(view(b)).toEqual(view(a))
    expect(view(a)).toHaveLength(2) // B, and A's own self S
    expect(b.members().map((m) => m.peerId)).toEqual(['B', 'F', 'S'])
  })

  it('snapshot round-trips: a table that knew the members adopts every state and incarnation', () => {
    const a = populated()
    const b = table(T0, { ...SELF, peerId: 'F' })
    for (const peerId of ['B', 'C', 'D', 'E']) b.apply(alive(peerId, 0), T0)
    b.apply(alive('S', 0), T0)
    for (const update of a.snapshot()) b.apply(update, T0 + 5)
    const versions = (t: MemberTable): unknown[] => t.members().filter((m) => m.peerId !== 'F').map((m) => [m.peerId, m.state, m.incarnation])
    expect(versions(b)).toEqual(versions(a))
    expect(versions(b)).toEqual([['B', 'alive', 4], ['C', 'suspect', 2], ['D', 'dead', 1], ['E', 'left', 5], ['S', 'alive', 2]])
  })

  it('a snapshot that says we are dead makes us refute', () => {
    const a = table(T0, { ...SELF, peerId: 'A' })
    a.apply(alive('S', 3), T0)
    a.apply(dead('S', 3), T0 + 1)
    const s = table() // S restarted at incarnation 0
    const broadcasts = a.snapshot().flatMap((u) => s.apply(u, T0 + 5).broadcast)
    expect(stateOf(s, 'S')).toEqual(['alive', 4])
    expect(broadcasts).toEqual([
      { kind: 'alive', peerId: 'A', incarnation: 0, addresses: SELF.addresses, priority: SELF.priority, tags: SELF.tags }, // A itself, newly learnt
      { kind: 'alive', peerId: 'S', incarnation: 4, addresses: SELF.addresses, priority: SELF.priority, tags: SELF.tags } // the refutation
    ])
    for (const u of broadcasts) a.apply(u, T0 + 6)
    expect(must(a.get('S'))).toMatchObject({ state: 'alive', incarnation: 4, addresses: SELF.addresses })
  })
})
