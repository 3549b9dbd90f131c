import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer, type Peer } from '../../src/index.js'

const peers: Peer[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(peers.splice(0).map(async (p) => p.stop()))
  await Promise.all(dirs.splice(0).map(async (d) => rm(d, { recursive: true, force: true })))
})

describe('a network restricted to a list of writers', () => {
  it('refuses local writes from unlisted peers and never applies their records anywhere', async () => {
    const base = await mkdtemp(join(tmpdir(), 'hearsay-writers-'))
    dirs.push(base)
    const network = `writers-${process.pid}`
    // Identities first (the key lives in the data dir), so the list can name them.
    const ids = await Promise.all([0, 1, 2].map(async (i) => (await createPeer({ dataDir: join(base, `p${i}`) })).peerId))
    const writers = [ids[0]!, ids[1]!]
    const restricted = async (i: number, bootstrap: string[]): Promise<Peer> => {
      const p = await createPeer({ profile: 'local', network, dataDir: join(base, `p${i}`), writers, bootstrap })
      peers.push(p)
      await p.start()
      return p
    }
    const a = await restricted(0, [])
    const b = await restricted(1, a.addresses())
    const c = await restricted(2, a.addresses())
    // An unrestricted peer with its own key: its signatures are valid, it is just not listed.
    const outsider = await createPeer({ profile: 'local', network, bootstrap: a.addresses() })
    peers.push(outsider)
    await outsider.start()
    const everyone = [a, b, c, outsider]
    await expect.poll(() => everyone.every((p) => p.members().filter((m) => m.state === 'alive').length === 4), { timeout: 30_000 }).toBe(true)

    await expect(c.kv.put('from-c', 1)).rejects.toMatchObject({ code: 'ERR_NOT_A_WRITER' })
    expect(c.kv.recordCount()).toBe(0)
    await outsider.kv.put('from-outsider', 'sneaky')
    await a.kv.put('from-a', 'ok')

    await expect.poll(() => [b, c, outsider].every((p) => p.kv.get('from-a') === 'ok'), { timeout: 30_000 }).toBe(true)
    // The outsider's record reached the restricted peers (gossip and anti-entropy) and was dropped.
    await expect.poll(() => [a, b, c].every((p) => p.diagnostics.stats().kv.unauthorized > 0), { timeout: 30_000 }).toBe(true)
    for (const p of [a, b, c]) {
      expect(p.kv.get('from-outsider')).toBeUndefined()
      expect(p.kv.get('from-c')).toBeUndefined()
    }
  })
})
