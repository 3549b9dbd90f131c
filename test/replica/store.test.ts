import { describe, expect, it } from 'vitest'
import {
  HybridClock, InvalidAmountError, InvalidKeyError, InvalidRecordError, InvalidValueError, KeyTooLongError,
  ReplicaError, ReplicaState, TooManyRemovesError, ValueTooLargeError, WrongTypeError
} from '../../src/replica/index.js'
import { ManualTime, replica, sync, syncAll, transmit, view } from './helpers.js'
import type { ReplicaChange, WriteRecord } from '../../src/replica/index.js'

describe('register: put / get / versions', () => {
  it('put then get returns the value; versions shows one version with clock, author and hlc', () => {
    const a = replica('A')
    const record = a.put('greeting', { text: 'hello' })
    expect(a.get('greeting')).toEqual({ text: 'hello' })
    expect(a.typeOf('greeting')).toBe('register')
    const versions = a.versions('greeting')
    expect(versions).toHaveLength(1)
    expect(versions[0]).toEqual({ value: { text: 'hello' }, clock: { A: 1 }, author: 'A', hlc: record.hlc, dot: { replica: 'A', seq: 1 } })
    expect(a.get('missing')).toBeUndefined()
    expect(a.versions('missing')).toEqual([])
  })

  it('sequential put supersedes the earlier version', () => {
    const a = replica('A')
    const b = replica('B')
    a.put('k', 1)
    sync(a, b)
    const second = b.put('k', 2)
    expect(second.removes).toEqual([{ replica: 'A', seq: 1 }])
    sync(b, a)
    for (const r of [a, b]) {
      expect(r.get('k')).toBe(2)
      expect(r.versions('k').map((v) => v.value)).toEqual([2])
    }
  })

  it('concurrent puts give two siblings and the same winner everywhere (highest HLC)', () => {
    const time = new ManualTime()
    const a = replica('A', time)
    const b = replica('B', time)
    a.put('k', 'from A')
    time.advance(5)
    b.put('k', 'from B')
    syncAll([a, b])
    for (const r of [a, b]) {
      expect(r.get('k')).toBe('from B')
      expect(r.versions('k').map((v) => v.author)).toEqual(['B', 'A'])
    }
    expect(view(a)).toEqual(view(b))
  })

  it('an HLC tie is broken by the higher replica id', () => {
    const time = new ManualTime()
    const a = replica('A', time)
    const b = replica('B', time)
    const ra = a.put('k', 'a')
    const rb = b.put('k', 'b')
    expect(ra.hlc).toEqual(rb.hlc)
    syncAll([a, b])
    expect(a.get('k')).toBe('b')
    expect(b.get('k')).toBe('b')
  })

  it('a put that has seen both siblings resolves them', () => {
    const a = replica('A')
    const b = replica('B')
    a.put('k', 1)
    b.put('k', 2)
    syncAll([a, b])
    const merged = a.put('k', 3)
    expect(merged.removes).toHaveLength(2)
    syncAll([a, b])
    expect(b.versions('k').map((v) => v.value)).toEqual([3])
  })

  it('put stores a copy: changing the caller\'s object later changes nothing, and values are frozen', () => {
    const a = replica('A')
    const value = { list: [1, 2] }
    a.put('k', value)
    value.list.push(3)
    expect(a.get('k')).toEqual({ list: [1, 2] })
    expect(Object.isFrozen(a.get('k'))).toBe(true)
  })
})

describe('delete', () => {
  it('removes the versions it has seen', () => {
    const a = replica('A')
    const b = replica('B')
    a.put('k', 1)
    b.put('k', 2)
    syncAll([a, b])
    const del = a.delete('k')
    expect(del?.removes).toHaveLength(2)
    syncAll([a, b])
    for (const r of [a, b]) {
      expect(r.get('k')).toBeUndefined()
      expect(r.versions('k')).toEqual([])
      expect(r.list('')).toEqual([])
      expect(r.size()).toBe(0)
    }
  })

  it('a put concurrent with a delete survives', () => {
    const a = replica('A')
    const b = replica('B')
    a.put('k', 'old')
    sync(a, b)
    a.delete('k')
    b.put('k', 'new')
    syncAll([a, b])
    for (const r of [a, b]) {
      expect(r.get('k')).toBe('new')
      expect(r.versions('k').map((v) => v.value)).toEqual(['new'])
    }
  })

  it('delete of a missing key writes nothing', () => {
    const a = replica('A')
    expect(a.delete('nope')).toBeUndefined()
    expect(a.recordCount()).toBe(0)
    expect(a.lastSeq).toBe(0)
  })

  it('delete records are kept as metadata (they are records) but are never values', () => {
    const a = replica('A')
    a.put('k', 1)
    a.delete('k')
    expect(a.recordCount()).toBe(2)
    expect(a.typeOf('k')).toBeUndefined()
  })
})

describe('PN-counter', () => {
  it('concurrent increments from three replicas all count', () => {
    const [a, b, c] = ['A', 'B', 'C'].map((id) => replica(id)) as [ReplicaState, ReplicaState, ReplicaState]
    a.increment('hits')
    a.increment('hits', 2)
    b.increment('hits', 10)
    c.decrement('hits', 4)
    syncAll([a, b, c])
    for (const r of [a, b, c]) {
      expect(r.get('hits')).toBe(9)
      expect(r.typeOf('hits')).toBe('counter')
    }
    // Each author keeps one live record: its cumulative total supersedes its previous one.
    expect(a.increment('hits').removes).toEqual([{ replica: 'A', seq: 2 }])
  })

  it('an author\'s older record still live (the one that superseded it never arrived) is not counted twice', () => {
    const a = replica('A')
    const b = replica('B')
    const first = a.increment('hits', 3)
    const second = a.increment('hits', 1)
    const third = a.increment('hits', 2)
    expect(third.removes).toEqual([second.dot])
    // B gets A's first and third records, not the second: nothing removes the first there.
    expect(b.join(transmit([first, third]))).toBe(2)
    expect(b.get('hits')).toBe(6)
    expect(a.get('hits')).toBe(6)
  })

  it('a delete resets the counter; increments after it start from 0', () => {
    const a = replica('A')
    const b = replica('B')
    a.increment('n', 5)
    b.increment('n', 7)
    syncAll([a, b])
    a.delete('n')
    syncAll([a, b])
    expect(b.get('n')).toBeUndefined()
    const after = b.increment('n')
    expect(after.op).toEqual({ type: 'counter', p: 1, n: 0 })
    syncAll([a, b])
    expect(a.get('n')).toBe(1)
    expect(b.get('n')).toBe(1)
  })

  it('an increment concurrent with a delete survives, carrying its author\'s whole total (records are cumulative)', () => {
    const a = replica('A')
    const b = replica('B')
    a.increment('n', 5)
    sync(a, b)
    b.delete('n')
    a.increment('n')
    syncAll([a, b])
    // The delete saw A's total of 5, but A's next record holds 6 and supersedes the one the
    // delete removed: add-wins keeps it whole. Known trade-off of one cumulative record per author.
    expect(a.get('n')).toBe(6)
    expect(b.get('n')).toBe(6)
  })

  it('refuses non-positive or non-finite amounts and overflow, writing nothing', () => {
    const a = replica('A')
    for (const by of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => a.increment('n', by)).toThrow(InvalidAmountError)
    }
    a.increment('n', Number.MAX_VALUE)
    expect(() => a.increment('n', Number.MAX_VALUE)).toThrow(InvalidAmountError)
    expect(a.recordCount()).toBe(1)
  })
})

describe('OR-set', () => {
  it('add and remove', () => {
    const a = replica('A')
    a.setAdd('s', 'x')
    a.setAdd('s', { b: 1, a: 2 })
    a.setAdd('s', 'y')
    expect(a.get('s')).toEqual(['"x"', '"y"', '{"a":2,"b":1}'].map((j) => JSON.parse(j)))
    a.setRemove('s', 'x')
    expect(a.get('s')).toEqual(['y', { a: 2, b: 1 }])
    expect(a.typeOf('s')).toBe('set')
  })

  it('elements are compared as JSON values, whatever the key order', () => {
    const a = replica('A')
    a.setAdd('s', { a: 1, b: 2 })
    const again = a.setAdd('s', { b: 2, a: 1 })
    expect(again.removes).toEqual([{ replica: 'A', seq: 1 }])
    expect(a.get('s')).toHaveLength(1)
    a.setRemove('s', { b: 2, a: 1 })
    expect(a.get('s')).toBeUndefined()
  })

  it('an add concurrent with a remove of the same element wins', () => {
    const a = replica('A')
    const b = replica('B')
    a.setAdd('s', 'x')
    sync(a, b)
    a.setRemove('s', 'x')
    b.setAdd('s', 'x')
    syncAll([a, b])
    expect(a.get('s')).toEqual(['x'])
    expect(b.get('s')).toEqual(['x'])
  })

  it('remove of an element nobody added writes nothing', () => {
    const a = replica('A')
    expect(a.setRemove('s', 'x')).toBeUndefined()
    expect(a.recordCount()).toBe(0)
  })

  it('counter or set operations on a key of another type are refused', () => {
    const a = replica('A')
    a.put('k', 1)
    expect(() => a.increment('k')).toThrow(WrongTypeError)
    expect(() => a.setAdd('k', 1)).toThrow(WrongTypeError)
    a.increment('c')
    expect(() => a.setAdd('c', 1)).toThrow(WrongTypeError)
    a.put('c', 'now a register')
    expect(a.get('c')).toBe('now a register')
    expect(a.recordCount()).toBe(3)
  })
})

describe('out-of-order delivery', () => {
  it('a record that arrives after the record removing it is dead at once', () => {
    const a = replica('A')
    const b = replica('B')
    const first = a.put('k', 'first')
    const second = a.put('k', 'second')
    const changes: string[] = []
    const c = new ReplicaState('C', { onChange: (e) => changes.push(`${e.key}:${e.record.dot.seq}`) })
    const [wire2, wire1] = transmit([second, first])
    expect(c.apply(wire2 as WriteRecord)).toBe('applied')
    expect(c.apply(wire1 as WriteRecord)).toBe('applied')
    expect(c.get('k')).toBe('second')
    expect(c.versions('k')).toHaveLength(1)
    expect(changes).toEqual(['k:2'])
    sync(a, b)
    expect(view(b)).toEqual(view(c))
  })

  it('a removes entry naming a record of another key has no effect there', () => {
    const a = replica('A')
    const x = a.put('x', 1)
    const forged: WriteRecord = { dot: { replica: 'B', seq: 1 }, key: 'y', op: { type: 'delete' }, hlc: { wall: 1, logical: 0 }, clock: { B: 1 }, removes: [x.dot] }
    a.apply(forged)
    expect(a.get('x')).toBe(1)
  })

  it('join validates the whole batch first and returns how many records were new', () => {
    const a = replica('A')
    const records = [a.put('x', 1), a.put('y', 2)]
    const b = replica('B')
    expect(b.join(transmit([records[0] as WriteRecord]))).toBe(1)
    expect(b.join(transmit([...records, ...records]))).toBe(1)
  })

  it('apply of a record already held is a duplicate and changes nothing', () => {
    const a = replica('A')
    const b = replica('B')
    const r = a.put('k', 1)
    expect(b.apply(transmit([r])[0] as WriteRecord)).toBe('applied')
    const digest = b.digest()
    expect(b.apply(transmit([r])[0] as WriteRecord)).toBe('duplicate')
    expect(b.digest()).toBe(digest)
    expect(b.recordCount()).toBe(1)
  })
})

describe('recordsSince (anti-entropy)', () => {
  it('returns exactly the records the other side is missing', () => {
    const a = replica('A')
    const b = replica('B')
    for (let i = 0; i < 10; i++) a.put(`a${i}`, i)
    for (let i = 0; i < 5; i++) b.put(`b${i}`, i)
    sync(a, b)
    sync(b, a)
    a.put('a-late', 1)
    a.put('a-late-2', 2)
    b.increment('b-late')
    const missingOnB = a.recordsSince(b.versionVector())
    expect(missingOnB.map((r) => r.dot)).toEqual([{ replica: 'A', seq: 11 }, { replica: 'A', seq: 12 }])
    const missingOnA = b.recordsSince(a.versionVector())
    expect(missingOnA.map((r) => r.dot)).toEqual([{ replica: 'B', seq: 6 }])
    expect(a.recordsSince(a.versionVector())).toEqual([])
    expect(a.recordsSince({})).toHaveLength(a.recordCount())
  })

  it('pages with a limit by raising the vector to the last seq sent', () => {
    const a = replica('A')
    const other = new ReplicaState('B')
    for (let i = 0; i < 7; i++) other.put(`k${i}`, i)
    for (let i = 0; i < 5; i++) a.put(`m${i}`, i)
    sync(other, a)
    const target = replica('C')
    const cursor: Record<string, number> = { ...target.versionVector() }
    let pages = 0
    for (;;) {
      const page = a.recordsSince(cursor, 3)
      if (page.length === 0) break
      pages++
      expect(page.length).toBeLessThanOrEqual(3)
      target.join(transmit(page))
      for (const r of page) cursor[r.dot.replica] = Math.max(cursor[r.dot.replica] ?? 0, r.dot.seq)
    }
    expect(pages).toBe(4)
    expect(target.digest()).toBe(a.digest())
    expect(target.list('')).toEqual(a.list(''))
  })

  it('includes records held beyond a gap', () => {
    const a = replica('A')
    const records = [a.put('k1', 1), a.put('k2', 2), a.put('k3', 3)]
    const b = replica('B')
    b.apply(transmit([records[2] as WriteRecord])[0] as WriteRecord)
    expect(b.versionVector()).toEqual({})
    expect(b.has({ replica: 'A', seq: 3 })).toBe(true)
    expect(b.recordsSince({}).map((r) => r.dot.seq)).toEqual([3])
    sync(a, b)
    expect(b.versionVector()).toEqual({ A: 3 })
  })
})

describe('limits and invalid input', () => {
  it('key and value limits are refused with a typed error and change nothing', () => {
    const a = replica('A', new ManualTime(), { maxKeyBytes: 8, maxValueBytes: 16 })
    a.put('ok', 1)
    const before = view(a)
    expect(() => a.put('', 1)).toThrow(InvalidKeyError)
    expect(() => a.put('123456789', 1)).toThrow(KeyTooLongError)
    expect(() => a.put('ééééé', 1)).toThrow(KeyTooLongError) // 10 UTF-8 bytes, 5 characters
    expect(() => a.put('\ud800', 1)).toThrow(InvalidKeyError)
    expect(() => a.put('k', 'x'.repeat(20))).toThrow(ValueTooLargeError)
    expect(() => a.setAdd('k', 'x'.repeat(20))).toThrow(ValueTooLargeError)
    expect(() => a.put('k', Number.NaN)).toThrow(InvalidValueError)
    expect(() => a.put('k', { d: new Date() } as never)).toThrow(InvalidValueError)
    expect(() => a.put('k', [undefined] as never)).toThrow(InvalidValueError)
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(() => a.put('k', circular as never)).toThrow(InvalidValueError)
    expect(view(a)).toEqual(before)
    expect(a.lastSeq).toBe(1)
  })

  it('the defaults are 1024 key bytes and 1 MiB of JSON', () => {
    const a = replica('A')
    a.put('k'.repeat(1024), 'x'.repeat(1024 * 1024 - 2))
    expect(() => a.put('k'.repeat(1025), 1)).toThrow(KeyTooLongError)
    expect(() => a.put('k', 'x'.repeat(1024 * 1024 - 1))).toThrow(ValueTooLargeError)
  })

  it('apply refuses structurally wrong records with a typed error and changes nothing', () => {
    const a = replica('A')
    a.put('k', 1)
    const before = view(a)
    const good: WriteRecord = { dot: { replica: 'B', seq: 2 }, key: 'k', op: { type: 'put', value: 2 }, hlc: { wall: 5, logical: 0 }, clock: { B: 2 }, removes: [] }
    const bad: unknown[] = [
      null,
      { ...good, dot: { replica: 'B', seq: 0 } },
      { ...good, dot: { replica: 'B', seq: 1.5 }, clock: { B: 1.5 } },
      { ...good, dot: { replica: '', seq: 2 } },
      { ...good, dot: { replica: 'x'.repeat(129), seq: 2 } },
      { ...good, key: '' },
      { ...good, op: { type: 'put', value: Number.POSITIVE_INFINITY } },
      { ...good, op: { type: 'counter', p: -1, n: 0 } },
      { ...good, op: { type: 'counter', p: Number.NaN, n: 0 } },
      { ...good, op: { type: 'rename' } },
      { ...good, hlc: { wall: -1, logical: 0 } },
      { ...good, hlc: { wall: 1, logical: 2 ** 32 } },
      { ...good, clock: {} },
      { ...good, clock: { B: 3 } },
      { ...good, clock: { B: 2, C: 0 } },
      { ...good, removes: [{ replica: 'B', seq: 2 }] },
      { ...good, removes: [{ replica: 'B', seq: 3 }] },
      { ...good, removes: [{ replica: 'A', seq: 1 }, { replica: 'A', seq: 1 }] },
      { ...good, removes: [{ replica: 'A', seq: -1 }] },
      { ...good, signature: new Uint8Array(0) },
      { ...good, signature: new Uint8Array(2000) },
      { ...good, signature: 'sig' }
    ]
    for (const record of bad) {
      expect(() => a.apply(record as WriteRecord), JSON.stringify(record)).toThrow(ReplicaError)
    }
    expect(() => a.join([good, bad[1] as WriteRecord])).toThrow(InvalidRecordError)
    expect(view(a)).toEqual(before)
    expect(a.apply(good)).toBe('applied')
  })

  it('a write that would supersede more than maxRemoves records is refused', () => {
    const a = replica('A', new ManualTime(), { maxRemoves: 2 })
    for (const e of [1, 2, 3]) a.setAdd('s', e)
    expect(() => a.put('s', 'x')).toThrow(TooManyRemovesError)
    expect(a.get('s')).toEqual([1, 2, 3])
  })
})

describe('seq, clock and change notification', () => {
  it('a restarted replica never reuses a seq: startSeq, restoreSeq, or replay of its own records', () => {
    const a = new ReplicaState('A', { startSeq: 41 })
    expect(a.put('k', 1).dot.seq).toBe(42)
    a.restoreSeq(100)
    a.restoreSeq(50)
    expect(a.put('k', 2).dot.seq).toBe(101)
    const restarted = new ReplicaState('A')
    restarted.join(transmit(a.allRecords()))
    expect(restarted.lastSeq).toBe(101)
    expect(restarted.put('k', 3).dot.seq).toBe(102)
  })

  it('a local write after seeing a remote one gets a higher HLC even when the local wall clock is behind', () => {
    const slow = new ManualTime(1_000_000)
    const fast = new ManualTime(1_030_000)
    const a = replica('A', fast)
    const b = replica('B', slow)
    const remote = a.put('k', 1)
    sync(a, b)
    const local = b.put('other', 2)
    expect(local.hlc.wall).toBe(remote.hlc.wall)
    expect(local.hlc.logical).toBeGreaterThan(remote.hlc.logical)
  })

  it('onChange fires once per record that changes a key, with its origin', () => {
    const changes: ReplicaChange[] = []
    const a = new ReplicaState('A', { onChange: (c) => changes.push(c) })
    const b = new ReplicaState('B')
    a.put('k', 1)
    b.put('j', 2)
    b.setAdd('s', 'x')
    b.setAdd('s', 'x')
    sync(b, a)
    sync(b, a)
    expect(changes.map((c) => [c.key, c.origin])).toEqual([['k', 'local'], ['j', 'remote'], ['s', 'remote'], ['s', 'remote']])
  })

  it('size and recordCount', () => {
    const a = replica('A')
    a.put('a', 1)
    a.put('b', 1)
    a.put('a', 2)
    a.delete('b')
    expect(a.size()).toBe(1)
    expect(a.recordCount()).toBe(4)
  })

  it('list(prefix) is sorted by key and leaves out deleted keys', () => {
    const a = replica('A')
    a.put('user/2', 'b')
    a.put('user/1', 'a')
    a.put('other', 'x')
    a.increment('user/count', 2)
    a.put('user/3', 'c')
    a.delete('user/3')
    expect(a.list('user/')).toEqual([['user/1', 'a'], ['user/2', 'b'], ['user/count', 2]])
  })
})

describe('digest', () => {
  it('is equal for replicas holding the same records, whatever the order, and different otherwise', () => {
    const a = replica('A')
    const b = replica('B')
    const empty = a.digest()
    expect(empty).toBe(b.digest())
    const r1 = a.put('x', 1)
    const r2 = a.put('y', 2)
    expect(a.digest()).not.toBe(empty)
    const c = replica('C')
    c.join(transmit([r2, r1]))
    expect(c.digest()).toBe(a.digest())
    const d = replica('D')
    d.join(transmit([r1]))
    expect(d.digest()).not.toBe(a.digest())
    expect(a.digest()).toMatch(/^[0-9a-f]{64}$/)
  })

  it('costs no more with a big store (incremental)', () => {
    const a = new ReplicaState('A', { clock: new HybridClock(() => 1) })
    for (let i = 0; i < 20_000; i++) a.put(`k${i}`, i)
    const start = performance.now()
    for (let i = 0; i < 1000; i++) a.digest()
    expect(performance.now() - start).toBeLessThan(1000)
  })
})
