import { describe, it, expect } from 'vitest'
import { createRng, createWriter, soakSchedule, type Fault, type WriteOp } from '../../chaos/schedule.js'
import { checkLogBound, checkRssGrowth, type LogSample, type RssSample } from '../../chaos/check.js'

const MB = 1024 * 1024

/** One process sampled every `every` ms from `from` to `to`, its RSS given by `rss(at)` in MB. */
function process (n: number, startedAt: number, from: number, to: number, every: number, rss: (at: number) => number): RssSample[] {
  const out: RssSample[] = []
  for (let at = from; at <= to; at += every) out.push({ at, process: n, startedAt, rss: rss(at) * MB })
  return out
}

const WINDOW = { fromMs: 600_000, warmupMs: 600_000, minSpanMs: 600_000, maxGrowth: 0.1 }

describe('soak schedule', () => {
  it('alternates kills and partitions, each followed by its repair, never overlapping, all over before the end', () => {
    for (let seed = 0; seed < 200; seed++) {
      const faults: Fault[] = soakSchedule(createRng(seed), { peers: 5, durationMs: 3_600_000, everyMs: 180_000, downMs: 30_000 })
      expect(faults.length % 2).toBe(0)
      expect(faults.length / 2).toBeGreaterThanOrEqual(15)
      let last = 0
      for (let i = 0; i < faults.length; i += 2) {
        const [fault, repair] = [faults[i]!, faults[i + 1]!]
        expect(fault.at).toBeGreaterThan(last)
        expect(repair.at - fault.at).toBe(30_000)
        expect(repair.at).toBeLessThan(3_600_000)
        if (fault.action === 'kill') expect(repair).toEqual({ at: repair.at, action: 'restart', peer: fault.peer })
        else if (fault.action === 'partition') {
          expect(repair).toEqual({ at: repair.at, action: 'heal' })
          expect(fault.groups.flat().sort()).toEqual([0, 1, 2, 3, 4])
        } else throw new Error(`unexpected fault ${fault.action}`)
        if (i > 0) expect(fault.action).not.toBe(faults[i - 2]!.action)
        last = repair.at
      }
    }
    expect(JSON.stringify(soakSchedule(createRng(7), { peers: 5, durationMs: 120_000, everyMs: 30_000, downMs: 10_000 })))
      .toBe(JSON.stringify(soakSchedule(createRng(7), { peers: 5, durationMs: 120_000, everyMs: 30_000, downMs: 10_000 })))
    expect(() => soakSchedule(createRng(1), { peers: 5, durationMs: 60_000, everyMs: 10_000, downMs: 9_000 })).toThrow(/before the next/)
  })

  it('a writer with keepElements removes its oldest acknowledged adds, each through the peer that acknowledged it while that peer is live', () => {
    const writer = createWriter(createRng(5), 'w0', { keepElements: 3 })
    const ackedBy = new Map<string, number>()
    const removed: string[] = []
    const added: string[] = []
    let live = [0, 1, 2]
    for (let i = 0; i < 600; i++) {
      // Adds are acknowledged by peer 1, then by peer 2, which goes down at 400.
      if (i === 400) live = [0, 1]
      const op = writer.next(live)
      if (op.type === 'set') {
        added.push(op.element)
        ackedBy.set(op.element, i < 300 ? 1 : 2)
        writer.acknowledged(op, ackedBy.get(op.element)!)
      }
      if (op.type === 'set-remove') {
        expect(op.peer).toBe(ackedBy.get(op.element))
        expect(live).toContain(op.peer)
        expect(removed).not.toContain(op.element)
        removed.push(op.element)
      }
      // While every peer is up, at most keepElements + 1 of its adds are kept.
      if (i < 400) expect(added.length - removed.length).toBeLessThanOrEqual(4)
    }
    expect(removed.length).toBeGreaterThan(30)
    // Oldest first.
    expect(removed).toEqual(added.slice(0, removed.length))
    // Once peer 2 is down, its elements stay and new adds pile up until it is back.
    expect(added.length - removed.length).toBeGreaterThan(10)
    // Without keepElements: no removes at all.
    const plain = createWriter(createRng(5), 'w0')
    for (let i = 0; i < 200; i++) {
      const op = plain.next([0, 1])
      expect(op.type).not.toBe('set-remove')
      if (op.type === 'set') plain.acknowledged(op, 0)
    }
  })
})

describe('soak checks: memory', () => {
  it('passes a flat process and finds one that grows over 10 % from minute 10 to the end', () => {
    // The flat one grows during its first 5 minutes only (start-up), before the window opens.
    const flat = process(1, 0, 0, 3_600_000, 60_000, (at) => at < 300_000 ? 100 + at / 30_000 : 110)
    const leaking = process(1, 0, 0, 3_600_000, 60_000, (at) => 110 + at / 150_000)
    const slow = process(1, 0, 0, 3_600_000, 60_000, (at) => 110 + at / 300_000)
    const result = checkRssGrowth(new Map([[0, flat], [1, leaking], [2, slow]]), WINDOW)
    expect(result.checked).toBe(3)
    expect(result.peers[0]!.processes[0]).toMatchObject({ checked: true, fromMs: 600_000, toMs: 3_600_000, samples: 51, baselineMb: 110, endMb: 110, growthPct: 0 })
    expect(result.peers[1]!.processes[0]).toMatchObject({ checked: true, baselineMb: 114.4, endMb: 133.6, growthPct: 16.8 })
    expect(result.peers[2]!.processes[0]).toMatchObject({ checked: true, baselineMb: 112.2, endMb: 121.8, growthPct: 8.6 })
    expect(result.violations).toEqual(['peer 1 (process 1): RSS grew 16.8 % from 114.4 MB (600 s) to 133.6 MB (3600 s), over 10 %'])
  })

  it('measures a restarted process from its own warm-up on, and skips one whose window is too short', () => {
    // Killed at minute 15 (window 10..15: too short), restarted at 16: measured from 26 on.
    const first = process(1, 0, 0, 900_000, 60_000, () => 100)
    const second = process(2, 960_000, 960_000, 3_600_000, 60_000, (at) => at < 1_560_000 ? 60 + (at - 960_000) / 15_000 : 100 + (at - 1_560_000) / 200_000)
    const result = checkRssGrowth(new Map([[0, [...first, ...second]]]), WINDOW)
    const [a, b] = result.peers[0]!.processes
    expect(a).toMatchObject({ process: 1, checked: false, fromMs: 600_000, toMs: 900_000 })
    // The restart's warm-up (60 → 100 MB) is not growth; 100 → 110 MB after it is 10 %, within the bound... just.
    expect(b).toMatchObject({ process: 2, checked: true, fromMs: 1_560_000 })
    expect(b!.growthPct).toBeLessThanOrEqual(10)
    expect(result.violations).toEqual([])
    expect(result.checked).toBe(1)
  })

  it('a check that covered no process fails', () => {
    const short = process(1, 0, 0, 700_000, 60_000, () => 100)
    expect(checkRssGrowth(new Map([[0, short]]), WINDOW).violations).toEqual([
      'the RSS growth check covered no process: none ran 600 s past its warm-up with 6 samples'
    ])
  })
})

describe('soak checks: the log against what is held', () => {
  const sample = (at: number, held: number, logRecords: number, compactions: number, proc = 1): LogSample => ({ at, process: proc, held, logRecords, logBytes: logRecords * 600, compactions })

  it('passes a log that compaction keeps near what is held, and counts compactions over restarts', () => {
    const rows = [sample(0, 10, 12, 0), sample(60_000, 150, 190, 4), sample(120_000, 160, 170, 9), sample(180_000, 150, 160, 2, 2)]
    const result = checkLogBound(new Map([[0, rows]]), { maxRatio: 2, slack: 50 })
    expect(result.violations).toEqual([])
    expect(result.peers[0]).toMatchObject({ index: 0, compactions: 11, samples: 4, worstRatio: { ratio: 1.27, atS: 60, held: 150, logRecords: 190 } })
  })

  it('finds a log that grows with the writes rather than with what is held, and a peer that never compacted', () => {
    const growing = Array.from({ length: 10 }, (_, i) => sample(i * 60_000, 150, 150 + i * 100, 0))
    const result = checkLogBound(new Map([[3, growing]]), { maxRatio: 2, slack: 50 })
    expect(result.violations[0]).toBe('peer 3 at 180 s: its log has 450 write records (270000 bytes) for 150 held, over 2 × held + 50')
    expect(result.violations).toContain('peer 3: 4 more samples over the log bound')
    expect(result.violations.at(-1)).toBe('peer 3 never compacted its log (10 samples)')
    // A sample without what the peer holds (it did not answer) is left out, not counted as a pass.
    const silent = checkLogBound(new Map([[0, [{ at: 0, process: 1, logRecords: 900, logBytes: 1 }]]]), { maxRatio: 2, slack: 50 })
    expect(silent.peers[0]).toMatchObject({ samples: 0, worstRatio: null })
  })
})
