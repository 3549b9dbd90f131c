import fc from 'fast-check'
import type { Dot, Json, Op, WriteRecord } from '../../src/replica/index.js'

/** JSON values as they exist after a trip through JSON (no -0): what a store holds. */
export const json: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as Json)

export const replicaId = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 })
  .filter((s) => s.length <= 128)

export const seq = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })

export const dot: fc.Arbitrary<Dot> = fc.record({ replica: replicaId, seq })

const count = fc.double({ min: 0, max: 1e300, noNaN: true, noDefaultInfinity: true }).map((x) => x + 0)

export const op: fc.Arbitrary<Op> = fc.oneof(
  json.map((value): Op => ({ type: 'put', value })),
  fc.constant<Op>({ type: 'delete' }),
  fc.record({ p: count, n: count }).map(({ p, n }): Op => ({ type: 'counter', p, n })),
  json.map((element): Op => ({ type: 'set-add', element })),
  json.map((element): Op => ({ type: 'set-remove', element }))
)

/** Any structurally valid record (not necessarily one a real replica would write). */
export const writeRecord: fc.Arbitrary<WriteRecord> = fc.record({
  dot,
  key: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }),
  op,
  hlc: fc.record({ wall: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), logical: fc.integer({ min: 0, max: 0xffff_ffff }) }),
  others: fc.array(fc.tuple(replicaId, seq), { maxLength: 5 }),
  removes: fc.uniqueArray(dot, { maxLength: 6, selector: (d) => `${d.seq}:${d.replica}` }),
  signature: fc.option(fc.uint8Array({ minLength: 1, maxLength: 80 }), { nil: undefined })
}).map(({ dot: own, key, op: o, hlc, others, removes, signature }) => {
  const clock = Object.fromEntries([...others.filter(([r]) => r !== own.replica), [own.replica, own.seq] as [string, number]])
  const record: WriteRecord = {
    dot: own,
    key,
    op: o,
    hlc,
    clock,
    removes: removes.filter((d) => d.replica !== own.replica || d.seq < own.seq),
    ...(signature === undefined ? {} : { signature })
  }
  return record
})
