import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Lease } from '../../src/election/lease.js'

const HT = 1_000
const MARGIN = 250
const options = { heartbeatTimeout: HT, margin: MARGIN }

describe('job lease: handover fence', () => {
  it('opens once every live member acknowledged the claim or was found unreachable, and stays open for the term', () => {
    const n = new Lease(options, -10_000)
    n.claimed(5, 0)
    const view = { live: ['a', 'b'], known: ['a', 'b'] }
    expect(n.evaluate(view, 0).lease).toEqual({ term: 5, plain: false, quorum: false })
    n.acked('a', 5, 0, 0, 3)
    expect(n.evaluate(view, 3).lease?.plain).toBe(false)
    n.unreachableMember('b')
    expect(n.evaluate(view, 4).lease?.plain).toBe(true)
    // Latched: a member seen again later does not close it.
    expect(n.evaluate({ live: ['a', 'b', 'c'], known: ['a', 'b', 'c'] }, 5).lease?.plain).toBe(true)
  })

  it('a member that never answers holds it for one heartbeat timeout after the claim, no longer; an ACK of another term counts for nothing', () => {
    const n = new Lease(options, -10_000)
    n.claimed(2, 100)
    const view = { live: ['a'], known: ['a'] }
    n.acked('a', 1, 0, 0, 150)
    const state = n.evaluate(view, 150)
    expect(state.lease?.plain).toBe(false)
    expect(state.next).toBe(100 + HT)
    expect(n.evaluate(view, 100 + HT - 1).lease?.plain).toBe(false)
    expect(n.evaluate(view, 100 + HT).lease?.plain).toBe(true)
  })

  it('a peer alone opens at once; a stepped-down peer has no lease', () => {
    const n = new Lease(options, -10_000)
    n.claimed(1, 0)
    expect(n.evaluate({ live: [], known: [] }, 0).lease).toEqual({ term: 1, plain: true, quorum: true })
    n.steppedDown()
    expect(n.evaluate({ live: [], known: [] }, 1)).toEqual({ lease: undefined, next: undefined })
  })
})

describe('job lease: majority lease for quorum jobs', () => {
  it('holds while a majority acknowledged a heartbeat sent less than timeout - margin ago, counting from the send', () => {
    const c = new Lease(options, -10_000)
    c.claimed(3, 0)
    c.sentClaim(1, 0)
    const view = { live: ['a', 'b'], known: ['a', 'b'] }
    c.acked('a', 3, 1, 0, 40)
    c.acked('b', 3, 1, 0, 45)
    expect(c.evaluate(view, 50).lease).toEqual({ term: 3, plain: true, quorum: true })
    c.sentClaim(2, 250)
    c.acked('a', 3, 2, 0, 400)
    // a renewed from the send at 250, b only from 0: a majority of 3 needs one other.
    const held = c.evaluate(view, 400)
    expect(held.next).toBe(250 + HT - MARGIN)
    expect(c.evaluate(view, 250 + HT - MARGIN - 1).lease?.quorum).toBe(true)
    expect(c.evaluate(view, 250 + HT - MARGIN).lease).toEqual({ term: 3, plain: true, quorum: false })
  })

  it('dead members count toward the majority, left ones do not', () => {
    const c = new Lease(options, -10_000)
    c.claimed(1, 0)
    c.sentClaim(1, 0)
    c.acked('a', 1, 1, 0, 1)
    // 5 known: self + a is 2 of 5.
    expect(c.evaluate({ live: ['a'], known: ['a', 'b', 'c', 'd'] }, 10).lease?.quorum).toBe(false)
    // b, c, d left: 2 of 2.
    expect(c.evaluate({ live: ['a'], known: ['a'] }, 10).lease?.quorum).toBe(true)
  })

  it('waits out the support a follower still gave the previous coordinator, and its own', () => {
    const x = new Lease(options, -10_000)
    expect(x.support('c', 0)).toBe(0)
    expect(x.support('c', 300)).toBe(0)
    // x switches to n at 500: its support of c runs until 1300.
    expect(x.support('n', 500)).toBe(800)
    const n = new Lease(options, -10_000)
    n.claimed(4, 480)
    n.sentClaim(1, 480)
    n.acked('x', 4, 1, 800, 510)
    const view = { live: ['x', 'c'], known: ['x', 'c'] }
    n.unreachableMember('c')
    const state = n.evaluate(view, 510)
    expect(state.lease).toEqual({ term: 4, plain: true, quorum: false })
    // The next change: x's ACK of the claim (sent at 480) runs out at 1230, before the prior at 1310.
    expect(state.next).toBe(480 + HT - MARGIN)
    expect(n.evaluate(view, 1309).lease?.quorum).toBe(false)
    // x's ACK of the claim is from 480 and has run out by now; a fresh one renews.
    n.sentClaim(2, 1200)
    n.acked('x', 4, 2, 0, 1210)
    expect(n.evaluate(view, 1310).lease?.quorum).toBe(true)
  })

  it('a peer counts as supporting an unknown coordinator for a timeout after it starts', () => {
    const n = new Lease(options, 1_000)
    n.claimed(1, 1_100)
    expect(n.evaluate({ live: [], known: [] }, 1_100).lease?.quorum).toBe(false)
    expect(n.evaluate({ live: [], known: [] }, 2_000).lease?.quorum).toBe(true)
  })

  it('a coordinator that stepped down acknowledges the next with prior 0: its runs are over', () => {
    const c = new Lease(options, -10_000)
    c.claimed(1, 0)
    expect(c.support('n', 10)).toBe(0)
  })

  it('two quorum leases never overlap: whatever the delays, clock offsets and the order of the switch', () => {
    // Three peers c, x, n. c leads and heartbeats; x acknowledges some of them after random
    // delays, then switches to n (which claimed a higher term), and n's quorum lease needs x.
    // Each peer's clock has its own offset: only durations cross. The property: every moment n
    // holds a quorum lease is after every moment c held one.
    const arb = fc.record({
      offsets: fc.tuple(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1e6, max: 1e6 })),
      beats: fc.array(fc.record({ gap: fc.integer({ min: 1, max: 400 }), delay: fc.integer({ min: 0, max: 300 }), ackDelay: fc.integer({ min: 0, max: 300 }), lost: fc.boolean() }), { minLength: 1, maxLength: 12 }),
      switchAfter: fc.integer({ min: 0, max: 2_000 }),
      claimDelay: fc.integer({ min: 0, max: 300 }),
      ackDelay: fc.integer({ min: 0, max: 300 })
    })
    fc.assert(fc.property(arb, ({ offsets: [oc, ox, on], beats, switchAfter, claimDelay, ackDelay }) => {
      const start = 0
      const c = new Lease(options, start + oc - 5_000)
      const x = new Lease(options, start + ox - 5_000)
      const n = new Lease(options, start + on - 5_000)
      const view = (a: string, b: string): { live: string[], known: string[] } => ({ live: [a, b], known: [a, b] })
      c.claimed(1, start + oc)
      // Real times at which c's view of its lease changes are found by probing every ms.
      let t = start
      let lastAckReceipt = -Infinity
      const acks: Array<{ at: number, seq: number }> = []
      beats.forEach((beat, i) => {
        t += beat.gap
        c.sentClaim(i + 1, t + oc)
        if (beat.lost) return
        const heard = t + beat.delay
        lastAckReceipt = Math.max(lastAckReceipt, heard)
        acks.push({ at: heard, seq: i + 1 })
      })
      // x hears them in order of arrival (a later send may arrive first; support only grows).
      acks.sort((a, b) => a.at - b.at)
      for (const ack of acks) x.support('c', ack.at + ox)
      const switchAt = Math.max(t, lastAckReceipt) + switchAfter
      // n claims; x hears the claim and switches after claimDelay, n hears x's ACK after ackDelay.
      n.claimed(2, switchAt + on)
      n.sentClaim(1, switchAt + on)
      // The worst case: n cannot reach c (a partition looks like a crash), so the handover
      // fence opens at once and only the majority lease keeps the two apart.
      n.unreachableMember('c')
      const prior = x.support('n', switchAt + claimDelay + ox)
      const events = acks.map((a, k) => ({ at: a.at + beats[k]!.ackDelay, seq: a.seq }))
      const probeEnd = switchAt + claimDelay + ackDelay + 3 * HT
      let cEnd = -Infinity
      let nStart = Infinity
      for (let now = start; now <= probeEnd; now += 5) {
        for (const e of events) if (e.at <= now && e.at > now - 5) c.acked('x', 1, e.seq, 0, e.at + oc)
        if (switchAt + claimDelay + ackDelay <= now && switchAt + claimDelay + ackDelay > now - 5) n.acked('x', 2, 1, prior, switchAt + claimDelay + ackDelay + on)
        if (c.evaluate(view('x', 'n'), now + oc).lease?.quorum === true) cEnd = now
        if (nStart === Infinity && n.evaluate(view('x', 'c'), now + on).lease?.quorum === true) nStart = now
      }
      if (nStart !== Infinity) expect(cEnd).toBeLessThan(nStart)
    }), { numRuns: 300 })
  })
})
