import { describe, expect, it } from 'vitest'
import { SignatureVerifier } from '../../src/net/identity.js'
import { openLog } from '../../src/storage/index.js'
import {
  decodeCheckpoint, encodeCheckpoint, encodeRecord, isCheckpoint, logSnapshot, MalformedCheckpointError, Provenance, replayLog, ReplicaState
} from '../../src/replica/index.js'
import { tempDir } from '../storage/helpers.js'
import { replica } from './helpers.js'

const verifier = new SignatureVerifier()
const verify = (author: string, bytes: Uint8Array, signature: Uint8Array): boolean => verifier.verify(author, bytes, signature)

describe('compacted replica log', () => {
  it('a checkpoint round-trips and is never mistaken for a record', () => {
    const checkpoint = { horizon: { A: 3 }, lastSeq: 7, records: 2 }
    const bytes = encodeCheckpoint(checkpoint)
    expect(isCheckpoint(bytes)).toBe(true)
    expect(decodeCheckpoint(bytes)).toEqual(checkpoint)
    expect(isCheckpoint(encodeRecord(replica('A').put('k', 1)))).toBe(false)
  })

  it('replays to the same replica: view, horizon, digest and last seq (its last write was a collected delete)', async () => {
    const dir = await tempDir()
    const a = replica('A')
    a.put('k', 1)
    a.put('k', 2)
    a.put('gone', 1)
    const stale = a.put('gone', 2)
    a.delete('gone')
    expect(a.adoptHorizon(a.versionVector())).toBe(4)
    const log = await openLog(dir, 'replica')
    await log.rewrite(logSnapshot(a, new Provenance()))
    // Appended after the compaction: a record it had collected (an append that was queued
    // before it was collected) and a new one. The first must stay gone.
    const later = a.put('later', true)
    await log.append([encodeRecord(stale), encodeRecord(later)])
    await log.close()

    const reopened = await openLog(dir, 'replica')
    const b = new ReplicaState('A')
    expect(await replayLog(reopened, b, new Provenance(), verify)).toEqual({ malformed: 0, rejectedBatches: 0, rejected: 0, snapshotMissing: 0 })
    await reopened.close()
    expect(b.list('')).toEqual(a.list(''))
    expect(b.get('gone')).toBeUndefined()
    expect(b.horizon()).toEqual(a.horizon())
    expect(b.digest()).toBe(a.digest())
    expect(b.lastSeq).toBe(a.lastSeq)
    expect(b.put('next', 1).dot.seq).toBe(later.dot.seq + 1)
  })

  it('a checkpoint that does not decode stops the replay with a typed error', async () => {
    const dir = await tempDir()
    const log = await openLog(dir, 'replica')
    const bad = encodeCheckpoint({ horizon: { A: 1 }, lastSeq: 1, records: 0 })
    bad[bad.length - 2] = 0x21
    await log.append([bad])
    await expect(replayLog(log, new ReplicaState('A'), new Provenance(), verify)).rejects.toBeInstanceOf(MalformedCheckpointError)
    await expect(replayLog(log, new ReplicaState('A'), new Provenance(), verify)).rejects.toMatchObject({ code: 'ERR_MALFORMED_CHECKPOINT' })
    await log.close()
  })
})
