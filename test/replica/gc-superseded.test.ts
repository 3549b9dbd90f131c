import { describe, it, expect } from 'vitest'
import { decodeCheckpoint, decodeRecord, isCheckpoint, logSnapshot, Provenance, ReplicaState, type VectorClock } from '../../src/replica/index.js'
import { transmit } from './helpers.js'

/**
 * Found by the chaos runner: a record was collected while a record it superseded was still
 * held (kept back because that one superseded a dot above the horizon). Wherever records
 * were read afresh, the superseded one was live again, with an unchanged digest.
 */

/** c holds Y (superseded m:1, above the horizon), Z (superseded Y) and W (superseded Z); horizon {c: 3}. */
function scenario (): { c: ReplicaState } {
  const m = new ReplicaState('m')
  const c = new ReplicaState('c')
  c.join(transmit([m.put('k', 'from m')]))
  c.put('k', 'Y')
  c.put('k', 'Z')
  c.put('k', 'W')
  c.adoptHorizon({ c: 3 })
  return { c }
}

/** A restart: what a compaction writes, replayed the way the log is at start. */
function restarted (c: ReplicaState): ReplicaState {
  const r = new ReplicaState('c')
  let horizon: VectorClock = {}
  const records: Uint8Array[] = []
  for (const bytes of logSnapshot(c, new Provenance())) {
    if (isCheckpoint(bytes)) {
      const checkpoint = decodeCheckpoint(bytes)
      r.restoreSeq(checkpoint.lastSeq)
      horizon = checkpoint.horizon
    } else {
      records.push(bytes)
    }
  }
  r.join(records.map((bytes) => decodeRecord(bytes)))
  r.restoreHorizon(horizon)
  return r
}

describe('a superseded record that is still held', () => {
  it('does not come back after a restart from a compacted log', () => {
    const { c } = scenario()
    expect(c.versions('k').map((v) => v.value)).toEqual(['W'])
    const r = restarted(c)
    expect(r.versions('k').map((v) => v.value)).toEqual(['W'])
    expect(r.digest()).toBe(c.digest())
  })

  it('does not come back on a replica that catches up after the collection', () => {
    const { c } = scenario()
    const late = new ReplicaState('late')
    late.join(transmit(c.recordsSince(late.versionVector())))
    expect(late.covers({ c: 3 })).toBe(true)
    late.adoptHorizon({ c: 3 })
    expect(late.versions('k').map((v) => v.value)).toEqual(['W'])
    expect(late.digest()).toBe(c.digest())
  })

  it('goes with what superseded it once the horizon covers everything: all end equal', () => {
    const { c } = scenario()
    const r = restarted(c)
    for (const replica of [c, r]) replica.adoptHorizon({ c: 3, m: 1 })
    expect(c.versions('k').map((v) => v.value)).toEqual(['W'])
    expect(r.versions('k').map((v) => v.value)).toEqual(['W'])
    expect(r.digest()).toBe(c.digest())
    expect(c.recordCount()).toBe(1)
  })
})
