import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { SignatureVerifier, withCachedSigner } from '../../src/net/identity.js'
import {
  decodeSealedBatch, horizonOffer, logSnapshot, openSeal, Provenance, replayLog, ReplicaState, sealedEntry, Session, settleOffer
} from '../../src/replica/index.js'
import { openLog } from '../../src/storage/index.js'
import { tempDir } from '../storage/helpers.js'
import { replica, sync } from './helpers.js'

/**
 * Replaying a replica log must not make the replica hold what was never written, nor forget
 * what it lost. Both cases were found by the replica-log fuzz target (fuzz/targets/replica-log.js).
 */

const verifier = new SignatureVerifier()
const verify = (author: string, bytes: Uint8Array, signature: Uint8Array): boolean => verifier.verify(author, bytes, signature)

async function writer (): Promise<{ id: string, sign: (bytes: Uint8Array) => Uint8Array }> {
  const key = withCachedSigner(await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(7)))
  return { id: peerIdFromPrivateKey(key).toString(), sign: (bytes) => key.sign(bytes) as Uint8Array }
}

describe('replaying a replica log', () => {
  it('does not apply a record of a sealed entry whose bytes changed but still decode, nor relay a seal that no longer opens', async () => {
    const author = await writer()
    const a = replica(author.id)
    const written = [a.put('k', 'aaaa'), a.put('j', 1)]
    const [sealed] = new Provenance().sealOwn(author.id, written, author.sign, 1 << 20)
    // The entry as the receive path persists it, with one byte of the value changed: the
    // batch still decodes, but its seal no longer proves it. A valid frame around it stands
    // for a corruption the log's CRC-32 misses (1 in 2^32 damaged frames), or bytes changed
    // in memory before the frame's checksum was taken.
    const entry = sealedEntry(sealed!.bytes)
    entry[Buffer.from(entry).indexOf('aaaa')] = 'b'.charCodeAt(0)
    expect(decodeSealedBatch(entry.subarray(6)).records[0]?.op).toEqual({ type: 'put', value: 'baaa' })
    const dir = await tempDir()
    const log = await openLog(dir, 'replica')
    await log.append([entry])
    await log.close()

    const reopened = await openLog(dir, 'replica')
    const b = replica('12D3KooWLocalReplicaUnderTest')
    const provenance = new Provenance()
    await replayLog(reopened, b, provenance, verify)
    await reopened.close()
    // The author wrote 'aaaa': the replica must not hold 'baaa' under the author's dot (it
    // would never be repaired: anti-entropy sees the dot as held).
    expect(b.get('k')).not.toBe('baaa')
    const held = [...b.allRecords()].find((r) => r.dot.seq === written[0]?.dot.seq && r.dot.replica === author.id)
    if (held !== undefined) expect(held.op).toEqual(written[0]?.op)
    // And whatever it holds with a seal, it relays in batches that open.
    for (const relayed of provenance.relay([...b.allRecords()], 1 << 20).batches) {
      expect(() => openSeal(decodeSealedBatch(relayed.bytes), verify)).not.toThrow()
    }
  })

  async function compactedThenDamaged (a: ReplicaState): Promise<string> {
    const dir = await tempDir()
    const log = await openLog(dir, 'replica')
    await log.rewrite(logSnapshot(a, new Provenance()))
    await log.close()
    const path = join(dir, 'replica.log')
    const { size } = await stat(path)
    const file = await open(path, 'r+')
    const byte = Buffer.alloc(1)
    await file.read(byte, 0, 1, size - 3)
    byte[0] = (byte[0] as number) ^ 1
    await file.write(byte, 0, 1, size - 3)
    await file.close()
    return dir
  }

  it('does not count as seen the records of a compacted log that it lost to a damaged frame', async () => {
    const a = new ReplicaState('A')
    a.put('keep', 1)
    a.put('gone', 1)
    a.delete('gone')
    const also = a.put('also', 2)
    expect(a.adoptHorizon(a.versionVector())).toBe(2)
    const dir = await tempDir()
    const log = await openLog(dir, 'replica')
    await log.rewrite(logSnapshot(a, new Provenance()))
    await log.close()
    // Bit rot in the last frame (the record of 'also', kept by the compaction because it is
    // live): the log's CRC catches it and recovery cuts the log there.
    const path = join(dir, 'replica.log')
    const { size } = await stat(path)
    const file = await open(path, 'r+')
    const byte = Buffer.alloc(1)
    await file.read(byte, 0, 1, size - 3)
    byte[0] = (byte[0] as number) ^ 1
    await file.write(byte, 0, 1, size - 3)
    await file.close()

    const skipped: string[] = []
    const reopened = await openLog(dir, 'replica', { onSkip: (info) => { skipped.push(info.kind) } })
    expect(skipped).toEqual(['checksum'])
    const b = new ReplicaState('A')
    await replayLog(reopened, b, new Provenance(), verify)
    await reopened.close()
    expect(b.get('keep')).toBe(1)
    expect(b.lastSeq).toBe(a.lastSeq)
    // 'also' is gone from this replica's log. It is at or below the checkpoint's horizon, but
    // it was not collected: every peer still holds it live. Counted as seen, it would never
    // come back (anti-entropy sends only what the vector lacks) and this replica would differ
    // from the others for good.
    const lostYetSeen = b.get('also') === undefined && b.has(also.dot)
    expect(lostYetSeen, `the record of 'also' (${also.dot.replica}:${also.dot.seq}) is gone and counted as seen`).toBe(false)
  })

  it('gets the lost records back from a peer that adopted the horizon, and ends as that peer is', async () => {
    const a = new ReplicaState('A')
    a.put('keep', 1)
    a.put('gone', 1)
    a.delete('gone')
    a.put('also', 2)
    const peer = new ReplicaState('P')
    sync(a, peer)
    const horizon = a.versionVector()
    a.adoptHorizon(horizon)
    peer.adoptHorizon(horizon)
    const dir = await compactedThenDamaged(a)
    const reopened = await openLog(dir, 'replica', { onSkip: () => {} })
    const b = new ReplicaState('A')
    const replayed = await replayLog(reopened, b, new Provenance(), verify)
    await reopened.close()
    expect(replayed).toMatchObject({ snapshotMissing: 1, withheld: horizon })
    expect(b.get('also')).toBeUndefined()

    // One anti-entropy exchange as sync.ts runs it: the peer offers its horizon with the dots
    // it keeps below it and sends what b's vector lacks; b applies them and settles the offer.
    const session = new Session((dot) => b.has(dot))
    for (const frame of horizonOffer(peer, b.horizon(), b.versionVector())) session.offered(frame)
    const sent = peer.recordsSince(b.versionVector())
    for (const record of sent) b.apply(record)
    session.vouch('A', sent.filter((r) => r.dot.replica === 'A').map((r) => r.dot.seq))
    expect(settleOffer(b, session, horizon).outcome).toMatch(/adopted|reconciled/)
    expect(b.get('also')).toBe(2)
    expect(b.horizon()).toEqual(peer.horizon())
    expect(b.versionVector()).toEqual(peer.versionVector())
    expect(b.digest()).toBe(peer.digest())
    expect(b.lastSeq).toBe(a.lastSeq)
  })
})
