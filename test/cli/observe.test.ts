import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { startApi, createToken, type RunningApi } from '../../src/api/index.js'
import type { ConvergenceReport, TraceReport } from '../../src/index.js'
import { configFromEnv } from '../../src/cli/config.js'

const BIN = fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url))
const TOKEN = createToken()
const children: ChildProcessWithoutNullStreams[] = []

async function run (args: string[], env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: 'pipe', env: { ...process.env, ...env } })
  children.push(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => { resolve(c) }))
  return { code, stdout, stderr }
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

describe('hearsay trace and status against a three-peer cluster (the CLI as a real process)', () => {
  let cluster: Cluster
  let api: RunningApi
  let env: Record<string, string>
  beforeAll(async () => {
    cluster = await createCluster({ size: 3 })
    await cluster.converged({ timeout: 30_000 })
    api = await startApi(cluster.peers[0]!, { token: TOKEN, logger: false })
    env = { HEARSAY_API: api.url, HEARSAY_TOKEN: TOKEN }
  }, 60_000)
  afterAll(async () => {
    await api?.close()
    await cluster?.stop()
  })

  it('trace KEY: every peer, its path and delay, as JSON and as a table', async () => {
    const receipt = await cluster.peers[2]!.kv.put('cli/traced', 'x')
    await cluster.converged({ timeout: 15_000 })
    const json = await run(['trace', 'cli/traced', '--json'], env)
    expect(json.code).toBe(0)
    const trace = JSON.parse(json.stdout) as TraceReport
    expect(trace).toMatchObject({ key: 'cli/traced', dot: receipt.dot, complete: true })
    expect(trace.peers).toHaveLength(3)

    const human = await run(['trace', 'cli/traced', '--timeout', '1500'], env)
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/PEER\s+STATUS\s+PATH\s+FROM\s+APPLIED AT\s+AFTER/)
    expect(human.stdout).toContain(`${cluster.peers[2]!.peerId} (author)`)
    expect(human.stdout).toMatch(/local\s+itself/)
    expect(human.stdout).toMatch(/every peer asked \(3\) had it \d+ ms after it was made/)
  })

  it('trace of a key never written: exit 1 with the code; a bad --timeout is a usage error', async () => {
    const missing = await run(['trace', 'cli/never'], env)
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)
    expect(missing.stderr).toMatch(/ERR_NO_TRACE/)
    expect((await run(['trace', 'k', '--timeout', 'soon'], env)).code).toBe(2)
  })

  it('status shows convergence: JSON has the report, the table says whether it converged', async () => {
    await cluster.peers[1]!.kv.put('cli/status', 1)
    await cluster.converged({ timeout: 15_000 })
    await expect.poll(() => cluster.peers[0]!.observe.convergence().converged, { timeout: 15_000 }).toBe(true)
    const json = await run(['status', '--json'], env)
    expect(json.code).toBe(0)
    const status = JSON.parse(json.stdout) as { peerId: string, convergence: ConvergenceReport }
    expect(status.peerId).toBe(cluster.peers[0]!.peerId)
    expect(status.convergence.members).toHaveLength(3)
    const human = await run(['status'], env)
    expect(human.stdout).toMatch(/^converged: (yes|no)/m)
    expect(human.stdout).toMatch(/MEMBER\s+STATE\s+LAG\s+OLDEST MISSING\s+IN SYNC\s+LAST REPORT/)
    for (const peer of cluster.peers.slice(1)) expect(human.stdout).toContain(peer.peerId)
  })
})

describe('hearsay cluster', () => {
  it('prints the dashboard URL of each peer, and each serves the page', async () => {
    const child = spawn(process.execPath, [BIN, 'cluster', '--peers', '2'], { stdio: 'pipe' })
    children.push(child)
    const urls: string[] = []
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => { reject(new Error(`cluster exited with ${code}`)) })
      createInterface({ input: child.stdout }).on('line', (line) => {
        const match = /^\s+peer (\d+): (http:\/\/127\.0\.0\.1:\d+\/)#token=([0-9a-f]{64})$/.exec(line)
        if (match !== null) urls.push(match[2]!)
        if (urls.length === 2) resolve()
      })
    })
    expect(new Set(urls).size).toBe(2)
    for (const url of urls) {
      const page = await fetch(url)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('hearsay dashboard')
    }
    child.kill('SIGINT')
    expect(await new Promise((resolve) => child.once('exit', (code) => { resolve(code) }))).toBe(0)
  }, 60_000)
})

describe('--otlp', () => {
  it('takes only an http(s) URL, from the flag or HEARSAY_OTLP', async () => {
    const bad = await run(['start', '--memory', '--otlp', 'ftp://127.0.0.1:4318'], {})
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--otlp must be an http(s) URL')
    expect(configFromEnv({ HEARSAY_OTLP: 'http://127.0.0.1:4318' }).otlp).toBe('http://127.0.0.1:4318')
    expect(() => configFromEnv({ HEARSAY_OTLP: 'collector' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }))
  })
})
