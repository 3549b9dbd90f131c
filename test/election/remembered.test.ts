import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { MAX_REMEMBERED_MEMBERS, RememberedMembers } from '../../src/election/remembered.js'

let cluster: Cluster | undefined
let dir: string | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

async function savedMembers (path: string): Promise<string[]> {
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as { known: string[] }).known
  } catch {
    return []
  }
}

describe('the members a peer counts toward a majority, across a restart', () => {
  it('a peer restarted cut off from the others is no majority of one: it crowns itself, but its quorum jobs wait until it has met them', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearsay-remembered-'))
    const c = cluster = await createCluster({ size: 3, baseDir: dir })
    await c.converged({ timeout: 30_000 })
    const file = join(dir, 'peer-2', 'election-members.json')
    const others = [c.peers[0]!.peerId, c.peers[1]!.peerId].sort()
    await expect.poll(async () => savedMembers(file), { timeout: 20_000 }).toEqual(others)

    await c.kill(2)
    await c.partition([0, 1], [2])
    const p = await c.restart(2)
    const runs = { plain: 0, quorum: 0 }
    p.jobs.define('plain-tick', { every: 100 }, async () => { runs.plain++ })
    p.jobs.define('quorum-tick', { every: 100, quorum: true }, async () => { runs.quorum++ })
    // Alone in its view, it crowns itself and runs its plain jobs once no one answers its claim...
    await expect.poll(() => runs.plain, { timeout: 20_000, interval: 20 }).toBeGreaterThanOrEqual(3)
    // ...but 1 of 3 is no majority (before: its view held only itself, a majority of one).
    expect(p.election.role()).toBe('coordinator')
    expect(p.membership.members().filter((m) => !m.self)).toEqual([])
    expect(runs.quorum).toBe(0)
    expect(await savedMembers(file)).toEqual(others)

    // Once it has met the others, the view decides: one coordinator, and its quorum jobs run.
    for (const q of [c.peers[0]!, c.peers[1]!]) q.jobs.define('quorum-tick', { every: 100, quorum: true }, async () => { runs.quorum++ })
    await c.heal()
    await c.converged({ timeout: 30_000 })
    await expect.poll(() => runs.quorum, { timeout: 30_000, interval: 20 }).toBeGreaterThan(0)
  })

  it('the file: read back as saved; missing, malformed or oversized reads as none; unchanged lists are not rewritten', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearsay-remembered-'))
    const path = join(dir, 'members.json')
    const errors: unknown[] = []
    const file = new RememberedMembers(path)
    expect(await file.read()).toEqual([])
    file.save(['b', 'a'], (err) => errors.push(err))
    await file.idle()
    expect(await new RememberedMembers(path).read()).toEqual(['a', 'b'])
    await writeFile(path, '{"known":["x"]}')
    // Same list as last saved: no write (the file keeps what is there now).
    file.save(['a', 'b'], (err) => errors.push(err))
    await file.idle()
    expect(await readFile(path, 'utf8')).toBe('{"known":["x"]}')
    for (const bad of ['not json', '{"known":"a"}', '{"known":[1]}', '{"known":[""]}', `{"known":["${'p'.repeat(129)}"]}`,
      JSON.stringify({ known: Array.from({ length: MAX_REMEMBERED_MEMBERS + 1 }, (_, i) => `p${i}`) })]) {
      await writeFile(path, bad)
      expect(await new RememberedMembers(path).read()).toEqual([])
    }
    expect(await new RememberedMembers(undefined).read()).toEqual([])
    expect(errors).toEqual([])
  })
})
