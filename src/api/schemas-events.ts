/** JSON schemas of the user event and query routes (see schemas.ts for how they are used). */
import { MAX_QUERY_TIMEOUT } from '../events/index.js'
import { errors, jsonValue, type JsonSchema, type RouteSchema } from './schemas.js'

const nameParams = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: {
      type: 'string',
      description: 'The event or query name: 1-128 letters, digits or "_ . : @ + -", starting with a letter, a digit or "_".'
    }
  }
} as const satisfies JsonSchema

const payloadBody = {
  ...jsonValue,
  description: 'The payload: any JSON value, sent as application/json, at most 64 KiB of JSON by default. No body sends null.'
} as const satisfies JsonSchema

export const publishEventSchema: RouteSchema = {
  summary: 'Send a user event to every member',
  description: 'Signed by this peer and spread over gossipsub; every member (this peer included) emits it once as a `user` event ' +
    '(GET /v1/events). Not stored: a member unreachable now never gets it. 413 ERR_EVENT_TOO_LARGE over the payload limit, ' +
    '429 ERR_RATE_LIMITED past this peer\'s rate (20 a second, bursts of 100, by default).',
  tags: ['events'],
  params: nameParams,
  body: payloadBody,
  response: {
    200: {
      type: 'object',
      required: ['id', 'name', 'at', 'recipients'],
      properties: {
        id: { type: 'string', description: 'The event\'s id (32 hex characters), the same on every member.' },
        name: { type: 'string' },
        at: { type: 'integer', description: 'When it was sent, by this peer\'s clock (ms since the epoch).' },
        recipients: { type: 'integer', description: 'Neighbours gossipsub handed it to (0 when no other member listens yet).' }
      }
    },
    ...errors
  }
}

const queryResponse = {
  type: 'object',
  description: 'One member\'s answer: its handler\'s result (payload), or why the handler failed (error).',
  required: ['peerId'],
  properties: {
    peerId: { type: 'string' },
    payload: jsonValue,
    error: { type: 'string' }
  }
} as const satisfies JsonSchema

export const querySchema: RouteSchema = {
  summary: 'Ask every member',
  description: 'Members with a handler for the name (peer.events.onQuery) answer over a direct stream; the answer comes once every ' +
    'member alive or suspect has answered, or at the timeout, with the members that did not answer.',
  tags: ['events'],
  params: nameParams,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      timeout: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_QUERY_TIMEOUT,
        description: 'How long to wait for answers (ms); the peer\'s default (2000) when absent.'
      }
    }
  },
  body: payloadBody,
  response: {
    200: {
      type: 'object',
      required: ['id', 'name', 'responses', 'missing'],
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        responses: { type: 'array', items: queryResponse, description: 'In the order they came.' },
        missing: {
          type: 'array',
          items: { type: 'string' },
          description: 'Members alive or suspect when asked (this peer included) that did not answer in time: no handler, unreachable, or too slow.'
        }
      }
    },
    ...errors
  }
}
