/**
 * JSON schemas of every route: fastify validates requests with them (ajv) and serializes
 * replies with them (fast-json-stringify), and the OpenAPI document is built from them.
 * Reply schemas list every field a reply carries: a field missing here is missing on the wire.
 */
import { MAX_LIST_LIMIT } from './constants.js'

/** A JSON schema as this module writes it (plain data, OpenAPI 3.1 compatible). */
export interface JsonSchema { readonly [keyword: string]: unknown }

/** The schemas of one route, in fastify's shape, plus the OpenAPI texts. */
export interface RouteSchema {
  readonly summary: string
  readonly description?: string
  readonly tags: readonly string[]
  readonly params?: JsonSchema
  readonly querystring?: JsonSchema
  readonly headers?: JsonSchema
  readonly body?: JsonSchema
  readonly response: Readonly<Record<string, JsonSchema>>
}

const errorReply = {
  type: 'object',
  description: 'Every error: a stable code (see the README) and a message that says what to do.',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        current: { type: ['string', 'null'], description: 'ERR_VERSION_MISMATCH only: the key\'s current version here, null when it has none.' }
      }
    }
  }
} as const satisfies JsonSchema

export const errors = { '4xx': errorReply, '5xx': errorReply } as const

export const jsonValue = { description: 'any JSON value' } as const satisfies JsonSchema

const key = {
  type: 'string',
  minLength: 1,
  description: 'The key, percent-encoded in the URL (encodeURIComponent); 1-1024 bytes of UTF-8 once decoded.'
} as const satisfies JsonSchema

export const keyParams = {
  type: 'object',
  required: ['key'],
  additionalProperties: false,
  properties: { key }
} as const satisfies JsonSchema

const prefix = {
  type: 'string',
  maxLength: 4096,
  description: 'Only keys that start with this string.'
} as const satisfies JsonSchema

export const dot = {
  type: 'object',
  description: 'Names one write: the seq-th write of replica (a PeerId).',
  required: ['replica', 'seq'],
  properties: { replica: { type: 'string' }, seq: { type: 'integer' } }
} as const satisfies JsonSchema

export const hlc = {
  type: 'object',
  description: 'Hybrid logical clock: wall time (ms since the epoch) and a counter within one ms.',
  required: ['wall', 'logical'],
  properties: { wall: { type: 'integer' }, logical: { type: 'integer' } }
} as const satisfies JsonSchema

/** What a write answers once it is durable: the key and the write's dot and HLC. */
export const receipt = {
  type: 'object',
  required: ['key', 'dot', 'hlc'],
  properties: { key: { type: 'string' }, dot, hlc }
} as const satisfies JsonSchema

export const clock = {
  type: 'object',
  description: 'A version vector: PeerId → highest sequence number seen without a gap.',
  additionalProperties: { type: 'integer' }
} as const satisfies JsonSchema

export const leader = {
  type: 'object',
  required: ['peerId', 'term'],
  properties: {
    peerId: { type: 'string' },
    term: { type: 'integer', description: 'Only grows; the fencing token of the coordinator.' }
  }
} as const satisfies JsonSchema

export const memberStates = ['alive', 'suspect', 'dead', 'left'] as const

export const member = {
  type: 'object',
  required: ['peerId', 'addresses', 'state', 'incarnation', 'priority', 'tags', 'version', 'protocols', 'lastHeard', 'stateSince', 'self'],
  properties: {
    peerId: { type: 'string' },
    addresses: { type: 'array', items: { type: 'string' } },
    state: { type: 'string', enum: memberStates },
    incarnation: { type: 'integer' },
    priority: { type: 'number' },
    tags: { type: 'object', additionalProperties: { type: 'string' } },
    version: { type: 'string', description: 'The hearsay version the member announces; empty when it announces none (an older peer).' },
    protocols: { type: 'array', items: { type: 'string' }, description: 'The protocols it speaks, as <part>/<version> (membership/2.0.0).' },
    lastHeard: { type: 'number', description: 'ms since the epoch' },
    stateSince: { type: 'number', description: 'ms since the epoch' },
    self: { type: 'boolean' }
  }
} as const satisfies JsonSchema

const counters = { type: 'object', additionalProperties: { type: 'number' } } as const satisfies JsonSchema

const jobRun = {
  type: 'object',
  required: ['name', 'peer', 'term', 'start', 'end', 'outcome'],
  properties: {
    name: { type: 'string' },
    peer: { type: 'string' },
    term: { type: 'integer' },
    start: { type: 'number' },
    end: { type: 'number' },
    outcome: { type: 'string', enum: ['ok', 'error', 'aborted', 'timeout'] },
    error: { type: 'string' }
  }
} as const satisfies JsonSchema

export const job = {
  type: 'object',
  required: ['name', 'every', 'quorum', 'timeout', 'runs'],
  properties: {
    name: { type: 'string' },
    every: { type: 'number', description: 'ms' },
    quorum: { type: 'boolean' },
    timeout: { type: 'number', description: 'ms' },
    runs: { type: 'array', items: jobRun, description: 'The last recorded runs, newest last.' }
  }
} as const satisfies JsonSchema

export const healthSchema: RouteSchema = {
  summary: 'Liveness',
  description: 'Answers without a token; 503 ERR_STOPPING while the peer is not running.',
  tags: ['peer'],
  response: {
    200: {
      type: 'object',
      required: ['ok', 'peerId'],
      properties: { ok: { type: 'boolean', const: true }, peerId: { type: 'string' } }
    },
    ...errors
  }
}

export const statusSchema: RouteSchema = {
  summary: 'The peer at a glance',
  tags: ['peer'],
  response: {
    200: {
      type: 'object',
      required: ['peerId', 'network', 'version', 'protocols', 'addresses', 'connections', 'members', 'leader', 'term', 'keys', 'digest', 'clock', 'uptimeMs', 'stats'],
      properties: {
        peerId: { type: 'string' },
        network: { type: 'string' },
        version: { type: 'string', description: 'This peer\'s hearsay version.' },
        protocols: { type: 'array', items: { type: 'string' }, description: 'The protocols this peer speaks, as <part>/<version>.' },
        addresses: { type: 'array', items: { type: 'string' } },
        connections: {
          type: 'array',
          items: {
            type: 'object',
            required: ['peerId', 'address', 'direction'],
            properties: {
              peerId: { type: 'string' },
              address: { type: 'string' },
              direction: { type: 'string', enum: ['inbound', 'outbound'] }
            }
          }
        },
        members: {
          type: 'object',
          description: 'How many members this peer sees in each state, itself included.',
          required: [...memberStates],
          properties: Object.fromEntries(memberStates.map((s) => [s, { type: 'integer' }]))
        },
        leader: { anyOf: [leader, { type: 'null' }], description: 'The coordinator, or null while none is known.' },
        term: { type: 'integer', description: 'The highest election term this peer has seen.' },
        keys: { type: 'integer', description: 'Keys with a live value.' },
        digest: { type: 'string', description: 'Equal on two peers exactly when their replicas hold the same writes.' },
        clock,
        uptimeMs: { type: 'number', description: 'ms since the API was built over this peer' },
        stats: {
          type: 'object',
          required: ['kv', 'membership', 'election'],
          properties: {
            kv: { ...counters, properties: { log: counters } },
            membership: counters,
            election: counters,
            events: counters,
            observe: { ...counters, description: 'Beacons sent, unsent (nobody listened) and received, traces served and asked; otlp when exporting.', properties: { otlp: counters } },
            api: {
              type: 'object',
              description: 'What the API\'s limits refused and dropped: event streams (one budget for every kind) and requests over the rate.',
              required: ['streams', 'rateLimited'],
              properties: {
                streams: {
                  type: 'object',
                  required: ['open', 'max', 'byKind', 'refused', 'dropped'],
                  properties: {
                    open: { type: 'integer', description: 'Event streams open now, every kind.' },
                    max: { type: 'integer', description: 'Most open at once (maxStreams); one more is 503 ERR_TOO_MANY_STREAMS.' },
                    byKind: counters,
                    refused: { type: 'integer', description: 'Streams refused because the budget was spent.' },
                    dropped: { ...counters, description: 'Streams closed because the client did not keep up, by kind (events: /v1/events and /v1/monitor).' }
                  }
                },
                rateLimited: { type: 'integer', description: 'Requests answered 429 ERR_RATE_LIMITED.' }
              }
            }
          }
        }
      }
    },
    ...errors
  }
}

export const membersSchema: RouteSchema = {
  summary: 'The membership view',
  description: 'Every member this peer knows of, itself included (self: true); ?state= and ?tag=NAME=VALUE (each repeatable) ' +
    'keep those in one of the states that carry every tag given.',
  tags: ['peer'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      state: { type: 'array', items: { type: 'string', enum: memberStates }, description: 'Only members in one of these states.' },
      tag: { type: 'array', items: { type: 'string', pattern: '^[^=]+=', maxLength: 400 }, maxItems: 32, description: 'Only members with this tag (NAME=VALUE); all given must match.' }
    }
  },
  response: { 200: { type: 'array', items: member }, ...errors }
}

export const leaderSchema: RouteSchema = {
  summary: 'The coordinator this peer follows',
  description: '404 ERR_NO_LEADER while none is known.',
  tags: ['peer'],
  response: { 200: leader, ...errors }
}

export const jobsSchema: RouteSchema = {
  summary: 'Coordination jobs and their last runs',
  tags: ['peer'],
  response: {
    200: { type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: job } } },
    ...errors
  }
}

export const listSchema: RouteSchema = {
  summary: 'Entries under a prefix',
  tags: ['kv'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      prefix,
      limit: { type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT, description: 'At most this many entries (in key order).' },
      after: { type: 'string', description: 'Only keys after this one (the `next` of the page before).' },
      keys: { type: 'boolean', default: false, description: 'Names only: `keys` instead of `entries`.' }
    }
  },
  response: {
    200: {
      type: 'object',
      properties: {
        entries: {
          type: 'array',
          items: { type: 'object', required: ['key', 'value'], properties: { key: { type: 'string' }, value: jsonValue } }
        },
        keys: { type: 'array', items: { type: 'string' } },
        next: { type: 'string', description: 'Present when the page is full: pass it as `after` for the next page.' }
      }
    },
    ...errors
  }
}

export const getSchema: RouteSchema = {
  summary: 'One key',
  description: '404 ERR_KEY_NOT_FOUND when it holds no value.',
  tags: ['kv'],
  params: keyParams,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      versions: { type: 'boolean', default: false, description: 'Also return every concurrent version.' }
    }
  },
  response: {
    200: {
      type: 'object',
      required: ['key', 'value', 'type'],
      properties: {
        key: { type: 'string' },
        value: { ...jsonValue, description: 'The winner among concurrent versions, the same on every replica; a counter\'s total; a set\'s members in order.' },
        type: { type: 'string', enum: ['register', 'counter', 'set'], description: 'What the key holds: register (put), counter (a PN-counter) or set (an OR-set).' },
        version: { type: 'string', description: 'A register\'s current version (<author>/<seq>), also sent as the ETag: give it to If-Match or put --if.' },
        versions: {
          type: 'array',
          items: {
            type: 'object',
            required: ['value', 'clock', 'author', 'hlc', 'dot'],
            properties: { value: jsonValue, clock, author: { type: 'string' }, hlc, dot }
          }
        }
      }
    },
    ...errors
  }
}

export const putSchema: RouteSchema = {
  summary: 'Write a key',
  description: 'The body is the value: any JSON value, sent as application/json. Answers once the write is durable. ' +
    'Conditional: `If-Match: <version>` writes only when the key\'s current version here is that one, `If-None-Match: *` only ' +
    'when the key has no value; otherwise 412 ERR_VERSION_MISMATCH with the current version. The check is local: two peers ' +
    'can both accept concurrent conditional writes, which then become siblings.',
  tags: ['kv'],
  params: keyParams,
  headers: {
    type: 'object',
    properties: {
      'if-match': { type: 'string', description: 'The version (<author>/<seq>) the key must have here; quotes around it are allowed.' },
      'if-none-match': { type: 'string', enum: ['*'], description: '`*`: the key must have no value.' }
    }
  },
  body: jsonValue,
  response: { 200: receipt, ...errors }
}

export const deleteSchema: RouteSchema = {
  summary: 'Delete a key',
  description: 'Removes the versions this peer has seen; deleted is false when there was nothing to delete.',
  tags: ['kv'],
  params: keyParams,
  response: {
    200: {
      type: 'object',
      required: ['key', 'deleted'],
      properties: { key: { type: 'string' }, deleted: { type: 'boolean' }, dot }
    },
    ...errors
  }
}

export const watchSchema: RouteSchema = {
  summary: 'Changes as server-sent events',
  description: 'One `event: change` per change, with an `id:` and data {"key","value","origin"} (for a delete: no value and ' +
    '"deleted": true), and a keep-alive comment line at an interval. With ?snapshot=true the current entries come first, one ' +
    '`event: entry` each ({"key","value"}), then `event: snapshot-end` ({"entries": N}) whose id the changes after it follow. ' +
    'A client that reconnects with the Last-Event-ID header gets the changes it missed; when they are no longer kept here ' +
    '(or the id is not this API\'s), an `event: reset` ({"reason","lastEventId"}) and a snapshot come instead. A client that ' +
    'does not keep up is disconnected.',
  tags: ['kv'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { prefix, snapshot: { type: 'boolean', default: false, description: 'Send the current entries under the prefix first.' } }
  },
  headers: {
    type: 'object',
    properties: {
      'last-event-id': { type: 'string', maxLength: 128, description: 'The id of the last event a reconnecting client received.' }
    }
  },
  response: {
    200: { content: { 'text/event-stream': { schema: { type: 'string' } } } },
    ...errors
  }
}

export const metricsSchema: RouteSchema = {
  summary: 'Prometheus metrics',
  description: 'libp2p\'s metrics and hearsay\'s (hearsay_*), in the Prometheus text format.',
  tags: ['meta'],
  response: {
    200: { content: { 'text/plain': { schema: { type: 'string' } } } },
    ...errors
  }
}

export const openApiSchema: RouteSchema = {
  summary: 'This document',
  tags: ['meta'],
  response: { 200: { type: 'object', additionalProperties: true }, ...errors }
}
