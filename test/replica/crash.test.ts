import { describe, it, expect, afterEach } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPeer, type Peer } from '../../src/index.js'

const WRITER = fileURLToPath(new URL('./fixtures/writer.mjs', import.meta.url))
const DIST = fileURLToPath(new URL('../../dist/src/index.js', import.meta.url))
const dirs: string[] = []
const children: ChildProcess[] = []
let peer: Peer | undefined

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  await peer?.stop()
  peer = undefined
  await Promise.all(dirs.splice(0).map(async (d) => rm(d, { recursive: true, force: true })))
})

/** Runs the writer until it has acknowledged `acks` writes, then SIGKILLs it mid-stream. */
async function writeAndKill (dataDir: string, startAt: number, acks: number): Promise<{ acked: number[], peerId: string }> {
  const child = spawn(process.execPath, [WRITER, dataDir, String(startAt)], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  const acked: number[] = []
  let peerId = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => { reject(new Error(`writer exited (${code}) after ${acked.length} acks`)) })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const [word, value] = line.split(' ')
      if (word === 'ready') peerId = value!
      if (word === 'ack') acked.push(Number(value))
      if (acked.length === acks) {
        child.kill('SIGKILL')
        resolve()
      }
    })
  })
  await exited
  return { acked, peerId }
}

describe('a peer process killed with SIGKILL mid-stream', () => {
  it('has every write it acknowledged after a restart, twice over, and never reuses a seq', async () => {
    expect(existsSync(DIST), 'run `npm test` (it builds dist/ first)').toBe(true)
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-crash-'))
    dirs.push(dir)
    const first = await writeAndKill(dir, 0, 400)
    const second = await writeAndKill(dir, 100_000, 300)
    expect(second.peerId).toBe(first.peerId)

    peer = await createPeer({ dataDir: dir, profile: 'local', network: 'crash-test' })
    await peer.start()
    const missing = [...first.acked, ...second.acked].filter((i) => peer!.kv.get(`k${i}`) === undefined)
    expect(missing).toEqual([])
    for (const i of [...first.acked, ...second.acked]) expect(peer.kv.get(`k${i}`)).toEqual({ i })
    // Every key holds exactly one version: no two writes ever shared a dot.
    const dots = new Set<string>()
    for (const { key } of peer.kv.list('k')) {
      for (const v of peer.kv.versions(key)) {
        const dot = `${v.dot.replica}/${v.dot.seq}`
        expect(dots.has(dot)).toBe(false)
        dots.add(dot)
      }
    }
    const next = await peer.kv.put('after', true)
    expect(dots.has(`${next.dot.replica}/${next.dot.seq}`)).toBe(false)
  }, 120_000)
})
