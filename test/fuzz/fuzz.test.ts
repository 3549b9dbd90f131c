import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'

/**
 * The short fuzz pass that runs with `npm test`: every target of fuzz/ for its `quick` number
 * of inputs, with a fixed seed so a failure here replays with the command it prints. The long
 * runs are `npm run fuzz -- --seconds N`. Then the harness itself, on targets with planted
 * bugs: it must find them, and report them with a way to replay them.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const runner = join(root, 'fuzz', 'run.js')
const fixture = (name: string): string => join(root, 'test', 'fuzz', 'fixtures', name)
const SEED = Number(process.env.HEARSAY_FUZZ_SEED ?? 20_251_123)
const TARGETS = ['membership', 'gossip', 'anti-entropy', 'seal', 'replica-log', 'framing', 'election', 'observe', 'events', 'api', 'config', 'cli']

interface TargetResult {
  target: string
  inputs: number
  failures: number
  seed: number
  error?: string
  counterexample?: string | null
  path?: string
  replay?: string
}

interface Summary {
  seed: number
  inputs: number
  failures: number
  targets: TargetResult[]
}

interface Run {
  code: number | null
  summary: Summary
  stderr: string
}

/** Runs `node fuzz/run.js ...args` and parses the JSON line it ends with. */
async function fuzz (args: string[]): Promise<Run> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    child.on('error', reject)
    child.on('close', (code) => {
      try {
        resolve({ code, summary: JSON.parse(stdout.trim().split('\n').pop() ?? '') as Summary, stderr })
      } catch (err) {
        reject(new Error(`fuzz/run.js ${args.join(' ')} exited ${code} without a JSON summary: ${stderr.slice(-2_000)}`, { cause: err }))
      }
    })
  })
}

describe('fuzz targets, short pass', () => {
  let run: Run
  beforeAll(async () => { run = await fuzz(['--quick', '--seed', String(SEED)]) }, 120_000)

  it.each(TARGETS)('%s: every input decoded to a valid value or was refused with a typed error', (name) => {
    const result = run.summary.targets.find((t) => t.target === name)
    expect(result, `no result for ${name}`).toBeDefined()
    expect(result?.error, `${name}: ${result?.error ?? ''}\n${result?.counterexample ?? ''}\nreplay: ${result?.replay ?? ''}`).toBeUndefined()
    expect(result?.failures).toBe(0)
    expect(result?.inputs).toBeGreaterThanOrEqual(300)
    expect(result?.seed).toBe(SEED)
  })

  it('the summary adds up and the run exits 0', () => {
    expect(run.summary.targets.map((t) => t.target)).toEqual(TARGETS)
    expect(run.summary.inputs).toBe(run.summary.targets.reduce((n, t) => n + t.inputs, 0))
    expect(run.summary.failures).toBe(0)
    expect(run.code).toBe(0)
  })
})

describe('the fuzz harness', () => {
  it('finds an untyped error, shrinks it, and prints a replay that reproduces it', async () => {
    const { code, summary, stderr } = await fuzz(['--module', fixture('untyped-error.js'), '--runs', '5000', '--seed', '7'])
    expect(code).toBe(1)
    expect(summary.failures).toBe(1)
    const [result] = summary.targets
    expect(result?.error).toMatch(/untyped error: SyntaxError/)
    expect(result?.counterexample).toBe('701')
    expect(result?.replay).toContain('--seed 7 --path ')
    expect(stderr).toContain('FAILED')
    const replay = await fuzz(['--module', fixture('untyped-error.js'), '--seed', '7', '--path', result?.path ?? '', '--runs', '1'])
    expect(replay.code).toBe(1)
    expect(replay.summary.targets[0]?.counterexample).toBe('701')
  })

  it('kills a target stuck on one input and reports a hang', async () => {
    const { code, summary } = await fuzz(['--module', fixture('hang.js'), '--runs', '100000', '--seed', '3', '--hang-seconds', '3'])
    expect(code).toBe(1)
    expect(summary.targets[0]?.error).toMatch(/^hang: no progress for 3 s/)
    expect(summary.targets[0]?.replay).toContain('--seed 3')
  })

  it('catches a seal check that lets forged or tampered batches through', async () => {
    const { code, summary } = await fuzz(['--module', fixture('forged-seal.js'), '--runs', '2000', '--seed', '9'])
    expect(code).toBe(1)
    expect(summary.targets[0]?.error).toMatch(/opened with a signature its author never made|against the record its author sealed there|a tree of \d+ leaves; its author sealed/)
  })

  it('catches a decoder that allocates what a length field claims', async () => {
    const { code, summary } = await fuzz(['--module', fixture('allocation.js'), '--runs', '2000', '--seed', '5'])
    expect(code).toBe(1)
    expect(summary.targets[0]?.error).toMatch(/^memory grew by \d+\.\d MiB on one input/)
  })
})
