import { describe, it, expect } from 'vitest'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createRng, createWriter, faultSchedule, scheduleDigest, seedOf, type Fault } from '../../chaos/schedule.js'
import { checkJobOverlaps, checkLeader, checkSameAnswers, checkTerms, checkWrites, findOverlaps, type RecordedWrite, type Version, type WriteSnapshot } from '../../chaos/check.js'

const RUNNER = fileURLToPath(new URL('../../chaos/run.js', import.meta.url))

const A = 'peer-a'
const B = 'peer-b'

function snapshot (values: Record<string, unknown>, versions: Record<string, Version[]> = {}): WriteSnapshot {
  return { index: 0, values: new Map(Object.entries(values)), versions: new Map(Object.entries(versions)) }
}

function put (key: string, value: unknown, replica: string, seq: number): RecordedWrite {
  return { type: 'put', key, value, receipt: { key, dot: { replica, seq } } }
}

describe('chaos schedule', () => {
  it('one seed gives one schedule and one stream of writes; another seed another', () => {
    const make = (seed: string): string => {
      const rng = createRng(seedOf(seed))
      const faults = faultSchedule(rng.fork(), { peers: 5, durationMs: 120_000 })
      const writer = createWriter(rng.fork(), 'w0')
      return JSON.stringify([faults, Array.from({ length: 50 }, () => writer.next())])
    }
    expect(make('7')).toBe(make('7'))
    expect(make('7')).not.toBe(make('8'))
    expect(seedOf('release')).toBe(seedOf('release'))
    expect(seedOf('12')).toBe(12)
  })

  it('never has more than maxDown peers down, and only restarts killed and resumes paused ones', () => {
    for (let seed = 0; seed < 200; seed++) {
      const faults: Fault[] = faultSchedule(createRng(seed), { peers: 5, durationMs: 120_000 })
      expect(faults.length).toBeGreaterThan(20)
      const down = new Map<number, string>()
      let last = 0
      for (const f of faults) {
        expect(f.at).toBeGreaterThan(last)
        last = f.at
        if (f.action === 'partition') {
          expect(f.groups.flat().sort()).toEqual([0, 1, 2, 3, 4])
          expect(f.groups.every((g) => g.length > 0)).toBe(true)
          expect(f.groups.length).toBeGreaterThanOrEqual(2)
        }
        if (f.action === 'kill' || f.action === 'pause') {
          expect(down.has(f.peer)).toBe(false)
          down.set(f.peer, f.action)
        }
        if (f.action === 'restart') expect(down.get(f.peer)).toBe('kill')
        if (f.action === 'resume') expect(down.get(f.peer)).toBe('pause')
        if (f.action === 'restart' || f.action === 'resume') down.delete(f.peer)
        expect(down.size).toBeLessThanOrEqual(2)
      }
      expect(scheduleDigest(faults)).toMatch(/^[0-9a-f]{8}$/)
    }
  })
})

describe('chaos checks', () => {
  it('an acknowledged put is kept when it is live or covered by a later version a client wrote', () => {
    const first = put('k', { n: 1 }, A, 1)
    const second = put('k', { n: 2 }, B, 1)
    const later: Version = { value: { n: 2 }, dot: { replica: B, seq: 1 }, clock: { [A]: 1, [B]: 1 } }
    expect(checkWrites([first, second], [], [snapshot({ k: { n: 2 } }, { k: [later] })])).toEqual({
      lost: 0, violations: [], found: { present: 1, clock: 1, superseded: 0 }
    })
  })

  it('finds an acknowledged put that is gone, or "covered" by a concurrent version', () => {
    const first = put('k', { n: 1 }, A, 1)
    const concurrent: Version = { value: { n: 2 }, dot: { replica: B, seq: 1 }, clock: { [B]: 1 } }
    const result = checkWrites([first], [{ type: 'put', key: 'k', value: { n: 2 } }], [snapshot({ k: { n: 2 } }, { k: [concurrent] })])
    expect(result.lost).toBe(1)
    expect(result.violations[0]).toMatch(/acknowledged write k=\{"n":1\}.*is gone/)
    expect(checkWrites([first], [], [snapshot({}, { k: [] })]).lost).toBe(1)
  })

  it('follows what a live version superseded, through the logs, when its clock has a gap', () => {
    // B held A:5 (gossip) but not A:4 when it wrote: its clock says A:3, its removes name A:5.
    const gone = put('k', 'a5', A, 5)
    const live: Version = { value: 'b2', dot: { replica: B, seq: 2 }, clock: { [A]: 3, [B]: 2 } }
    const snap = snapshot({ k: 'b2' }, { k: [live] })
    const written: RecordedWrite[] = [{ type: 'put', key: 'k', value: 'b2' }, { type: 'put', key: 'k', value: 'b1' }]
    expect(checkWrites([gone], written, [snap]).lost).toBe(1)
    const direct = new Map([[`${B}:2`, { dot: { replica: B, seq: 2 }, clock: { [A]: 3, [B]: 2 }, removes: [{ replica: A, seq: 5 }] }]])
    expect(checkWrites([gone], written, [snap], direct)).toEqual({ lost: 0, violations: [], found: { present: 0, clock: 0, superseded: 1 } })
    // Through a write that is gone as well: B:2 superseded B:1, whose clock covers A:5.
    const chain = new Map([
      [`${B}:2`, { dot: { replica: B, seq: 2 }, clock: { [A]: 3, [B]: 2 }, removes: [{ replica: B, seq: 1 }] }],
      [`${B}:1`, { dot: { replica: B, seq: 1 }, clock: { [A]: 5, [B]: 1 }, removes: [] }]
    ])
    expect(checkWrites([gone], written, [snap], chain).lost).toBe(0)
    // A chain that leads elsewhere proves nothing.
    const elsewhere = new Map([
      [`${B}:2`, { dot: { replica: B, seq: 2 }, clock: { [A]: 3, [B]: 2 }, removes: [{ replica: B, seq: 1 }] }],
      [`${B}:1`, { dot: { replica: B, seq: 1 }, clock: { [A]: 3, [B]: 1 }, removes: [{ replica: A, seq: 3 }] }]
    ])
    expect(checkWrites([gone], written, [snap], elsewhere).lost).toBe(1)
  })

  it('follows a replica\'s own earlier writes: the live one superseded nothing of A, an earlier one a later write of A', () => {
    // Seen in a run: A:5 ← A:7 (same replica, later) ← B:4 (removes A:7, clock A:3) … B:9 (live, clock A:3).
    const gone = put('k', 'a5', A, 5)
    const live: Version = { value: 'b9', dot: { replica: B, seq: 9 }, clock: { [A]: 3, [B]: 9 } }
    const snap = snapshot({ k: 'b9' }, { k: [live] })
    const written: RecordedWrite[] = [{ type: 'put', key: 'k', value: 'b9' }]
    const logs = new Map([
      [`${B}:9`, { dot: { replica: B, seq: 9 }, clock: { [A]: 3, [B]: 9 }, removes: [{ replica: B, seq: 8 }] }],
      [`${B}:4`, { dot: { replica: B, seq: 4 }, clock: { [A]: 3, [B]: 4 }, removes: [{ replica: A, seq: 7 }] }]
    ])
    expect(checkWrites([gone], written, [snap], logs)).toMatchObject({ lost: 0, found: { superseded: 1 } })
    // The same without B:4 in any log: nothing shows B:9 is after A:5.
    logs.delete(`${B}:4`)
    expect(checkWrites([gone], written, [snap], logs).lost).toBe(1)
  })

  it('a clock without a retired replica covers it up to the retired seq, if written after the retirement', () => {
    const gone = put('k', 'a5', A, 5)
    const hlc = (wall: number): { wall: number, logical: number } => ({ wall, logical: 0 })
    const live: Version = { value: 'b2', dot: { replica: B, seq: 2 }, clock: { [B]: 2 }, hlc: hlc(200) }
    const retirement = (seq: number, at: number): Version => ({ value: { seq, term: 1 }, dot: { replica: B, seq: 1 }, clock: { [B]: 1 }, hlc: hlc(at) })
    const snap = (seq: number, at: number): WriteSnapshot => snapshot(
      { k: 'b2', [`hearsay/retired/${A}`]: { seq, term: 1 } },
      { k: [live], [`hearsay/retired/${A}`]: [retirement(seq, at)] }
    )
    const written: RecordedWrite[] = [{ type: 'put', key: 'k', value: 'b2' }]
    expect(checkWrites([gone], written, [snap(5, 100)]).lost).toBe(0)
    expect(checkWrites([gone], written, [snap(4, 100)]).lost).toBe(1)
    expect(checkWrites([gone], written, [snap(5, 300)]).lost).toBe(1)
  })

  it('finds a value no client wrote', () => {
    const phantom: Version = { value: 'ghost', dot: { replica: B, seq: 9 }, clock: { [B]: 9 } }
    const result = checkWrites([], [], [snapshot({ k: 'ghost' }, { k: [phantom] })])
    expect(result.violations).toEqual(['peer 0: k holds "ghost", which no client wrote'])
  })

  it('a counter must hold its acknowledged increments, and at most the unknown ones on top', () => {
    const acked: RecordedWrite[] = [{ type: 'counter', key: 'cnt/0', by: 2 }, { type: 'counter', key: 'cnt/0', by: 3 }]
    const maybe: RecordedWrite[] = [{ type: 'counter', key: 'cnt/0', by: 1 }]
    expect(checkWrites(acked, maybe, [snapshot({ 'cnt/0': 5 })]).violations).toEqual([])
    expect(checkWrites(acked, maybe, [snapshot({ 'cnt/0': 6 })]).violations).toEqual([])
    const low = checkWrites(acked, maybe, [snapshot({ 'cnt/0': 4 })])
    expect(low.lost).toBe(1)
    expect(low.violations[0]).toMatch(/counter cnt\/0 is 4, below the 5 acknowledged/)
    expect(checkWrites(acked, maybe, [snapshot({ 'cnt/0': 7 })]).violations[0]).toMatch(/above the 5 acknowledged plus 1 unknown/)
    expect(checkWrites(acked, [], [snapshot({})]).lost).toBe(5)
  })

  it('a set must hold every acknowledged element and nothing unwritten', () => {
    const acked: RecordedWrite[] = [{ type: 'set', key: 'set/0', element: 'w0-1' }, { type: 'set', key: 'set/0', element: 'w1-1' }]
    expect(checkWrites(acked, [], [snapshot({ 'set/0': ['w0-1', 'w1-1'] })]).violations).toEqual([])
    const missing = checkWrites(acked, [], [snapshot({ 'set/0': ['w0-1', 'w9-9'] })])
    expect(missing.lost).toBe(1)
    expect(missing.violations).toEqual([
      'peer 0: acknowledged add of "w1-1" to set/0 is missing',
      'peer 0: set set/0 holds "w9-9", which no client added'
    ])
  })

  it('a set element removed through the peer that acknowledged its add must stay removed; one only tried may be either way', () => {
    const add = (element: string, peer: number): RecordedWrite => ({ type: 'set', key: 'set/0', element, peer, receipt: { key: 'set/0', changed: true } })
    const remove = (element: string, peer: number, changed = true): RecordedWrite => ({ type: 'set-remove', key: 'set/0', element, peer, receipt: { key: 'set/0', changed } })
    const acked = [add('a', 1), add('b', 2), add('c', 3), remove('a', 1)]
    const maybe: RecordedWrite[] = [{ type: 'set-remove', key: 'set/0', element: 'b', peer: 2 }]
    // 'a' removed, 'b' maybe removed (either way is fine), 'c' kept.
    expect(checkWrites(acked, maybe, [snapshot({ 'set/0': ['c'] })]).violations).toEqual([])
    expect(checkWrites(acked, maybe, [snapshot({ 'set/0': ['b', 'c'] })]).violations).toEqual([])
    const back = checkWrites(acked, maybe, [snapshot({ 'set/0': ['a', 'c'] })])
    expect(back.lost).toBe(1)
    expect(back.violations).toEqual(['peer 0: acknowledged remove of "a" from set/0 (made on peer 1, which had acknowledged its only add) is undone: the element is back'])
    // A remove made through another peer may not have seen the add: it promises nothing.
    expect(checkWrites([add('a', 1), remove('a', 4)], [], [snapshot({ 'set/0': ['a'] })]).violations).toEqual([])
    // The peer that acknowledged the add held none of it when asked to remove it: lost.
    const gone = checkWrites([add('a', 1), remove('a', 1, false)], [], [snapshot({ 'set/0': [] })])
    expect(gone.lost).toBe(1)
    expect(gone.violations).toEqual(['peer 1 acknowledged the add of "a" to set/0 but held no add of it when asked to remove it'])
    // Without a remove, an acknowledged add must be there.
    expect(checkWrites([add('a', 1)], [], [snapshot({ 'set/0': [] })]).lost).toBe(1)
  })

  it('equal digests must give equal answers: a superseded version that came back on one peer is found', () => {
    const w: Version = { value: 'W', dot: { replica: A, seq: 3 }, clock: { [A]: 3 } }
    const y: Version = { value: 'Y', dot: { replica: A, seq: 1 }, clock: { [A]: 1 } }
    const one = { ...snapshot({ k: 'W', 'cnt/0': 3, 'hearsay/gc': 1 }, { k: [w] }), index: 0 }
    const same = { ...snapshot({ k: 'W', 'cnt/0': 3, 'hearsay/gc': 2 }, { k: [w] }), index: 1 }
    expect(checkSameAnswers([one, same])).toEqual([])
    const back = { ...snapshot({ k: 'W', 'cnt/0': 3 }, { k: [w, y] }), index: 2 }
    expect(checkSameAnswers([one, back])).toEqual([`peer 2 has other versions of k than peer 0: ${A}:1 ${A}:3 against ${A}:3`])
    const counter = { ...snapshot({ k: 'W', 'cnt/0': 4 }, { k: [w] }), index: 3 }
    expect(checkSameAnswers([one, counter])).toEqual(['peer 3 answers cnt/0 = 4, peer 0 3'])
  })

  it('a term that goes back is a violation, per peer and per source, restarts included', () => {
    const ok = new Map([[0, [{ source: 'status', term: 1, at: 0 }, { source: 'status', term: 3, at: 10 }, { source: 'leader event', term: 2, at: 11 }]]])
    expect(checkTerms(ok)).toEqual([])
    const back = new Map([[2, [{ source: 'status', term: 4, at: 0 }, { source: 'status', term: 3, at: 500 }]]])
    expect(checkTerms(back)).toEqual(['peer 2: status term went back from 4 (at 0 ms) to 3 (at 500 ms)'])
  })

  it('job runs of two peers that overlap in time are named; back-to-back runs, one peer\'s own and other jobs\' are not overlaps', () => {
    const run = (peer: string, term: number, start: number, end: number, name = 'j'): { name: string, peer: string, term: number, start: number, end: number } => ({ name, peer, term, start, end })
    expect(findOverlaps([run(A, 1, 0, 10), run(B, 2, 10, 20), run(B, 2, 20, 30), run(A, 3, 30, 40, 'other'), run(B, 2, 35, 45, 'other2')])).toEqual([])
    const long = run(A, 1, 0, 100)
    const found = findOverlaps([run(B, 2, 50, 60), long, run(A, 1, 100, 110), run(B, 2, 90, 95)])
    expect(found.map((o) => [o.a.start, o.b.start, o.ms])).toEqual([[0, 50, 10], [0, 90, 5]])
    const verdict = checkJobOverlaps([long, run(B, 2, 90, 95)])
    expect(verdict).toMatchObject({ overlaps: 1, paused: 0 })
    expect(verdict.violations).toEqual([`job j: peer ${A.slice(-6)} term 1 [0, 100] overlaps peer ${B.slice(-6)} term 2 [90, 95] by 5 ms`])
    // A's run spans a SIGSTOP of A: counted apart.
    expect(checkJobOverlaps([long, run(B, 2, 90, 95)], { pauses: new Map([[A, [{ from: 20, to: 80 }]]]) })).toEqual({ overlaps: 1, paused: 1, violations: [] })
    // A pause of A outside the run excuses nothing.
    expect(checkJobOverlaps([long, run(B, 2, 90, 95)], { pauses: new Map([[A, [{ from: 200, to: 300 }]]]) }).violations).toHaveLength(1)
  })

  it('one coordinator: all agree, with the highest term, and it is the highest-ranked peer', () => {
    const leader = { peerId: B, term: 7 }
    const agree = [{ index: 0, peerId: A, term: 7, leader }, { index: 1, peerId: B, term: 7, leader }]
    expect(checkLeader(agree, { expected: B, highestObserved: 7 })).toEqual([])
    expect(checkLeader(agree, { expected: B, highestObserved: 8 })).toEqual(['the coordinator\'s term 7 is not the highest term seen (8)'])
    expect(checkLeader(agree, { expected: A, highestObserved: 7 })[0]).toMatch(/not peer-a, the highest-ranked peer/)
    const split = [{ index: 0, peerId: A, term: 7, leader: { peerId: A, term: 6 } }, { index: 1, peerId: B, term: 7, leader }]
    expect(checkLeader(split, { expected: B, highestObserved: 7 })[0]).toMatch(/do not agree on one coordinator/)
    const none = [{ index: 0, peerId: A, term: 7, leader: undefined }, { index: 1, peerId: B, term: 7, leader: undefined }]
    expect(checkLeader(none, { expected: B, highestObserved: 7 })[0]).toMatch(/do not agree/)
  })
})

describe('the chaos runner over real processes', () => {
  it('a short seeded run loses no acknowledged write and converges', async () => {
    // Convergence time is measured, not asserted here (the 120 s runs in the issue note hold
    // it to 5 s): on a shared CI machine it only has to happen.
    const args = ['--peers', '5', '--seconds', '30', '--seed', '20240601', '--max-convergence', '60000']
    const child = spawn(process.execPath, [RUNNER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => { resolve(c) }))
    const lines = stdout.trim().split('\n')
    const verdict = JSON.parse(lines[lines.length - 1] ?? '{}') as {
      ok: boolean
      violations: string[]
      writes: { acknowledged: number, lost: number }
      faults: Record<string, number>
      convergenceMs: number
      jobs: { runs: number, overlaps: number, pausedOverlaps: number }
    }
    expect(verdict.violations, stderr.split('\n').slice(-20).join('\n')).toEqual([])
    expect(code).toBe(0)
    expect(verdict.ok).toBe(true)
    expect(verdict.writes.lost).toBe(0)
    expect(verdict.writes.acknowledged).toBeGreaterThan(100)
    expect(Object.values(verdict.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(5)
    expect(verdict.convergenceMs).toBeGreaterThan(0)
    // Every job run the peers reported was checked for overlaps (a violation above otherwise).
    expect(verdict.jobs.runs).toBeGreaterThan(10)
    expect(verdict.jobs.overlaps).toBe(0)
  }, 180_000)
})
