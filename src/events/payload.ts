/**
 * Names and payloads: what a sender may send, and what a receiver accepts. Pure.
 */
import type { Json } from '../replica/index.js'
import { EVENT_NAME_PATTERN } from './constants.js'
import { EventTooLargeError, InvalidEventNameError, InvalidPayloadError, MalformedEventError } from './errors.js'

export function checkName (name: unknown): string {
  if (typeof name !== 'string' || !EVENT_NAME_PATTERN.test(name)) throw new InvalidEventNameError(name)
  return name
}

export function isEventName (name: unknown): name is string {
  return typeof name === 'string' && EVENT_NAME_PATTERN.test(name)
}

/**
 * The JSON text of a payload to send: plain JSON (`undefined` is sent as `null`), at most
 * `maxDepth` levels deep and `maxBytes` of UTF-8. Throws InvalidPayloadError or EventTooLargeError.
 */
export function encodePayload (value: unknown, maxBytes: number, maxDepth: number): string {
  const payload = value === undefined ? null : value
  const problem = jsonProblem(payload, maxDepth)
  if (problem !== undefined) throw new InvalidPayloadError(problem)
  const text = JSON.stringify(payload)
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > maxBytes) throw new EventTooLargeError(bytes, maxBytes)
  return text
}

/** Parses a received payload's JSON text; throws EventTooLargeError or MalformedEventError. */
export function decodePayload (text: string, maxBytes: number, maxDepth: number): Json {
  // Each UTF-16 unit is at most 3 bytes of UTF-8: a short string needs no count.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text, 'utf8')
    if (bytes > maxBytes) throw new EventTooLargeError(bytes, maxBytes)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new MalformedEventError('the payload is not JSON', { cause: err })
  }
  // JSON.parse turns 1e400 into Infinity, which JSON cannot carry back out.
  const problem = jsonProblem(value, maxDepth)
  if (problem !== undefined) throw new MalformedEventError(`the payload ${problem}`)
  return withoutNegativeZero(value as Json)
}

/**
 * `-0` (or a number too small for a double, like -1e-400) parses to -0, which JSON.stringify
 * writes as 0: receivers get 0, as the sender's own listeners did. Call on checked JSON only.
 */
function withoutNegativeZero (value: Json): Json {
  if (Object.is(value, -0)) return 0
  const stack: Json[] = [value]
  while (stack.length > 0) {
    const v = stack.pop() as Json
    if (v === null || typeof v !== 'object') continue
    const entries: Array<[string | number, Json]> = Array.isArray(v) ? v.map((item, i) => [i, item]) : Object.entries(v)
    for (const [key, item] of entries) {
      if (Object.is(item, -0)) (v as Record<string | number, Json>)[key] = 0
      else if (item !== null && typeof item === 'object') stack.push(item)
    }
  }
  return value
}

/** Why `value` is not plain JSON that survives JSON.stringify and JSON.parse unchanged, or undefined if it is. */
export function jsonProblem (value: unknown, maxDepth: number): string | undefined {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number]
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `contains ${String(v)}: JSON numbers must be finite`
      continue
    }
    if (typeof v !== 'object') return `contains a ${typeof v}: use only null, booleans, numbers, strings, arrays and plain objects`
    if (depth >= maxDepth) return `is nested deeper than ${maxDepth} levels (or is circular): flatten it`
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) return 'is an array with holes: fill them with null'
        stack.push([v[i], depth + 1])
      }
      continue
    }
    const proto: unknown = Object.getPrototypeOf(v)
    if (proto !== Object.prototype && proto !== null) return 'contains a class instance: convert it to a plain object first'
    if (Object.getOwnPropertySymbols(v).length > 0) return 'has symbol keys, which JSON cannot carry'
    for (const item of Object.values(v)) stack.push([item, depth + 1])
  }
  return undefined
}
