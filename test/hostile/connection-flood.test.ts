/**
 * A peer that opens connection after connection to one member (forced dials, one after another
 * and many at once): past the cap per peer they are refused and counted, and honest peers go on
 * replicating.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { DEFAULT_MAX_CONNECTIONS_PER_PEER } from '../../src/net/constants.js'

let cluster: Cluster | undefined
const flooders: Libp2p[] = []
afterEach(async () => {
  await Promise.all(flooders.splice(0).map(async (n) => n.stop()))
  await cluster?.stop()
  cluster = undefined
})

describe('a connection flood from one peer', () => {
  it('past the cap per peer, connections are refused (one after another and many at once) and counted; replication goes on', async () => {
    const c = cluster = await createCluster({ size: 2 })
    await c.converged({ timeout: 30_000 })
    const target = c.peers[0]!
    // Several nodes with one key are one peer to the target, each with its own dial queue: their dials are truly concurrent.
    const privateKey = await generateKeyPair('Ed25519')
    const node = async (): Promise<Libp2p> => createLibp2p({
      privateKey,
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { allow: ['/ip4/127.0.0.1'] }
    })
    flooders.push(...await Promise.all(Array.from({ length: 12 }, node)))
    const f = flooders[0]!
    const address = multiaddr(target.addresses()[0]!)
    const held = (): number => target.net.connections().filter((x) => x.peerId === f.peerId.toString()).length

    // One after another: each new one is checked against those already open.
    for (let i = 0; i < DEFAULT_MAX_CONNECTIONS_PER_PEER + 5; i++) await f.dial(address, { force: true }).catch(() => {})
    await expect.poll(held, { timeout: 10_000 }).toBe(DEFAULT_MAX_CONNECTIONS_PER_PEER)
    const refused = target.net.refusedConnections()
    expect(refused).toBeGreaterThan(0)

    // Many at once, each from its own dial queue: every one is refused too.
    await Promise.allSettled(flooders.slice(1).map(async (n) => n.dial(address, { force: true })))
    await expect.poll(() => target.net.refusedConnections() - refused, { timeout: 10_000 }).toBe(flooders.length - 1)
    await expect.poll(held, { timeout: 10_000 }).toBe(DEFAULT_MAX_CONNECTIONS_PER_PEER)

    // Honest traffic goes on.
    await c.peers[1]!.kv.put('after-flood', 1)
    await expect.poll(() => target.kv.get('after-flood'), { timeout: 10_000 }).toBe(1)
    await target.kv.put('back', 2)
    await expect.poll(() => c.peers[1]!.kv.get('back'), { timeout: 10_000 }).toBe(2)
  })
})
