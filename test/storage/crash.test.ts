import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { openLog } from '../../src/storage/index.js'
import { skipRecorder, tempDir, text } from './helpers.js'
import { rewriteSet } from './fixtures/rewrite-sets.js'

const HOOKS = fileURLToPath(new URL('./fixtures/ts-hooks.mjs', import.meta.url))
const CHILD = fileURLToPath(new URL('./fixtures/append-child.ts', import.meta.url))

/** The child runs the TypeScript sources: Node must strip types and have module.registerHooks. */
function assertNodeRunsTypeScript (): void {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  if (major < 22 || (major === 22 && minor < 18)) {
    throw new Error(`the crash test runs the TypeScript sources in a child ${process.execPath} (Node ${process.versions.node}); it needs Node >= 22.18: run the tests through npx so node_modules/.bin/node is used`)
  }
}

interface CrashRun { acked: string[], stderr: string, signal: NodeJS.Signals | null }

/** Start the child, SIGKILL it once it has acknowledged `killAfter` appends, collect every ack. */
async function runUntilKilled (args: string[], killAfter: number): Promise<CrashRun> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--import', HOOKS, CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  let lines = 0
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk
    for (const char of chunk) if (char === '\n') lines++
    if (lines >= killAfter && child.exitCode === null) child.kill('SIGKILL')
  })
  child.stderr.on('data', (chunk: string) => { stderr += chunk })
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (_code, sig) => { resolve(sig) })
  }).finally(() => { clearTimeout(guard) })
  // Only whole lines count: a line cut short was printed after its append resolved, but
  // ignoring it can only make the check weaker, never wrong.
  const acked = stdout.split('\n').slice(0, -1)
  return { acked, stderr, signal }
}

async function appendUntilKilled (dir: string, policy: string, writers: number, killAfter: number): Promise<CrashRun> {
  return await runUntilKilled([dir, 'append', policy, String(writers)], killAfter)
}

async function checkEveryAckSurvived (dir: string, run: CrashRun, writers: number): Promise<void> {
  expect(run.signal, `the child should have been killed, not exited; its stderr:\n${run.stderr}`).toBe('SIGKILL')
  expect(run.acked.length).toBeGreaterThanOrEqual(300)

  const { onSkip } = skipRecorder()
  const log = await openLog(dir, 'crash', { onSkip })
  const recovered = (await log.readAll()).map(text)
  await log.close()

  // Per writer the log holds 0, 1, 2, … with no gap: order kept, nothing lost in the middle.
  const next = new Map<string, number>()
  for (const name of recovered) {
    const [writer = '', index = ''] = name.split(':')
    expect(Number(index), `record ${name}`).toBe(next.get(writer) ?? 0)
    next.set(writer, Number(index) + 1)
  }
  // And every acknowledged append is among them. (The log may hold a few more: written, then
  // killed before the child could print the ack.)
  const present = new Set(recovered)
  const missing = run.acked.filter(name => !present.has(name))
  expect(missing, `acknowledged but lost (of ${run.acked.length} acks, ${recovered.length} recovered)`).toEqual([])
  expect(next.size).toBe(writers)
}

describe('kill -9 of a real process in the middle of acknowledged appends', () => {
  it('default policy (always), one writer awaiting each append: every ack is in the log', async () => {
    assertNodeRunsTypeScript()
    const dir = await tempDir()
    const run = await appendUntilKilled(dir, 'default', 1, 400)
    await checkEveryAckSurvived(dir, run, 1)
  })

  it('default policy (always), 50 concurrent writers through group commit: every ack is in the log', async () => {
    assertNodeRunsTypeScript()
    const dir = await tempDir()
    const run = await appendUntilKilled(dir, 'default', 50, 2_000)
    await checkEveryAckSurvived(dir, run, 50)
  })

  it('policy interval also survives kill -9 of the process (the page cache outlives it)', async () => {
    assertNodeRunsTypeScript()
    const dir = await tempDir()
    const run = await appendUntilKilled(dir, 'interval', 10, 2_000)
    await checkEveryAckSurvived(dir, run, 10)
  })

  it('a log killed twice and reopened keeps everything acknowledged in both runs', async () => {
    assertNodeRunsTypeScript()
    const dir = await tempDir()
    const first = await appendUntilKilled(dir, 'default', 5, 500)
    await checkEveryAckSurvived(dir, first, 5)
    // The child restarts numbering at 0, so its second run's records repeat names: check
    // only that the first run's acks are still all there, before the second run's records.
    const second = await appendUntilKilled(dir, 'default', 5, 500)
    expect(second.signal).toBe('SIGKILL')
    const log = await openLog(dir, 'crash', skipRecorder())
    const recovered = (await log.readAll()).map(text)
    await log.close()
    const firstRunCount = recovered.findIndex((name, i) => i > 0 && name.endsWith(':0') && recovered.slice(0, i).includes(name))
    expect(firstRunCount).toBeGreaterThan(0)
    const firstRun = new Set(recovered.slice(0, firstRunCount))
    expect(first.acked.filter(name => !firstRun.has(name))).toEqual([])
    const secondRun = new Set(recovered.slice(firstRunCount))
    expect(second.acked.filter(name => !secondRun.has(name))).toEqual([])
  })

  it('kill -9 during back-to-back rewrites: the log is one whole set or the other, never a mix', async () => {
    assertNodeRunsTypeScript()
    const dir = await tempDir()
    const run = await runUntilKilled([dir, 'rewrite'], 15)
    expect(run.signal, run.stderr).toBe('SIGKILL')
    const { skips, onSkip } = skipRecorder()
    const log = await openLog(dir, 'crash', { onSkip })
    const recovered = (await log.readAll()).map(text)
    await log.close()
    const acked = run.acked.at(-1) === 'B' ? 'B' : 'A'
    const inFlight = acked === 'A' ? 'B' : 'A'
    const matches = (set: 'A' | 'B'): boolean => JSON.stringify(recovered) === JSON.stringify(rewriteSet(set).map(text))
    // The last acknowledged rewrite, or the one after it if the kill came after its rename.
    expect(matches(acked) || matches(inFlight), `recovered ${recovered.length} records starting ${recovered[0]}`).toBe(true)
    expect(skips.filter(skip => skip.kind !== 'rewrite-leftover')).toEqual([])
  })
})
