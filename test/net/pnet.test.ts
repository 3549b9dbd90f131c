import { describe, it, expect, afterEach } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { createPeer, type Peer } from '../../src/index.js'
import { generatePsk, validatePsk } from '../../src/net/index.js'

let cluster: Cluster | undefined
const extra: Peer[] = []
afterEach(async () => {
  await Promise.all(extra.splice(0).map(async (p) => p.stop()))
  await cluster?.stop()
  cluster = undefined
})

describe('private networks (pnet)', () => {
  it('a peer with another key, or none, never becomes a member; one with the key joins', async () => {
    const psk = generatePsk()
    cluster = await createCluster({ size: 2, peer: { psk } })
    await cluster.converged({ timeout: 30_000 })
    const bootstrap = cluster.peers[0]!.addresses()
    const outsider = await createPeer({ profile: 'local', network: cluster.network, psk: generatePsk(), bootstrap })
    const keyless = await createPeer({ profile: 'local', network: cluster.network, bootstrap })
    const insider = await createPeer({ profile: 'local', network: cluster.network, psk, bootstrap })
    extra.push(outsider, keyless, insider)
    await Promise.all([outsider.start(), keyless.start(), insider.start()])
    // The insider joining proves the outsiders had the same chances (same bootstrap, same time).
    await expect.poll(() => cluster!.peers[0]!.members().some((m) => m.peerId === insider.peerId && m.state === 'alive'), { timeout: 30_000 }).toBe(true)
    await expect(cluster.peers[0]!.net.connect(outsider.peerId, outsider.addresses())).rejects.toThrow()
    for (const p of cluster.peers) {
      const ids = p.members().map((m) => m.peerId)
      expect(ids).not.toContain(outsider.peerId)
      expect(ids).not.toContain(keyless.peerId)
    }
    expect(outsider.members()).toHaveLength(1)
    expect(keyless.members()).toHaveLength(1)
  })

  it('rejects a malformed key file with a typed error', async () => {
    expect(() => validatePsk(new TextEncoder().encode('not a key'))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_PSK' }))
    await expect(createPeer({ psk: new TextEncoder().encode('/key/swarm/psk/1.0.0/\n/base16/\nzz') })).rejects.toMatchObject({ code: 'ERR_INVALID_PSK' })
    expect(validatePsk(generatePsk()).byteLength).toBe(95)
  })
})
