import { describe, it, expect, afterAll, beforeAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createCluster, PeerApiError, type ProcessCluster } from '../../src/harness/index.js'

interface Member { peerId: string, state: string }

let cluster: ProcessCluster
beforeAll(async () => {
  cluster = await createCluster({ size: 3, processes: true })
  await cluster.converged({ timeout: 60_000 })
}, 120_000)
afterAll(async () => { await cluster.stop() })

/** Peer `viewer`'s opinion of peer `subject`. */
async function stateOf (viewer: number, subject: number): Promise<string | undefined> {
  const members = await cluster.api<Member[]>(viewer, 'GET', '/v1/members')
  return members.find((m) => m.peerId === cluster.peers[subject]!.peerId)?.state
}

describe('a cluster of real processes', () => {
  it('each peer is its own process with its own API, and writes spread', async () => {
    const pids = new Set(cluster.peers.map((p) => p.pid))
    expect(pids.size).toBe(3)
    expect(pids.has(process.pid)).toBe(false)
    await cluster.api(0, 'PUT', '/v1/kv/greeting', 'hello')
    await cluster.converged({ timeout: 30_000 })
    for (const i of [1, 2]) expect(await cluster.api(i, 'GET', '/v1/kv/greeting')).toMatchObject({ key: 'greeting', type: 'register', value: 'hello' })
  })

  it('a partition cuts the processes apart, and after heal both sides\' writes are everywhere', async () => {
    await cluster.partition([0], [1, 2])
    await expect.poll(async () => `${await stateOf(0, 1)} ${await stateOf(1, 0)}`, { timeout: 30_000, interval: 200 }).toBe('dead dead')
    await cluster.api(0, 'PUT', '/v1/kv/left', 0)
    await cluster.api(2, 'POST', '/v1/test/counter/right', { by: 2 })
    await expect(cluster.api(1, 'GET', '/v1/kv/left')).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND', status: 404 })
    await cluster.heal()
    await cluster.converged({ timeout: 30_000 })
    for (const i of [0, 1, 2]) {
      expect(await cluster.api(i, 'GET', '/v1/kv/left')).toMatchObject({ key: 'left', type: 'register', value: 0 })
      expect(await cluster.api(i, 'GET', '/v1/kv/right')).toMatchObject({ key: 'right', type: 'counter', value: 2 })
    }
  })

  it('kill is SIGKILL; a restart keeps the identity and every acknowledged write', async () => {
    const before = cluster.peers[2]!
    const peerId = before.peerId
    const oldPid = before.pid
    const receipts = []
    for (let i = 0; i < 20; i++) receipts.push(await cluster.api(2, 'PUT', `/v1/kv/k${i}`, i))
    await cluster.kill(2)
    expect(cluster.peers[2]!.state).toBe('killed')
    expect(cluster.live()).toEqual([0, 1])
    await expect(cluster.api(2, 'GET', '/v1/status', undefined, { timeout: 1_000 })).rejects.toBeInstanceOf(PeerApiError)
    // Keep the restarted peer away from the others: what it answers comes from its own log.
    await cluster.partition([0, 1], [2])
    await cluster.restart(2)
    expect(cluster.peers[2]!.peerId).toBe(peerId)
    expect(cluster.peers[2]!.pid).not.toBe(oldPid)
    expect(cluster.peers[2]!.starts).toBe(2)
    for (let i = 0; i < 20; i++) expect(await cluster.api(2, 'GET', `/v1/kv/k${i}`)).toMatchObject({ key: `k${i}`, type: 'register', value: i })
    await cluster.heal()
    await cluster.converged({ timeout: 30_000 })
    expect(cluster.unexpectedExits()).toEqual([])
  })

  it('a paused process answers nothing, is found dead, and comes back on resume', async () => {
    await cluster.pause(1)
    expect(cluster.live()).toEqual([0, 2])
    await expect.poll(async () => stateOf(0, 1), { timeout: 30_000, interval: 200 }).toBe('dead')
    await cluster.api(0, 'PUT', '/v1/kv/while-paused', true)
    await cluster.resume(1)
    await cluster.converged({ timeout: 30_000 })
    expect(await cluster.api(1, 'GET', '/v1/kv/while-paused')).toMatchObject({ key: 'while-paused', type: 'register', value: true })
    expect(cluster.unexpectedExits()).toEqual([])
  })

  it('the peers agree on one coordinator: the highest PeerId, all priorities being equal', async () => {
    const top = [...cluster.peers].sort((a, b) => a.peerId < b.peerId ? 1 : -1)[0]!.peerId
    await expect.poll(async () => {
      const leaders = await Promise.all([0, 1, 2].map(async (i) => cluster.api<{ peerId: string, term: number }>(i, 'GET', '/v1/leader').catch(() => undefined)))
      return new Set(leaders.map((l) => `${l?.peerId} ${l?.term}`)).size === 1 ? leaders[0]?.peerId : 'disagree'
    }, { timeout: 30_000, interval: 200 }).toBe(top)
  })

  it('the --test-faults flag is not in the help', () => {
    const help = spawnSync(process.execPath, [fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url)), 'start', '--help'], { encoding: 'utf8' })
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/--profile/)
    expect(help.stdout).not.toMatch(/test-faults/)
  })
})
