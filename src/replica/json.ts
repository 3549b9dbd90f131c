import { InvalidValueError } from './errors.js'
import type { Json } from './types.js'

/**
 * Checks that `value` is plain JSON that survives `JSON.stringify` / `JSON.parse` unchanged:
 * anything else (undefined, NaN, Dates, class instances, holes) would look different on
 * the replicas that receive it than on the one that wrote it.
 */
export function assertJson (value: unknown, maxDepth: number, what = 'value'): asserts value is Json {
  check(value, 0)

  function check (v: unknown, depth: number): void {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new InvalidValueError(`${what} contains ${String(v)}: JSON numbers must be finite`)
      return
    }
    if (typeof v !== 'object') {
      throw new InvalidValueError(`${what} contains a ${typeof v}: use only null, booleans, numbers, strings, arrays and plain objects`)
    }
    if (depth >= maxDepth) {
      throw new InvalidValueError(`${what} is nested deeper than ${maxDepth} levels (or is circular): flatten it`)
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) throw new InvalidValueError(`${what} is an array with holes: fill them with null`)
        check(v[i], depth + 1)
      }
      return
    }
    const proto: unknown = Object.getPrototypeOf(v)
    if (proto !== Object.prototype && proto !== null) {
      throw new InvalidValueError(`${what} contains a class instance: convert it to a plain object first`)
    }
    if (Object.getOwnPropertySymbols(v).length > 0) {
      throw new InvalidValueError(`${what} has symbol keys, which JSON cannot carry`)
    }
    for (const item of Object.values(v)) check(item, depth + 1)
  }
}

/**
 * JSON with object keys sorted at every level: two elements that are the same JSON value
 * written with keys in another order are the same set element.
 */
export function canonicalJson (value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const keys = Object.keys(value).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as Json)}`).join(',')}}`
}

export function utf8Length (text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** Freezes a JSON value in place so nobody can change a stored value through a reference to it. */
export function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const item of Object.values(value)) deepFreeze(item)
  }
  return value
}

export { isWellFormed } from '../text.js'
