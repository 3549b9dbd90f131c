import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createPeer, type Peer } from '../src/index.js'
import type { KvChange } from '../src/replica/index.js'

const network = (): string => `peer-test-${Math.random().toString(36).slice(2, 10)}`
const dirs: string[] = []
const peers: Peer[] = []

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-peer-'))
  dirs.push(dir)
  return dir
}

async function peer (options: Parameters<typeof createPeer>[0]): Promise<Peer> {
  const p = await createPeer({ profile: 'local', ...options })
  peers.push(p)
  return p
}

async function waitFor (what: string, check: () => boolean, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Ref'd timers and handles keeping this process alive, by type. */
function timers (): number {
  return process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length
}

afterEach(async () => {
  await Promise.all(peers.splice(0).map(async (p) => p.stop({ graceful: false }).catch(() => {})))
  await Promise.all(dirs.splice(0).map(async (d) => rm(d, { recursive: true, force: true })))
})

describe('a peer\'s lifecycle', () => {
  it('a change listener added before start() on a durable peer hears local and remote writes', async () => {
    const net = network()
    const a = await peer({ network: net, dataDir: await tempDir() })
    const changes: KvChange[] = []
    a.kv.addEventListener('change', (event) => { changes.push(event.detail) })
    await a.start()
    const b = await peer({ network: net, dataDir: await tempDir(), bootstrap: a.addresses() })
    await b.start()
    await a.kv.put('local', 1)
    await b.kv.put('remote', 2)
    await waitFor('the remote write', () => changes.some((c) => c.key === 'remote'))
    expect(changes).toEqual(expect.arrayContaining([
      { key: 'local', value: 1, origin: 'local' },
      { key: 'remote', value: 2, origin: 'remote' }
    ]))
  })

  it('stop() twice is fine; start() after stop() brings back the same store, listeners and data', async () => {
    const dir = await tempDir()
    const a = await peer({ network: network(), dataDir: dir })
    const seen: string[] = []
    a.kv.addEventListener('change', (event) => { seen.push(event.detail.key) })
    await a.start()
    await a.kv.put('before', 'x')
    await a.stop()
    await a.stop()
    expect(a.isRunning()).toBe(false)
    // No log is open while stopped, so a write could not be durable: refused, not lost.
    await expect(a.kv.put('while-stopped', 1)).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
    await a.start()
    expect(a.isRunning()).toBe(true)
    expect(a.kv.get('before')).toBe('x')
    expect(a.kv.get('while-stopped')).toBeUndefined()
    await a.kv.put('after', 'y')
    expect(seen).toEqual(['before', 'after'])
    await a.stop()
    // A fresh peer on the same data dir replays both writes from the log.
    const again = await peer({ network: network(), dataDir: dir })
    await again.start()
    expect(again.kv.list('').map((e) => e.key)).toEqual(['after', 'before'])
  })

  it('starts the parts in order and stops them in reverse: others see a graceful stop as `left`', async () => {
    const net = network()
    const a = await peer({ network: net, dataDir: await tempDir() })
    await a.start()
    const b = await peer({ network: net, dataDir: await tempDir(), bootstrap: a.addresses() })
    await b.start()
    await waitFor('both members alive', () => a.members().filter((m) => m.state === 'alive').length === 2)
    // Membership announces before the node goes: the other side hears `left`, not a failure.
    await b.stop()
    await waitFor('b left', () => a.members().find((m) => m.peerId === b.peerId)?.state === 'left')
    expect(a.members().find((m) => m.peerId === b.peerId)?.state).toBe('left')
  })

  it('a part that fails to start rolls back every part started before it (no timers left running) and frees the data dir', async () => {
    const dir = await tempDir()
    // The replica log's path is taken by a directory: the store fails to open it, after the
    // node and membership have started.
    await mkdir(join(dir, 'replica.log'))
    const baseline = timers()
    const a = await peer({ network: network(), dataDir: dir })
    await expect(a.start()).rejects.toThrow()
    expect(a.isRunning()).toBe(false)
    await waitFor('every timer of the failed start to be cleared', () => timers() <= baseline, 10_000)
    expect(timers()).toBeLessThanOrEqual(baseline)
    // The data dir lock was released: once the path is fixed, the same peer starts.
    await rm(join(dir, 'replica.log'), { recursive: true })
    await a.start()
    expect(a.isRunning()).toBe(true)
    await a.kv.put('k', 1)
    expect(a.kv.get('k')).toBe(1)
  })
})
