import { describe, it, expect, afterEach } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { createPeer, type Peer } from '../../src/index.js'

let cluster: Cluster | undefined
const extra: Peer[] = []
afterEach(async () => {
  await Promise.all(extra.splice(0).map(async (p) => p.stop()))
  await cluster?.stop()
  cluster = undefined
})

describe('discovery through the DHT', () => {
  it('6 peers from peer 0; peer 0 dies; the other 5 still know and reach each other; a 7th joining through any one finds all', async () => {
    cluster = await createCluster({ size: 6 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    await c.kill(0)
    await c.converged({ timeout: 30_000 })
    const survivors = [1, 2, 3, 4, 5]
    for (const i of survivors) {
      const peer = c.peers[i]!
      const alive = peer.members().filter((m) => m.state === 'alive' && !m.self).map((m) => m.peerId).sort()
      expect(alive).toEqual(survivors.filter((j) => j !== i).map((j) => c.peers[j]!.peerId).sort())
    }
    // "Reach": every survivor holds a working connection to every other survivor, which
    // membership probes depend on; open them all by probing through the DHT-found addresses.
    for (const i of survivors) {
      for (const j of survivors) {
        if (i === j) continue
        const target = c.peers[j]!
        await c.peers[i]!.net.connect(target.peerId, target.addresses())
        expect(c.peers[i]!.net.isConnected(target.peerId)).toBe(true)
      }
    }

    const via = c.peers[3]!
    const late = await createPeer({ profile: 'local', network: c.network, bootstrap: via.addresses() })
    extra.push(late)
    await late.start()
    const want = survivors.map((j) => c.peers[j]!.peerId).sort()
    await expect.poll(() => late.members().filter((m) => m.state === 'alive' && !m.self).map((m) => m.peerId).sort(), { timeout: 30_000, interval: 100 }).toEqual(want)
  })

  it('the DHT alone finds every member: a lookup from a newcomer returns them all', async () => {
    cluster = await createCluster({ size: 6 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    const late = await createPeer({ profile: 'local', network: c.network, bootstrap: c.peers[5]!.addresses() })
    extra.push(late)
    await late.start()
    const want = c.peers.map((p) => p.peerId).sort()
    const found = new Set<string>()
    await expect.poll(async () => {
      for (const p of await late.net.lookupMembers(2_000)) found.add(p.peerId)
      return want.every((id) => found.has(id))
    }, { timeout: 30_000, interval: 200 }).toBe(true)
  })

  it('peers of another network never appear as members', async () => {
    cluster = await createCluster({ size: 2 })
    await cluster.converged({ timeout: 20_000 })
    const stranger = await createPeer({ profile: 'local', network: 'elsewhere', bootstrap: cluster.peers[0]!.addresses() })
    extra.push(stranger)
    await stranger.start()
    // Give it the same chances as a member: wait until a member of the cluster has been
    // dialled by it (the bootstrap connection), then check nobody adopted anyone.
    await expect.poll(() => cluster!.peers[0]!.net.connections().some((conn) => conn.peerId === stranger.peerId) ||
      stranger.net.connections().length > 0, { timeout: 10_000 }).toBe(true)
    await cluster.peers[0]!.membership.sync(stranger.peerId, stranger.addresses()).catch(() => {})
    for (const p of cluster.peers) expect(p.members().map((m) => m.peerId)).not.toContain(stranger.peerId)
    expect(stranger.members().map((m) => m.peerId)).toEqual([stranger.peerId])
  })
})
