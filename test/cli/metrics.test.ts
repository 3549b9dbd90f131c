import { describe, it, expect, afterEach } from 'vitest'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const BIN = fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url))
let child: ChildProcessWithoutNullStreams | undefined
let dir: string | undefined

afterEach(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL')
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('hearsay start serves process metrics', () => {
  it('/metrics has prom-client\'s process_* and nodejs_* series beside libp2p\'s and hearsay\'s', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearsay-metrics-'))
    const data = join(dir, 'peer')
    const proc = spawn(process.execPath, [BIN, 'start', '--json', '--profile', 'local', '--data', data], { stdio: 'pipe' })
    child = proc
    let stderr = ''
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const started = await new Promise<{ api: string }>((resolve, reject) => {
      createInterface({ input: proc.stdout }).on('line', (line) => {
        const parsed = JSON.parse(line) as { event?: string, api?: string }
        if (parsed.event === 'started' && typeof parsed.api === 'string') resolve({ api: parsed.api })
      })
      proc.once('exit', (code) => { reject(new Error(`exited ${code} before starting: ${stderr}`)) })
    })
    const token = (await readFile(join(data, 'api.token'), 'utf8')).trim()
    const response = await fetch(`${started.api}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    const text = await response.text()
    for (const series of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'hearsay_writes_total']) {
      expect(text).toMatch(new RegExp(`^${series}[ {]`, 'm'))
    }
    proc.kill('SIGINT')
    expect(await new Promise((resolve) => { proc.once('exit', (code) => { resolve(code) }) })).toBe(0)
  })
})
