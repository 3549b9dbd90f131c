import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { startApi, createToken, type RunningApi } from '../../src/api/index.js'
import { EVENTS_PART, type QueryResult, type UserEvent } from '../../src/events/index.js'
import { protocolId } from '../../src/net/index.js'

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

describe('hearsay event, query and watch --events against a three-peer cluster (the CLI as a real process)', () => {
  let cluster: Cluster
  let api: RunningApi
  let env: Record<string, string>
  const received: UserEvent[][] = [[], [], []]
  beforeAll(async () => {
    cluster = await createCluster({ size: 3 })
    cluster.peers.forEach((peer, i) => { peer.events.addEventListener('user', (e) => { received[i]!.push(e.detail) }) })
    await cluster.converged({ timeout: 30_000 })
    const topic = protocolId(cluster.network, EVENTS_PART)
    const deadline = Date.now() + 20_000
    while (!cluster.peers.every((p) => (p.net.gossipMesh().find((t) => t.topic === topic)?.peers.length ?? 0) === 2)) {
      if (Date.now() > deadline) throw new Error('the peers did not all mesh on the events topic in 20 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    api = await startApi(cluster.peers[0]!, { token: TOKEN, logger: false })
    env = { HEARSAY_API: api.url, HEARSAY_TOKEN: TOKEN }
  }, 60_000)
  afterAll(async () => {
    await api?.close()
    await cluster?.stop()
  })

  it('event NAME PAYLOAD reaches every member once; --json prints the receipt, the table a sentence', async () => {
    const json = await run(['event', 'deploy', '{"version":3}', '--json'], env)
    expect(json.code).toBe(0)
    const receipt = JSON.parse(json.stdout) as { id: string, name: string, recipients: number }
    expect(receipt).toMatchObject({ name: 'deploy', recipients: 2 })
    await expect.poll(() => received.map((r) => r.filter((e) => e.id === receipt.id).length), { timeout: 10_000 }).toEqual([1, 1, 1])
    expect(received[2]!.find((e) => e.id === receipt.id)).toMatchObject({ payload: { version: 3 }, from: cluster.peers[0]!.peerId })

    const human = await run(['event', 'restart', 'web server'], env)
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^ok: event restart sent \(id [0-9a-f]{32}\), handed to 2 peers; every member gets it once$/m)
    await expect.poll(() => received[1]!.some((e) => e.name === 'restart' && e.payload === 'web server'), { timeout: 10_000 }).toBe(true)
    const bare = await run(['event', 'ping', '--json'], env)
    expect(bare.code).toBe(0)
    await expect.poll(() => received[2]!.find((e) => e.name === 'ping')?.payload, { timeout: 10_000 }).toBeNull()
  })

  it('query NAME gathers the answers and names who did not answer', async () => {
    const offs = [0, 1].map((i) => cluster.peers[i]!.events.onQuery('load', (payload) => ({ peer: i, asked: payload })))
    try {
      const json = await run(['query', 'load', '{"detail":true}', '--timeout', '1500', '--json'], env)
      expect(json.code).toBe(0)
      const result = JSON.parse(json.stdout) as QueryResult
      expect(result.responses.map((r) => r.peerId).sort()).toEqual([cluster.peers[0]!.peerId, cluster.peers[1]!.peerId].sort())
      expect(result.responses.find((r) => r.peerId === cluster.peers[1]!.peerId)).toEqual({ peerId: cluster.peers[1]!.peerId, payload: { peer: 1, asked: { detail: true } } })
      expect(result.missing).toEqual([cluster.peers[2]!.peerId])

      const human = await run(['query', 'load', '--timeout', '1000'], env)
      expect(human.code).toBe(0)
      expect(human.stdout).toMatch(/PEER\s+ANSWER/)
      expect(human.stdout).toContain(`${cluster.peers[1]!.peerId}  {"peer":1,"asked":null}`)
      expect(human.stdout).toContain(`2 answered; no answer from 1: ${cluster.peers[2]!.peerId}`)
    } finally {
      for (const off of offs) off()
    }
  })

  it('watch --events --type user prints each user event as it comes, one JSON line each, until Ctrl-C', async () => {
    const child = spawn(process.execPath, [BIN, 'watch', '--events', '--type', 'user', '--json'], { stdio: 'pipe', env: { ...process.env, ...env } })
    children.push(child)
    const lines: string[] = []
    createInterface({ input: child.stdout }).on('line', (line) => { lines.push(line) })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
    await expect.poll(() => api.app.hearsay.streamStats().clients, { timeout: 10_000 }).toBe(1)
    const first = await cluster.peers[2]!.events.publish('watched', { n: 1 })
    const second = await cluster.peers[1]!.events.publish('watched', 'two')
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(2)
    const typed = lines.map((l) => JSON.parse(l) as UserEvent & { type: string })
    expect(typed.map((e) => e.type)).toEqual(['user', 'user'])
    const events = typed.map(({ type: _, ...event }) => event as UserEvent).sort((a, b) => a.at - b.at)
    expect(events.map((e) => e.id).sort()).toEqual([first.id, second.id].sort())
    expect(events.find((e) => e.id === first.id)).toEqual({ name: 'watched', payload: { n: 1 }, from: cluster.peers[2]!.peerId, id: first.id, at: first.at })
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  })

  it('watch --events --type user without --json prints one line per event after saying what it watches', async () => {
    const child = spawn(process.execPath, [BIN, 'watch', '--events', '--type', 'user'], { stdio: 'pipe', env: { ...process.env, ...env } })
    children.push(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    await expect.poll(() => stderr, { timeout: 10_000 }).toMatch(/following user events of http/)
    await cluster.peers[0]!.events.publish('human', { ok: true })
    await expect.poll(() => stdout, { timeout: 10_000 }).toMatch(/^\d\d:\d\d:\d\d\.\d{3} human from …\S{12}: \{"ok":true\}$/m)
    child.kill('SIGINT')
  })

  it('bad input: usage errors exit 2, refused events and queries exit 1 with one line and the code', async () => {
    for (const args of [['event'], ['query'], ['query', 'load', '--timeout', '0'], ['query', 'load', '--timeout', '60001'],
      ['query', 'load', '--timeout', 'soon'], ['watch', 'prefix/', '--events']]) {
      const result = await run(args, env)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).not.toBe('')
    }
    const badName = await run(['event', 'a b'], env)
    expect(badName.code).toBe(1)
    expect(badName.stderr.trim().split('\n')).toHaveLength(1)
    expect(badName.stderr).toMatch(/ERR_INVALID_EVENT_NAME/)
    const big = await run(['event', 'big', 'x'.repeat(70 * 1024)], env)
    expect(big.code).toBe(1)
    expect(big.stderr).toMatch(/over the limit of 65536.*ERR_EVENT_TOO_LARGE/)
    const nowhere = await run(['event', 'x'], { HEARSAY_API: 'http://127.0.0.1:9', HEARSAY_TOKEN: TOKEN })
    expect(nowhere.code).toBe(1)
    expect(nowhere.stderr).toMatch(/cannot reach the peer's API/)
  })

  it('help lists the commands and their options', async () => {
    const help = await run(['--help'], env)
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/event \[options\] <name> \[payload\]/)
    expect(help.stdout).toMatch(/query \[options\] <name> \[payload\]/)
    const query = await run(['query', '--help'], env)
    expect(query.stdout).toMatch(/--timeout <ms>/)
    expect(query.stdout).toMatch(/--json/)
    const watch = await run(['watch', '--help'], env)
    expect(watch.stdout).toMatch(/--events/)
  })
})
