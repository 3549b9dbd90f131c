/** JSON schemas of the routes that change a running peer: reloading its config, membership, tags. */
import { errors, member, type RouteSchema } from './schemas.js'

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const

export const reloadSchema: RouteSchema = {
  summary: 'Re-read the config file',
  description: 'Re-reads the file the peer was started with (--config), as SIGHUP does, and applies at once what a running peer ' +
    'can take: the log level, the tags and the writers list (a writer taken off the list has its new writes refused from then ' +
    'on). Flags and HEARSAY_* variables keep winning over the file. A bad file is refused (400 ERR_CONFIG naming the field) ' +
    'and the old settings stay. 409 ERR_NO_CONFIG when the peer has no config file.',
  tags: ['peer'],
  response: {
    200: {
      type: 'object',
      required: ['config', 'applied', 'restartNeeded'],
      properties: {
        config: { type: 'string', description: 'The file re-read.' },
        applied: {
          type: 'object',
          required: ['logLevel', 'tags', 'writers'],
          properties: {
            logLevel: { type: 'string' },
            tags: stringMap,
            writers: { type: ['array', 'null'], items: { type: 'string' }, description: 'null: anyone may write.' }
          }
        },
        restartNeeded: { type: 'array', items: { type: 'string' }, description: 'Settings the file changes that take a restart.' }
      }
    },
    ...errors
  }
}

const peerIdPattern = '^[1-9A-HJ-NP-Za-km-z]{40,128}$'

export const joinSchema: RouteSchema = {
  summary: 'Join through more addresses',
  description: 'Dials each address (a multiaddr, with or without /p2p/) and exchanges membership views with whoever answers, ' +
    'without a restart. One result per address: the PeerId that answered, or the error.',
  tags: ['peer'],
  body: {
    type: 'object',
    required: ['addresses'],
    additionalProperties: false,
    properties: {
      addresses: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 1024 } }
    }
  },
  response: {
    200: {
      type: 'object',
      required: ['joined', 'results'],
      properties: {
        joined: { type: 'integer', description: 'How many addresses answered.' },
        results: {
          type: 'array',
          items: { type: 'object', required: ['address'], properties: { address: { type: 'string' }, peerId: { type: 'string' }, error: { type: 'string' } } }
        }
      }
    },
    ...errors
  }
}

export const leaveSchema: RouteSchema = {
  summary: 'Leave the network, then stop',
  description: 'Answers at once; then the peer tells every member it leaves (they see it `left`), stops, and a peer run by ' +
    '`hearsay start` exits.',
  tags: ['peer'],
  response: { 200: { type: 'object', required: ['leaving', 'peerId'], properties: { leaving: { type: 'boolean' }, peerId: { type: 'string' } } }, ...errors }
}

export const forceLeaveSchema: RouteSchema = {
  summary: 'Mark another member left everywhere (force-leave)',
  description: 'The member goes `left` here at once and the news spreads like any membership update: a dead member no longer ' +
    'lingers until it is reaped. A live member hears it and refutes it (alive again, with a higher incarnation). ' +
    '404 ERR_MEMBER_NOT_FOUND for a member this peer does not know; 400 for this peer itself (use POST /v1/leave).',
  tags: ['peer'],
  params: {
    type: 'object',
    required: ['peerId'],
    additionalProperties: false,
    properties: { peerId: { type: 'string', pattern: peerIdPattern } }
  },
  response: { 200: member, ...errors }
}

export const tagsSchema: RouteSchema = {
  summary: 'Change this peer\'s tags',
  description: 'Sets (adds or changes) and deletes tags, announced under a new incarnation and spread like every membership ' +
    'update. Answers the tags now. 400 ERR_INVALID_TAGS (nothing changes) for tags the members would refuse.',
  tags: ['peer'],
  body: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: {
      set: stringMap,
      delete: { type: 'array', items: { type: 'string' }, maxItems: 64 }
    }
  },
  response: { 200: { type: 'object', required: ['tags'], properties: { tags: stringMap } }, ...errors }
}
