/**
 * A member with the key opens far more streams of our protocols than any honest peer would,
 * all at once, over its one connection: each protocol takes at most its own number of inbound
 * streams per connection, the rest are reset at once, and honest traffic goes on.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import type { Peer } from '../../src/index.js'
import type { MessageStream } from '../../src/net/index.js'
import { SYNC_PROTOCOL_VERSION } from '../../src/replica/index.js'
import { MEMBERSHIP_PROTOCOL_VERSION } from '../../src/membership/constants.js'
import { ELECTION_PROTOCOL_VERSION } from '../../src/election/constants.js'
import { Hostile, stillReplicates } from './hostile.js'

let cluster: Cluster | undefined
let hostile: Hostile | undefined
afterEach(async () => {
  await hostile?.stop()
  hostile = undefined
  await cluster?.stop()
  cluster = undefined
})

/** Resolves true once the remote ends or resets the stream, false if it is still open after `within` ms. */
async function endsWithin (stream: MessageStream, within: number): Promise<boolean> {
  try {
    while (await stream.next({ timeout: within }) !== undefined) { /* nothing is expected */ }
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_STREAM_TIMEOUT') return false
  }
  return true
}

describe('a stream flood from one member', () => {
  it('past each protocol\'s limit of inbound streams per connection, streams are refused at once; honest peers go on replicating', async () => {
    cluster = await createCluster({ size: 3 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    hostile = await Hostile.join(cluster)
    const h = hostile
    const [target, ...others] = c.peers as [Peer, Peer, Peer]
    // The limits the parts set (sync.ts, observe/service.ts, channel.ts).
    const floods = [
      { name: 'sync', protocol: h.node.protocol('sync', SYNC_PROTOCOL_VERSION), limit: 32 },
      { name: 'trace', protocol: h.node.protocol('trace'), limit: 32 },
      { name: 'membership', protocol: h.node.protocol('membership', MEMBERSHIP_PROTOCOL_VERSION), limit: 8 },
      { name: 'election', protocol: h.node.protocol('election', ELECTION_PROTOCOL_VERSION), limit: 8 }
    ]
    const extra = 100
    for (const { name, protocol, limit } of floods) {
      const opened = await Promise.all(Array.from({ length: limit + extra }, async () => {
        try {
          return await h.open(target, protocol)
        } catch {
          return undefined
        }
      }))
      // Within half a second of opening, everything past the limit has been reset; the rest
      // still wait for a first frame (the parts' read timeouts are a second or more).
      const ended = await Promise.all(opened.map(async (s) => s === undefined ? true : await endsWithin(s, 500)))
      const open = ended.filter((e) => !e).length
      // libp2p reuses the one connection it has to the target: exactly the limit is taken.
      expect({ name, open, refused: ended.length - open }).toEqual({ name, open: limit, refused: extra })
      for (const s of opened) s?.abort()
    }
    // The honest peers never noticed.
    await stillReplicates(others[0], [target, others[1]])
    await stillReplicates(target, others)
    await c.converged({ timeout: 30_000 })
  })
})
