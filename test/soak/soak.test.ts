import { describe, it, expect } from 'vitest'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SOAK = fileURLToPath(new URL('../../chaos/soak.js', import.meta.url))

interface Verdict {
  ok: boolean
  violations: string[]
  dataDir?: string
  writes: { acknowledged: number, lost: number, setAdds: number, setRemoves: number, increments: number, puts: number }
  faults: Record<string, number>
  convergenceMs: number
  memory: { checkedProcesses: number, windowFromS: number, peers: Array<{ index: number, rssMb: Array<number | null>, processes: Array<{ checked: boolean, growthPct?: number }> }> }
  log: { compactions: number, peers: Array<{ index: number, compactions: number, samples: number, final: { held: number, logRecords: number } | null }> }
}

describe('the soak over real processes', () => {
  it('two minutes of steady writes with faults: nothing lost, converged, RSS bounded, the log compacted and bounded', async () => {
    // The 60-minute soak scaled to 2: the RSS window opens at a sixth of the run (20 s instead
    // of minute 10), a restarted process is measured from 20 s after its start, and samples
    // come every 5 s instead of every minute. Faults every ~30 s for 10 s (a kill and a
    // partition at least). Convergence time is measured, not held to 5 s here: on a shared
    // CI machine it only has to happen. RSS may grow by half at most: a window that opens 20 s
    // after start is still inside the warm-up (compiled code, the heap sizing itself, the first
    // compactions and catch-ups), where 20-25 % was seen on CI; it catches a leak of megabytes
    // a second, and the 10 % bound is the hour-long soak's (`npm run soak -- --minutes 60`).
    const args = ['--minutes', '2', '--peers', '5', '--seed', '20240601', '--max-convergence', '60000', '--max-growth', '50']
    const child = spawn(process.execPath, [SOAK, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => { resolve(c) }))
    const lines = stdout.trim().split('\n')
    const verdict = JSON.parse(lines[lines.length - 1] ?? '{}') as Verdict
    expect(verdict.violations, `${verdict.dataDir ?? ''}\n${stderr.split('\n').slice(-20).join('\n')}`).toEqual([])
    expect(code).toBe(0)
    expect(verdict.ok).toBe(true)
    expect(verdict.writes.lost).toBe(0)
    // 10 writes/s for 2 minutes, every kind.
    expect(verdict.writes.acknowledged).toBeGreaterThan(600)
    for (const kind of ['puts', 'increments', 'setAdds', 'setRemoves'] as const) expect(verdict.writes[kind], kind).toBeGreaterThan(20)
    expect(verdict.faults.kill).toBeGreaterThanOrEqual(1)
    expect(verdict.faults.restart).toBe(verdict.faults.kill)
    expect(verdict.faults.partition).toBeGreaterThanOrEqual(1)
    expect(verdict.convergenceMs).toBeGreaterThan(0)
    // The memory check measured processes over the window, every peer sampled all along.
    expect(verdict.memory.windowFromS).toBe(20)
    expect(verdict.memory.checkedProcesses).toBeGreaterThanOrEqual(3)
    for (const peer of verdict.memory.peers) expect(peer.rssMb.filter((v) => v !== null).length).toBeGreaterThan(15)
    // Every peer compacted its log, and at the end holds about what its log has.
    for (const peer of verdict.log.peers) {
      expect(peer.compactions, `peer ${peer.index}`).toBeGreaterThan(0)
      expect(peer.final!.held).toBeGreaterThan(0)
      expect(peer.final!.logRecords).toBeLessThanOrEqual(2 * peer.final!.held + 50)
    }
  }, 240_000)
})
