import type { Json } from '../../replica/index.js'
import { BadRequestError } from '../errors.js'
import { errors, jsonValue, keyParams, receipt, type JsonSchema, type RouteSchema } from '../schemas.js'
import { keyCheck } from './kv.js'
import type { RouteContext } from './context.js'

/**
 * Routes for fault injection, registered only when the peer runs with `--test-faults`
 * (`ApiOptions.testFaults`): without it they do not exist (404 ERR_NOT_FOUND). They need
 * the API token like every other route. The multi-process harness and the chaos runner use
 * them to cut one peer off from others (its connection gater) and to write counters and sets
 * (adds and removes), answering with the write's dot.
 */

/** Most PeerIds one partition request may deny. */
const MAX_DENY = 1_024

const peerIdPattern = '^[1-9A-HJ-NP-Za-km-z]{40,128}$'

const denied = {
  type: 'object',
  required: ['deny'],
  properties: { deny: { type: 'array', items: { type: 'string' }, description: 'The PeerIds this peer refuses now.' } }
} as const satisfies JsonSchema

export const getPartitionSchema: RouteSchema = {
  summary: 'Testing: the PeerIds this peer refuses',
  tags: ['testing'],
  response: { 200: denied, ...errors }
}

export const partitionSchema: RouteSchema = {
  summary: 'Testing: refuse exactly these PeerIds',
  description: 'Replaces the connection gater\'s list: the peer drops its connections to them and neither dials nor accepts them until healed. Only with --test-faults.',
  tags: ['testing'],
  body: {
    type: 'object',
    required: ['deny'],
    additionalProperties: false,
    properties: { deny: { type: 'array', maxItems: MAX_DENY, uniqueItems: true, items: { type: 'string', pattern: peerIdPattern } } }
  },
  response: { 200: denied, ...errors }
}

export const healSchema: RouteSchema = {
  summary: 'Testing: refuse nobody',
  description: 'Lifts every block; reconnecting is the peer\'s own job. Only with --test-faults.',
  tags: ['testing'],
  response: { 200: denied, ...errors }
}

export const counterSchema: RouteSchema = {
  summary: 'Testing: increment a counter',
  description: 'Answers once the write is durable. Only with --test-faults.',
  tags: ['testing'],
  params: keyParams,
  body: {
    type: 'object',
    required: ['by'],
    additionalProperties: false,
    properties: { by: { type: 'number', exclusiveMinimum: 0 } }
  },
  response: { 200: receipt, ...errors }
}

export const setSchema: RouteSchema = {
  summary: 'Testing: add an element to a set, or remove it',
  description: 'Body { add } or { remove }. Answers once the write is durable, with its dot and changed: true; a remove of an ' +
    'element this peer holds no add of writes nothing and answers changed: false. Only with --test-faults.',
  tags: ['testing'],
  params: keyParams,
  body: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    properties: { add: jsonValue, remove: jsonValue }
  },
  response: {
    200: {
      type: 'object',
      required: ['key', 'changed'],
      properties: { ...receipt.properties, changed: { type: 'boolean', description: 'false: a remove that found nothing to remove here.' } }
    },
    ...errors
  }
}

interface KeyParams { key: string }

/** GET/POST /v1/test/partition, POST /v1/test/heal, POST /v1/test/counter/:key, POST /v1/test/set/:key ({ add } or { remove }) */
export function registerTestRoutes ({ app, peer }: RouteContext): void {
  const checkKey = keyCheck(peer)
  app.get('/v1/test/partition', { schema: getPartitionSchema }, async () => ({ deny: peer.net.blocked() }))

  app.post<{ Body: { deny: string[] } }>('/v1/test/partition', { schema: partitionSchema }, async (request) => {
    const { deny } = request.body
    if (deny.includes(peer.peerId)) throw new BadRequestError('body.deny names this peer itself: a peer cannot be cut off from itself')
    // Replace, not add: the caller states the whole list, so a repeated request changes nothing.
    const lifted = peer.net.blocked().filter((id) => !deny.includes(id))
    peer.net.unblock(lifted)
    await peer.net.block(deny)
    return { deny: peer.net.blocked() }
  })

  app.post('/v1/test/heal', { schema: healSchema }, async () => {
    peer.net.unblock()
    return { deny: peer.net.blocked() }
  })

  app.post<{ Params: KeyParams, Body: { by: number } }>('/v1/test/counter/:key', { schema: counterSchema }, async (request) => {
    checkKey(request.params.key)
    return await peer.kv.increment(request.params.key, request.body.by)
  })

  app.post<{ Params: KeyParams, Body: { add: Json } | { remove: Json } }>('/v1/test/set/:key', { schema: setSchema }, async (request) => {
    checkKey(request.params.key)
    const body = request.body
    if ('add' in body) return { ...await peer.kv.setAdd(request.params.key, body.add), changed: true }
    const receipt = await peer.kv.setRemove(request.params.key, body.remove)
    return receipt === undefined ? { key: request.params.key, changed: false } : { ...receipt, changed: true }
  })
}
