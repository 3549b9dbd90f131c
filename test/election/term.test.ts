import { describe, it, expect, afterEach } from 'vitest'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer, type Peer } from '../../src/index.js'

let peer: Peer | undefined
let dir: string | undefined
afterEach(async () => {
  await peer?.stop()
  peer = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

describe('the term a peer reports', () => {
  it('is only ever a saved one: a term its data dir could not keep is not shown (a crash would take it back)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearsay-term-'))
    // A directory where the term file goes: every save of the term fails (rename onto it).
    await mkdir(join(dir, 'election.json', 'blocked'), { recursive: true })
    peer = await createPeer({ profile: 'local', dataDir: dir })
    await peer.start()
    const p = peer
    // Alone, it takes over after the join grace: term 1 in its state machine, never saved.
    await expect.poll(() => p.election.role(), { timeout: 10_000, interval: 20 }).toBe('coordinator')
    expect(p.election.term()).toBe(0)
    expect(p.leader()).toBeUndefined()
  })

  it('follows the saved term once saving works', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearsay-term-'))
    peer = await createPeer({ profile: 'local', dataDir: dir })
    await peer.start()
    const p = peer
    await expect.poll(() => p.leader()?.term, { timeout: 10_000, interval: 20 }).toBe(1)
    expect(p.election.term()).toBe(1)
    expect(p.election.role()).toBe('coordinator')
  })
})
