import { describe, it, expect, afterEach } from 'vitest'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const BIN = fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url))
const children: ChildProcessWithoutNullStreams[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
  await Promise.all(dirs.splice(0).map(async (d) => rm(d, { recursive: true, force: true })))
})

interface Line { event: string, [k: string]: unknown }

/** A `hearsay start --json` process and the JSON lines it prints. */
function startPeer (args: string[]): { child: ChildProcessWithoutNullStreams, next: (event: string, match?: (l: Line) => boolean) => Promise<Line> } {
  const child = spawn(process.execPath, [BIN, 'start', '--json', '--profile', 'local', ...args], { stdio: 'pipe' })
  children.push(child)
  const seen: Line[] = []
  let stderr = ''
  const waiters: Array<() => void> = []
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  createInterface({ input: child.stdout }).on('line', (line) => {
    seen.push(JSON.parse(line) as Line)
    for (const w of waiters.splice(0)) w()
  })
  child.once('exit', () => { for (const w of waiters.splice(0)) w() })
  const next = async (event: string, match: (l: Line) => boolean = () => true): Promise<Line> => {
    // Well inside the test's timeout, so a miss says what the process printed instead.
    const deadline = Date.now() + 40_000
    while (true) {
      const found = seen.find((l) => l.event === event && match(l))
      if (found !== undefined) return found
      const printed = (): string => `; it printed:\n${seen.slice(-15).map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${stderr}`
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before printing ${event}${printed()}`)
      if (Date.now() > deadline) throw new Error(`no ${event} line within 40 s${printed()}`)
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        setTimeout(resolve, 1_000)
      })
    }
  }
  return { child, next }
}

/** The exit code, or the name of the signal that ended the process. */
async function exitOf (child: ChildProcessWithoutNullStreams): Promise<number | string | null> {
  if (child.exitCode !== null) return child.exitCode
  if (child.signalCode !== null) return child.signalCode
  return new Promise((resolve) => child.once('exit', (code, signal) => { resolve(code ?? signal) }))
}

async function run (args: string[], nodeArgs: string[] = []): Promise<{ code: number | string | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], { stdio: 'pipe' })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await exitOf(child)
  return { code, stdout, stderr }
}

describe('hearsay start (real processes)', () => {
  it('two processes join, see each other, and a graceful Ctrl-C is seen as left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-cli-'))
    dirs.push(dir)
    const a = startPeer(['--data', join(dir, 'a')])
    const started = await a.next('started')
    const addresses = started.addresses as string[]
    expect(addresses[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    const b = startPeer(['--data', join(dir, 'b'), '--bootstrap', addresses[0]!])
    const bStarted = await b.next('started')
    await a.next('join', (l) => l.peerId === bStarted.peerId)
    await b.next('join', (l) => l.peerId === started.peerId)
    b.child.kill('SIGINT')
    expect(await exitOf(b.child)).toBe(0)
    const leave = await a.next('leave', (l) => l.peerId === bStarted.peerId)
    expect(leave.state).toBe('left')

    // Same data dir → same identity after a restart.
    const again = startPeer(['--data', join(dir, 'b'), '--bootstrap', addresses[0]!])
    expect((await again.next('started')).peerId).toBe(bStarted.peerId)
    await a.next('join', (l) => l.peerId === bStarted.peerId && l.members === 2)
  })

  it('a peer process runs with its memory flags (small young generation, optimized for size, two malloc arenas); a flag the user gave is kept', async () => {
    const flagsOf = async (pid: number): Promise<{ argv: string[], arenas: string | undefined }> => {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '')
      const env = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0')
      return { argv, arenas: env.find((e) => e.startsWith('MALLOC_ARENA_MAX='))?.split('=')[1] }
    }
    const a = startPeer(['--memory'])
    await a.next('started')
    // The process replaced itself (same pid) before it printed anything.
    const own = await flagsOf(a.child.pid!)
    expect(own.argv).toContain('--max-semi-space-size=2')
    expect(own.argv).toContain('--optimize-for-size')
    expect(own.arenas).toBe('2')

    const chosen = spawn(process.execPath, ['--max-semi-space-size=8', '--no-optimize-for-size', BIN, 'start', '--json', '--profile', 'local', '--memory'], { stdio: 'pipe' })
    children.push(chosen)
    await new Promise<void>((resolve, reject) => {
      chosen.once('exit', (code) => { reject(new Error(`start exited with ${code}`)) })
      createInterface({ input: chosen.stdout }).on('line', (line) => { if ((JSON.parse(line) as Line).event === 'started') resolve() })
    })
    const theirs = await flagsOf(chosen.pid!)
    expect(theirs.argv).toContain('--max-semi-space-size=8')
    expect(theirs.argv).toContain('--no-optimize-for-size')
    expect(theirs.argv).not.toContain('--max-semi-space-size=2')
    expect(theirs.argv).not.toContain('--optimize-for-size')
  })

  it('refuses bad flags with exit code 2 and a one-line message', async () => {
    const result = await run(['start', '--priority', 'high'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--priority must be a whole number/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('a bad bootstrap address is a one-line failure with exit code 1', async () => {
    const result = await run(['start', '--memory', '--bootstrap', 'nonsense'])
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/not a valid multiaddr.*ERR_INVALID_MULTIADDR/)
  })

  it('on Node older than 22 it prints one line and exits 1', async () => {
    const pretend20 = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})'
    const result = await run(['start'], ['--import', pretend20])
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/needs Node\.js 22 or newer, but this is Node 20\.20\.2/)
  })
})
