import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { ChangeLog } from '../../src/api/watch-log.js'

const text = (key: string) => (id: string): string => `event: change\nid: ${id}\ndata: {"key":"${key}"}\n\n`

describe('the change log a watch resumes from', () => {
  it('replays exactly what came after the client\'s id, under its prefix', () => {
    const log = new ChangeLog({ maxEvents: 100, maxBytes: 1 << 20 }, 'e1')
    const ids = ['a/1', 'b/1', 'a/2', 'a/3'].map((key) => log.append(key, text(key)).n)
    expect(log.lastId()).toBe(`e1-${ids[3]}`)
    const resume = log.since(`e1-${ids[0]}`, 'a/')
    expect(resume.kind).toBe('replay')
    expect(resume.kind === 'replay' && resume.changes.map((c) => c.key)).toEqual(['a/2', 'a/3'])
    expect(log.since(log.lastId(), '')).toEqual({ kind: 'replay', changes: [] })
  })

  it('an id of another epoch, a future id, a garbage id or one older than what is kept is unknown', () => {
    const log = new ChangeLog({ maxEvents: 3, maxBytes: 1 << 20 }, 'e1')
    for (let i = 0; i < 10; i++) log.append(`k${i}`, text(`k${i}`))
    expect(log.size()).toBe(3)
    expect(log.since('e2-5', '').kind).toBe('unknown')
    expect(log.since('e1-11', '').kind).toBe('unknown')
    expect(log.since('nonsense', '').kind).toBe('unknown')
    expect(log.since('e1-6', '').kind).toBe('unknown') // 7 was dropped
    const resume = log.since('e1-7', '')
    expect(resume.kind === 'replay' && resume.changes.map((c) => c.n)).toEqual([8, 9, 10])
  })

  it('a gap (changes it did not see) makes every earlier id unknown, even the newest one', () => {
    const log = new ChangeLog({ maxEvents: 10, maxBytes: 1 << 20 }, 'e1')
    log.append('k', text('k'))
    const before = log.lastId()
    log.gap()
    expect(log.since(before, '').kind).toBe('unknown')
    log.append('k', text('k'))
    expect(log.since(before, '').kind).toBe('unknown')
  })

  it('stays within its bounds in events and bytes, keeping the newest', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 2_000 }), fc.array(fc.string({ maxLength: 200 }), { maxLength: 300 }), (maxEvents, maxBytes, keys) => {
      const log = new ChangeLog({ maxEvents, maxBytes }, 'e')
      for (const key of keys) log.append(key, text(key))
      expect(log.size()).toBeLessThanOrEqual(maxEvents)
      if (keys.length > 0) {
        // The newest is always kept; whatever is kept resumes from the id before it.
        expect(log.size()).toBeGreaterThanOrEqual(1)
        const resume = log.since(`e-${keys.length - log.size()}`, '')
        expect(resume.kind === 'replay' && resume.changes.length).toBe(log.size())
      }
    }))
  })
})
