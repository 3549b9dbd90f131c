import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { connectedFirst } from '../../src/membership/rounds.js'

describe('gossip targets: members this peer is connected to first', () => {
  it('takes up to the fanout, every connected member before any other, each at most once', () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 20 }),
      fc.func(fc.boolean()),
      fc.integer({ min: 0, max: 8 }),
      (ids, isConnected, fanout) => {
        const members = ids.map((peerId) => ({ peerId }))
        const connected = new Set(ids.filter((id) => isConnected(id)))
        const chosen = connectedFirst(members, connected, fanout)
        expect(chosen.length).toBe(Math.min(fanout, members.length))
        expect(new Set(chosen.map((m) => m.peerId)).size).toBe(chosen.length)
        const near = chosen.filter((m) => connected.has(m.peerId)).length
        // Connected ones fill the targets first: as many as there are, up to the fanout.
        expect(near).toBe(Math.min(fanout, connected.size))
        // And they come before the others.
        expect(chosen.slice(0, near).every((m) => connected.has(m.peerId))).toBe(true)
      }
    ))
  })

  it('picks at random among connected members when there are more than the fanout', () => {
    const members = Array.from({ length: 10 }, (_, i) => ({ peerId: `p${i}` }))
    const connected = new Set(members.map((m) => m.peerId))
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) for (const m of connectedFirst(members, connected, 3)) seen.add(m.peerId)
    expect(seen.size).toBe(10)
  })
})
