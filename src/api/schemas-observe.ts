/**
 * JSON schemas of the routes that show the network: convergence, write traces, the dashboard's
 * snapshot and stream, and the dashboard page itself. Like schemas.ts, reply schemas list every
 * field a reply carries.
 */
import { clock, dot, errors, hlc, job, keyParams, leader, member, type JsonSchema, type RouteSchema } from './schemas.js'

const nullable = (type: string, description?: string): JsonSchema => ({ type: [type, 'null'], ...(description === undefined ? {} : { description }) })

const memberLag = {
  type: 'object',
  required: ['peerId', 'state', 'self', 'vector', 'digest', 'keys', 'reportedAt', 'source', 'lagEntries', 'aheadEntries', 'oldestMissingMs', 'inSync'],
  properties: {
    peerId: { type: 'string' },
    state: { type: 'string' },
    self: { type: 'boolean' },
    vector: { anyOf: [clock, { type: 'null' }], description: 'The most this peer knows the member holds (null: nothing learned yet).' },
    digest: nullable('string', 'Its replica digest as of its last report.'),
    keys: nullable('integer', 'Its live keys as of its last beacon.'),
    reportedAt: nullable('number', 'When its last report arrived (ms since the epoch).'),
    source: { type: ['string', 'null'], enum: ['beacon', 'anti-entropy', null], description: 'Where its last report came from.' },
    lagEntries: nullable('integer', 'Writes this peer holds that the member lacks (an upper bound).'),
    aheadEntries: nullable('integer', 'Writes the member has that this peer lacks.'),
    oldestMissingMs: nullable('number', 'Age of the oldest write it lacks (ms); 0 when it lacks none.'),
    inSync: { type: 'boolean', description: 'Its last report had this peer\'s digest, and it lacks nothing.' }
  }
} as const satisfies JsonSchema

const convergence = {
  type: 'object',
  required: ['peerId', 'at', 'converged', 'vector', 'digest', 'keys', 'members'],
  properties: {
    peerId: { type: 'string' },
    at: { type: 'number', description: 'ms since the epoch' },
    converged: { type: 'boolean', description: 'Every member alive or suspect last reported this peer\'s digest and lacks nothing.' },
    vector: clock,
    digest: { type: 'string' },
    keys: { type: 'integer' },
    members: { type: 'array', items: memberLag, description: 'Every member of the view, this peer first.' }
  }
} as const satisfies JsonSchema

const peerTrace = {
  type: 'object',
  required: ['peerId', 'status'],
  properties: {
    peerId: { type: 'string' },
    status: { type: 'string', enum: ['applied', 'held', 'missing', 'no-answer'] },
    path: { type: 'string', enum: ['local', 'gossip', 'anti-entropy'] },
    from: { type: 'string', description: 'Who handed the write over.' },
    receivedAt: { type: 'number', description: 'ms since the epoch, on that peer\'s clock' },
    appliedAt: { type: 'number', description: 'ms since the epoch, on that peer\'s clock' },
    afterMs: { type: 'number', description: 'appliedAt − writtenAt: across hosts only as good as their clock sync' },
    error: { type: 'string', description: 'Why it did not answer.' }
  }
} as const satisfies JsonSchema

const traceReport = {
  type: 'object',
  required: ['traceId', 'key', 'dot', 'op', 'author', 'hlc', 'writtenAt', 'peers', 'complete', 'propagationMs', 'unanswered'],
  properties: {
    traceId: { type: 'string', description: '<author>/<seq>: the write\'s dot.' },
    key: { type: 'string' },
    dot,
    op: { type: 'string', enum: ['put', 'delete', 'counter', 'set-add', 'set-remove'] },
    author: { type: 'string' },
    hlc,
    writtenAt: { type: 'number', description: 'When it was made (ms since the epoch).' },
    peers: { type: 'array', items: peerTrace, description: 'Every member asked, this peer included; applied ones first, in the order they applied it.' },
    complete: { type: 'boolean', description: 'Every member asked holds the write.' },
    propagationMs: nullable('number', 'From writtenAt until the last member applied it, once all have it and said when.'),
    unanswered: { type: 'array', items: { type: 'string' }, description: 'Members that did not answer in time.' }
  }
} as const satisfies JsonSchema

const graph = {
  type: 'object',
  required: ['nodes', 'edges'],
  properties: {
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['peerId', 'state', 'self', 'linksAt'],
        properties: { peerId: { type: 'string' }, state: { type: 'string' }, self: { type: 'boolean' }, linksAt: nullable('number') }
      }
    },
    edges: {
      type: 'array',
      items: {
        type: 'object',
        required: ['a', 'b', 'connected', 'mesh'],
        properties: {
          a: { type: 'string' },
          b: { type: 'string' },
          connected: { type: 'boolean', description: 'Either end has an open connection to the other.' },
          mesh: { type: 'array', items: { type: 'string' }, description: 'Gossipsub topics (kv, beacon) on which they are mesh peers.' }
        }
      }
    }
  }
} as const satisfies JsonSchema

const timeout = { type: 'integer', minimum: 50, maximum: 30_000, description: 'How long to wait for the other members (ms). Default 2000.' } as const

export const snapshot = {
  type: 'object',
  required: ['at', 'peerId', 'network', 'version', 'leader', 'term', 'role', 'members', 'convergence', 'graph', 'keys', 'writes', 'jobs'],
  properties: {
    at: { type: 'number' },
    peerId: { type: 'string' },
    network: { type: 'string' },
    version: { type: 'string', description: 'This peer\'s hearsay version.' },
    leader: { anyOf: [leader, { type: 'null' }] },
    term: { type: 'integer' },
    role: { type: 'string', enum: ['follower', 'candidate', 'coordinator', 'stopped'] },
    members: { type: 'array', items: member },
    convergence,
    graph,
    keys: {
      type: 'object',
      required: ['total', 'entries'],
      properties: {
        total: { type: 'integer' },
        entries: {
          type: 'array',
          description: 'The first keys in key order, each with the start of its value\'s JSON.',
          items: { type: 'object', required: ['key', 'preview'], properties: { key: { type: 'string' }, preview: { type: 'string' } } }
        }
      }
    },
    writes: { type: 'array', items: traceReport, description: 'The last writes to reach this peer, newest first.' },
    jobs: { type: 'array', items: job }
  }
} as const satisfies JsonSchema

export const convergenceSchema: RouteSchema = {
  summary: 'How far behind each member is',
  description: 'Per member: writes it lacks (by version vectors learned from beacons, anti-entropy and gossip), the age of the oldest, ' +
    'and whether this peer believes the network has converged.',
  tags: ['observe'],
  response: { 200: convergence, ...errors }
}

export const traceSchema: RouteSchema = {
  summary: 'When each member applied the last write of a key',
  description: 'The newest write of the key this peer knows, and when and how (local, gossip, anti-entropy) every member alive or ' +
    'suspect applied it. 404 ERR_NO_TRACE when no write of the key is known here.',
  tags: ['observe'],
  params: keyParams,
  querystring: { type: 'object', additionalProperties: false, properties: { timeout } },
  response: { 200: traceReport, ...errors }
}

export const tracesSchema: RouteSchema = {
  summary: 'The last writes to reach this peer, each traced across the members',
  tags: ['observe'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 }, timeout }
  },
  response: {
    200: { type: 'object', required: ['traces'], properties: { traces: { type: 'array', items: traceReport } } },
    ...errors
  }
}

export const dashboardSnapshotSchema: RouteSchema = {
  summary: 'Everything the dashboard shows, once',
  tags: ['observe'],
  response: { 200: snapshot, ...errors }
}

export const dashboardEventsSchema: RouteSchema = {
  summary: 'The dashboard\'s live stream',
  description: 'Server-sent events: `event: snapshot` with the body of GET /v1/dashboard, every second and soon after a change of ' +
    'members or leader. Needs the bearer token like every /v1 route (the page reads it with fetch, not EventSource).',
  tags: ['observe'],
  response: { 200: { content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors }
}

export const pageSchema: RouteSchema = {
  summary: 'The dashboard page',
  description: 'No token needed to load it: the page asks for the token and keeps it in the browser session.',
  tags: ['observe'],
  response: { 200: { content: { 'text/html': { schema: { type: 'string' } } } }, ...errors }
}

export const assetSchema: RouteSchema = {
  summary: 'The dashboard\'s script and style sheet',
  tags: ['observe'],
  params: {
    type: 'object',
    required: ['file'],
    additionalProperties: false,
    properties: { file: { type: 'string', maxLength: 64, description: 'app.js or style.css' } }
  },
  response: { 200: { content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } }, ...errors }
}
