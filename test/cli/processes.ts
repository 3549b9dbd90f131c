import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url))

export interface Ran { code: number | null, stdout: string, stderr: string }

/** Runs `hearsay ARGS` to its end. */
export async function run (args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: 'pipe', env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => { resolve(c) }))
  return { code, stdout, stderr }
}

export interface StartedPeer {
  child: ChildProcessWithoutNullStreams
  started: { peerId: string, addresses: string[], api: string }
  /** Every JSON line it printed so far. */
  lines: Array<Record<string, unknown>>
  /** Asks it to stop (SIGINT) and waits for it to exit. */
  stop: () => Promise<number | null>
}

/** Starts `hearsay start --json --profile local ARGS` and resolves with its `started` line. */
export async function startPeer (args: string[]): Promise<StartedPeer> {
  const child = spawn(process.execPath, [BIN, 'start', '--json', '--profile', 'local', ...args], { stdio: 'pipe' })
  const lines: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const started = await new Promise<StartedPeer['started']>((resolve, reject) => {
    child.once('exit', (code) => { reject(new Error(`start exited with ${code}: ${stderr}`)) })
    createInterface({ input: child.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>
      lines.push(parsed)
      if (parsed.event === 'started') resolve(parsed as unknown as StartedPeer['started'])
    })
  })
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => { resolve(c) }))
    child.kill('SIGINT')
    return await exited
  }
  return { child, started, lines, stop }
}

/** A long-running `hearsay ARGS` whose output lines are collected as they come. */
export function follow (args: string[]): { child: ChildProcessWithoutNullStreams, out: string[], err: string[], stop: () => Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: 'pipe' })
  const out: string[] = []
  const err: string[] = []
  createInterface({ input: child.stdout }).on('line', (line) => { out.push(line) })
  createInterface({ input: child.stderr }).on('line', (line) => { err.push(line) })
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => { resolve(c) }))
    child.kill('SIGINT')
    return await exited
  }
  return { child, out, err, stop }
}
