import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { replica } from './helpers.js'

let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

describe('conditional writes in an AP store', () => {
  it('two peers apart both accept a write conditional on the same version; after the heal they are siblings, and a write on the winner supersedes both', async () => {
    cluster = await createCluster({ size: 2 })
    await cluster.converged({ timeout: 30_000 })
    const c = cluster
    const [a, b] = [c.peers[0]!, c.peers[1]!]
    await a.kv.put('config', { v: 0 })
    await c.converged({ timeout: 30_000 })
    const seen = b.kv.version('config')!
    expect(a.kv.version('config')).toBe(seen)
    await c.partition([0], [1])
    await expect.poll(() => a.members().filter((m) => m.state === 'alive').length, { timeout: 30_000 }).toBe(1)
    await a.kv.put('config', { v: 'a' }, { ifVersion: seen })
    await b.kv.put('config', { v: 'b' }, { ifVersion: seen })
    await c.heal()
    await c.converged({ timeout: 30_000 })
    const siblings = a.kv.versions('config').map((v) => v.value)
    expect(siblings).toHaveLength(2)
    expect(siblings).toEqual(expect.arrayContaining([{ v: 'a' }, { v: 'b' }]))
    // The same winner on both; a write conditional on it resolves the conflict.
    expect(b.kv.version('config')).toBe(a.kv.version('config'))
    await expect(b.kv.put('config', { v: 'stale' }, { ifVersion: seen })).rejects.toMatchObject({ code: 'ERR_VERSION_MISMATCH' })
    await b.kv.put('config', { v: 'merged' }, { ifVersion: b.kv.version('config')! })
    await c.converged({ timeout: 30_000 })
    expect(a.kv.versions('config').map((v) => v.value)).toEqual([{ v: 'merged' }])
  })
})

describe('listing in pages', () => {
  it('pages of any size, in key order, add up to the whole listing, whatever was written and deleted', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.constantFrom('a/', 'b/', 'a/x/', ''), fc.string({ minLength: 1, maxLength: 4 }), fc.boolean()), { maxLength: 60 }),
      fc.constantFrom('', 'a/', 'a/x/', 'b/', 'c/'),
      fc.integer({ min: 1, max: 7 }),
      (ops, prefix, limit) => {
        const r = replica('A')
        for (const [dir, name, del] of ops) {
          if (del) r.delete(dir + name)
          else r.put(dir + name, name)
        }
        const whole = r.list(prefix)
        expect(whole.map(([k]) => k)).toEqual(whole.map(([k]) => k).sort())
        const paged: Array<[string, unknown]> = []
        let after: string | undefined
        for (let i = 0; i < 100; i++) {
          const page = r.list(prefix, { limit, ...(after === undefined ? {} : { after }) })
          paged.push(...page)
          if (page.length < limit) break
          after = page.at(-1)![0]
        }
        expect(paged).toEqual(whole)
      }
    ), { numRuns: 300 })
  })
})
