import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPeer } from '../../src/index.js'
import { buildGraph, buildTraceReport, InvalidObserveOptionsError, topicPart, traceId, type TraceEntry } from '../../src/observe/index.js'
import { TraceBuffer } from '../../src/observe/trace-buffer.js'

function entry (replica: string, seq: number, key: string, wall: number, appliedAt = wall): TraceEntry {
  return {
    traceId: traceId({ replica, seq }), key, dot: { replica, seq }, hlc: { wall, logical: 0 }, op: 'put',
    path: 'gossip', from: replica, receivedAt: appliedAt, appliedAt
  }
}

describe('TraceBuffer', () => {
  it('keeps the last `capacity` writes: the oldest goes first', () => {
    const buffer = new TraceBuffer(3)
    for (let seq = 1; seq <= 5; seq++) buffer.add(entry('A', seq, `k${seq}`, seq))
    expect(buffer.size).toBe(3)
    expect(buffer.get({ replica: 'A', seq: 2 })).toBeUndefined()
    expect(buffer.get({ replica: 'A', seq: 3 })?.key).toBe('k3')
    expect(buffer.recent(10).map((e) => e.dot.seq)).toEqual([5, 4, 3])
    expect(buffer.recent(2).map((e) => e.dot.seq)).toEqual([5, 4])
  })

  it('a write seen twice keeps its first arrival', () => {
    const buffer = new TraceBuffer(4)
    buffer.add(entry('A', 1, 'k', 10, 11))
    buffer.add({ ...entry('A', 1, 'k', 10, 99), path: 'anti-entropy' })
    expect(buffer.size).toBe(1)
    expect(buffer.get({ replica: 'A', seq: 1 })).toMatchObject({ appliedAt: 11, path: 'gossip' })
  })

  it('the last write of a key is the one with the highest clock, whatever order they arrived in', () => {
    const buffer = new TraceBuffer(8)
    buffer.add(entry('B', 1, 'k', 30))
    buffer.add(entry('A', 2, 'k', 50))
    buffer.add(entry('A', 1, 'other', 90))
    buffer.add(entry('C', 1, 'k', 40))
    expect(buffer.latest('k')?.traceId).toBe('A/2')
    buffer.add(entry('B', 2, 'k', 50))
    expect(buffer.latest('k')?.traceId).toBe('B/2')
    expect(buffer.latest('missing')).toBeUndefined()
  })

  it('stays bounded and consistent under any sequence of writes', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.constantFrom('A', 'B'), fc.integer({ min: 1, max: 12 })), { maxLength: 60 }), (capacity, dots) => {
      const buffer = new TraceBuffer(capacity)
      for (const [replica, seq] of dots) buffer.add(entry(replica, seq, 'k', seq))
      expect(buffer.size).toBeLessThanOrEqual(capacity)
      const recent = buffer.recent(capacity)
      expect(recent).toHaveLength(buffer.size)
      for (const e of recent) expect(buffer.get(e.dot)).toBe(e)
    }))
  })

  it('a peer refuses beacon timers that are not positive, with the observer\'s option error', async () => {
    await expect(createPeer({ profile: 'local', observe: { beacon: { interval: 0 } } })).rejects.toThrow(InvalidObserveOptionsError)
    await expect(createPeer({ profile: 'local', observe: { beacon: { minInterval: -1 } } })).rejects.toThrow(/beacon\.minInterval/)
  })

  it('refuses a capacity below one', () => {
    expect(() => new TraceBuffer(0)).toThrow(InvalidObserveOptionsError)
    expect(() => new TraceBuffer(0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OBSERVE_OPTIONS' }) as Error)
  })
})

describe('buildTraceReport', () => {
  const write = { traceId: 'A/1', key: 'k', dot: { replica: 'A', seq: 1 }, hlc: { wall: 1_000, logical: 0 }, op: 'put' as const }

  it('orders peers by when they applied it and measures from the author\'s own record', () => {
    const report = buildTraceReport(write, [
      { peerId: 'C', answer: { status: 'applied', path: 'anti-entropy', from: 'B', receivedAt: 1_040, appliedAt: 1_041 } },
      { peerId: 'A', answer: { status: 'applied', path: 'local', from: 'A', receivedAt: 1_002, appliedAt: 1_002 } },
      { peerId: 'B', answer: { status: 'applied', path: 'gossip', from: 'A', receivedAt: 1_010, appliedAt: 1_011 } }
    ])
    expect(report.writtenAt).toBe(1_002)
    expect(report.peers.map((p) => [p.peerId, p.path, p.afterMs])).toEqual([['A', 'local', 0], ['B', 'gossip', 9], ['C', 'anti-entropy', 39]])
    expect(report).toMatchObject({ complete: true, propagationMs: 39, unanswered: [], author: 'A', key: 'k' })
  })

  it('a peer that lacks it, or did not answer: incomplete, no propagation time', () => {
    const report = buildTraceReport(write, [
      { peerId: 'B', answer: { status: 'applied', path: 'gossip', from: 'A', receivedAt: 1_010, appliedAt: 1_011 } },
      { peerId: 'C', answer: { status: 'missing' } },
      { peerId: 'D', error: 'no answer within 2000 ms' }
    ])
    expect(report.writtenAt).toBe(1_000)
    expect(report.peers.map((p) => p.status)).toEqual(['applied', 'missing', 'no-answer'])
    expect(report).toMatchObject({ complete: false, propagationMs: null, unanswered: ['D'] })
  })

  it('a peer that holds it without a time: complete, but the propagation time is unknown', () => {
    const report = buildTraceReport(write, [
      { peerId: 'B', answer: { status: 'applied', path: 'gossip', from: 'A', receivedAt: 1_010, appliedAt: 1_011 } },
      { peerId: 'C', answer: { status: 'held' } }
    ])
    expect(report).toMatchObject({ complete: true, propagationMs: null })
  })
})

describe('buildGraph', () => {
  const members = [
    { peerId: 'A', state: 'alive', self: true },
    { peerId: 'B', state: 'alive', self: false },
    { peerId: 'C', state: 'dead', self: false }
  ]

  it('joins members that either end reports, with the mesh topics by part name', () => {
    const graph = buildGraph(members, new Map([
      ['A', { connections: ['B', 'C', 'X'], mesh: [{ topic: '/hearsay/n/kv/1.0.0', peers: ['B'] }], at: 1 }],
      ['B', { connections: ['A'], mesh: [{ topic: '/hearsay/n/beacon/1.0.0', peers: ['A'] }], at: 2 }],
      ['C', { connections: ['A', 'B'], mesh: [], at: 3 }]
    ]))
    expect(graph.nodes.map((n) => [n.peerId, n.state, n.linksAt])).toEqual([['A', 'alive', 1], ['B', 'alive', 2], ['C', 'dead', 3]])
    // C is dead: no edges to it, whatever anyone said. X is not a member.
    expect(graph.edges).toEqual([{ a: 'A', b: 'B', connected: true, mesh: ['beacon', 'kv'] }])
  })

  it('names topics by their part', () => {
    expect(topicPart('/hearsay/net-1/kv/1.0.0')).toBe('kv')
    expect(topicPart('something else')).toBe('something else')
  })
})
