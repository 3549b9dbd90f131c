import { describe, it, expect, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, startPeer, type StartedPeer } from './processes.js'

const dirs: string[] = []
const peers: StartedPeer[] = []
afterAll(async () => {
  for (const p of peers) await p.stop()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

interface M { peerId: string, state: string, tags: Record<string, string>, self: boolean }

describe('membership commands (real processes)', () => {
  it('join, tags set/delete, members filters, force-leave and leave', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-cli-members-'))
    dirs.push(dir)
    const network = ['--network', `cli-${process.pid}`]
    const a = await startPeer([...network, '--data', join(dir, 'a'), '--tag', 'zone=a'])
    const b = await startPeer([...network, '--data', join(dir, 'b')])
    const c = await startPeer([...network, '--data', join(dir, 'c')])
    peers.push(a, b, c)
    const da = ['--data', join(dir, 'a')]
    const members = async (...args: string[]): Promise<M[]> => JSON.parse((await run(['members', ...da, '--json', ...args])).stdout) as M[]

    const joined = await run(['join', b.started.addresses[0]!, c.started.addresses[0]!, ...da])
    expect(joined.code).toBe(0)
    expect(joined.stdout).toContain('joined through 2 of 2')
    await expect.poll(async () => (await members('--state', 'alive')).length, { timeout: 15_000 }).toBe(3)
    const none = await run(['join', '/ip4/127.0.0.1/tcp/1', ...da])
    expect(none.code).toBe(1)
    expect(none.stderr).toContain('ERR_JOIN_FAILED')

    const set = await run(['tags', 'set', 'tier=gold', 'rack=7', '--data', join(dir, 'b')])
    expect(set.stdout.trim()).toBe('tags: tier=gold rack=7')
    expect(JSON.parse((await run(['tags', 'delete', 'rack', '--data', join(dir, 'b'), '--json'])).stdout)).toEqual({ tags: { tier: 'gold' } })
    await expect.poll(async () => (await members('--tag', 'tier=gold')).map((m) => m.peerId), { timeout: 10_000 }).toEqual([b.started.peerId])
    expect((await members('--tag', 'zone=a', '--tag', 'tier=gold'))).toEqual([])
    expect((await run(['members', ...da])).stdout).toMatch(/TAGS[\s\S]*zone=a/)
    expect((await run(['tags', 'set', 'novalue', ...da])).code).toBe(2)
    expect((await run(['members', '--state', 'sleeping', ...da])).code).toBe(2)

    // c crashes; once dead, force-leave makes it left on a and on b.
    c.child.kill('SIGKILL')
    await expect.poll(async () => (await members('--state', 'dead')).map((m) => m.peerId), { timeout: 20_000 }).toEqual([c.started.peerId])
    const forced = await run(['force-leave', c.started.peerId, ...da])
    expect(forced.code).toBe(0)
    expect(forced.stdout).toContain('is left here now')
    await expect.poll(async () => (JSON.parse((await run(['members', '--data', join(dir, 'b'), '--json', '--state', 'left'])).stdout) as M[]).map((m) => m.peerId), { timeout: 10_000 }).toEqual([c.started.peerId])
    const unknown = await run(['force-leave', '12D3KooWRco1nneqv127gRVUd1nHMQL7D7h47VMVHKtzJR5gNVNK', ...da])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('ERR_MEMBER_NOT_FOUND')

    // b leaves: its process exits 0, and a sees it left.
    const left = await run(['leave', '--data', join(dir, 'b')])
    expect(left.code).toBe(0)
    expect(await new Promise((resolve) => { if (b.child.exitCode !== null) resolve(b.child.exitCode); else b.child.once('exit', resolve) })).toBe(0)
    await expect.poll(async () => (await members('--state', 'left')).map((m) => m.peerId).sort(), { timeout: 10_000 }).toEqual([b.started.peerId, c.started.peerId].sort())
  })
})
