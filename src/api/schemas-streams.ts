/** JSON schemas of the event streams: the peer's events and its log lines. */
import { errors, type RouteSchema } from './schemas.js'

const levels = ['error', 'warn', 'info', 'debug'] as const
const sse = { content: { 'text/event-stream': { schema: { type: 'string' } } } } as const

export function eventsSchema (types: readonly string[]): RouteSchema {
  return {
    summary: 'The peer\'s events as server-sent events',
    description: 'One event per member change (`event: member`, data {"change": "join"|"leave"|"fail"|"update"|"reap", "member"}) ' +
      'and per change of coordinator (`event: leader`, data {"leader": {"peerId","term"} | null}), and any other kind this peer ' +
      'has (the `type` values below), from the moment the stream opens. ?type= (repeatable) keeps only those kinds. A client ' +
      'that does not keep up is disconnected.',
    tags: ['observe'],
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        type: { type: 'array', items: { type: 'string', enum: [...types] }, uniqueItems: true, description: 'Only these kinds of event (default: all).' }
      }
    },
    response: { 200: sse, ...errors }
  }
}

export const monitorSchema: RouteSchema = {
  summary: 'This peer\'s log lines as server-sent events',
  description: 'One `event: log` per log line at `level` or more severe, whatever level the peer itself logs at; data is the ' +
    'line as the peer writes it (pino JSON: level, time, component, msg, ...). Only a peer run by `hearsay start` has its log ' +
    'here (404 ERR_NO_LOG_SOURCE otherwise). A client that does not keep up is disconnected.',
  tags: ['observe'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { level: { type: 'string', enum: levels, default: 'info', description: 'The least severe level to send.' } }
  },
  response: { 200: sse, ...errors }
}
