/**
 * Local writes: what each operation checks and which live records it supersedes. The store
 * (store.ts) then gives the record its dot, clock and HLC and applies it (`LocalWriter.write`).
 * Pure: no I/O.
 */
import { InvalidAmountError, WrongTypeError } from './errors.js'
import { canonicalJson } from './json.js'
import type { KeyState } from './keystate.js'
import type { Json, Op, ValueType, WriteRecord } from './types.js'
import { validateKey, validateValue, type ResolvedRecordLimits } from './validate.js'

/** What a local write needs of the store. */
export interface LocalWriter {
  readonly replicaId: string
  readonly limits: ResolvedRecordLimits
  state: (key: string) => KeyState | undefined
  typeOf: (key: string) => ValueType | undefined
  /** Makes the record (next dot, clock, HLC), applies it and returns it. */
  write: (key: string, op: Op, superseded: WriteRecord[]) => WriteRecord
}

/** A register value, superseding every live record of the key this replica sees. */
export function putWrite (w: LocalWriter, key: string, value: Json): WriteRecord {
  validateKey(key, w.limits)
  const normalized = JSON.parse(validateValue(value, w.limits)) as Json
  return w.write(key, { type: 'put', value: normalized }, [...w.state(key)?.live.values() ?? []])
}

/** Removes the versions of the key this replica sees; undefined (and no record) when it has none. */
export function deleteWrite (w: LocalWriter, key: string): WriteRecord | undefined {
  validateKey(key, w.limits)
  const live = [...w.state(key)?.live.values() ?? []]
  if (live.length === 0) return undefined
  return w.write(key, { type: 'delete' }, live)
}

/** A PN-counter step: this author's new cumulative totals, superseding its own earlier ones. */
export function counterWrite (w: LocalWriter, key: string, up: number, down: number): WriteRecord {
  validateKey(key, w.limits)
  const by = up + down
  if (typeof by !== 'number' || !Number.isFinite(by) || by <= 0) {
    throw new InvalidAmountError('a counter changes by a finite number > 0: use decrement to go down')
  }
  expectType(w, key, 'counter')
  const mine = [...w.state(key)?.live.values() ?? []]
    .filter((r) => r.op.type === 'counter' && r.dot.replica === w.replicaId)
    .sort((a, b) => b.dot.seq - a.dot.seq)
  const previous = mine[0]?.op as { p: number, n: number } | undefined
  const p = (previous?.p ?? 0) + up
  const n = (previous?.n ?? 0) + down
  if (!Number.isFinite(p) || !Number.isFinite(n)) {
    throw new InvalidAmountError('the counter would overflow: delete the key to reset it')
  }
  return w.write(key, { type: 'counter', p, n }, mine)
}

/** Adds an element; re-adding one replaces this replica's own earlier add of it. */
export function setAddWrite (w: LocalWriter, key: string, element: Json): WriteRecord {
  validateKey(key, w.limits)
  const normalized = JSON.parse(validateValue(element, w.limits, 'element')) as Json
  expectType(w, key, 'set')
  const adds = w.state(key)?.elements?.get(canonicalJson(normalized))
  const mine = [...adds?.values() ?? []].filter((r) => r.dot.replica === w.replicaId)
  return w.write(key, { type: 'set-add', element: normalized }, mine)
}

/** Removes the adds of `element` this replica sees; undefined (and no record) when there are none. */
export function setRemoveWrite (w: LocalWriter, key: string, element: Json): WriteRecord | undefined {
  validateKey(key, w.limits)
  const normalized = JSON.parse(validateValue(element, w.limits, 'element')) as Json
  expectType(w, key, 'set')
  const adds = [...w.state(key)?.elements?.get(canonicalJson(normalized))?.values() ?? []]
  if (adds.length === 0) return undefined
  return w.write(key, { type: 'set-remove', element: normalized }, adds)
}

function expectType (w: LocalWriter, key: string, type: ValueType): void {
  const current = w.typeOf(key)
  if (current !== undefined && current !== type) {
    throw new WrongTypeError(`key holds a ${current}, not a ${type}: delete it first to change its type`)
  }
}
