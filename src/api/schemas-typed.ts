/**
 * JSON schemas of the typed-value routes: counters (PN-counter) and sets (OR-set). Like
 * schemas.ts, reply schemas list every field a reply carries.
 */
import { dot, errors, hlc, jsonValue, keyParams, type JsonSchema, type RouteSchema } from './schemas.js'

export const valueTypes = ['register', 'counter', 'set'] as const

const typedReply = {
  type: 'object',
  required: ['key', 'type', 'value', 'changed'],
  properties: {
    key: { type: 'string' },
    type: { type: ['string', 'null'], enum: [...valueTypes, null], description: 'What the key holds now; null when nothing.' },
    value: { ...jsonValue, description: 'The value after the write, as this peer sees it: a counter\'s total, a set\'s members in order.' },
    changed: { type: 'boolean', description: 'false when there was nothing to do (removing an element the set does not hold).' },
    dot: { ...dot, description: 'The write, when there was one.' },
    hlc
  }
} as const satisfies JsonSchema

export const counterSchema: RouteSchema = {
  summary: 'Add to a counter',
  description: 'A PN-counter: concurrent additions on different peers all count. `by` may be negative to subtract ' +
    '(default 1). Answers once the write is durable. 409 ERR_WRONG_TYPE when the key holds a register or a set.',
  tags: ['kv'],
  params: keyParams,
  body: {
    type: 'object',
    additionalProperties: false,
    properties: {
      by: { type: 'number', not: { const: 0 }, default: 1, description: 'How much to add; negative to subtract; not 0.' }
    }
  },
  response: { 200: typedReply, ...errors }
}

export const setSchema: RouteSchema = {
  summary: 'Add an element to a set, or remove one',
  description: 'An add-wins OR-set: an add concurrent with a remove of the same element survives. Send {"add": element} ' +
    'or {"remove": element}, any JSON value. Answers once the write is durable. 409 ERR_WRONG_TYPE when the key holds a register or a counter.',
  tags: ['kv'],
  params: keyParams,
  body: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    properties: { add: jsonValue, remove: jsonValue }
  },
  response: { 200: typedReply, ...errors }
}
