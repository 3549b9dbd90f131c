import type { LogLevel, LogSource } from '../../log.js'
import { ApiError } from '../errors.js'
import type { PeerEventSource } from '../event-sources.js'
import { eventsSchema, monitorSchema } from '../schemas-streams.js'
import type { SseStream, SseStreams } from '../sse.js'
import type { RouteContext } from './context.js'

export interface StreamRoutes {
  readonly streams: SseStreams
  readonly sources: readonly PeerEventSource[]
  readonly logs: LogSource | undefined
}

/** GET /v1/events, GET /v1/monitor */
export function registerStreamRoutes ({ app, peer, streamBudget }: RouteContext, { streams, sources, logs }: StreamRoutes): void {
  app.get<{ Querystring: { type?: string[] } }>('/v1/events', { schema: eventsSchema(sources.map((s) => s.type)) }, async (request, reply) => {
    const wanted = request.query.type
    const chosen = wanted === undefined || wanted.length === 0 ? sources : sources.filter((s) => wanted.includes(s.type))
    streamBudget.take('events', reply.raw)
    // The stream is ours from here: fastify neither serializes nor ends this reply.
    reply.hijack()
    const offs: Array<() => void> = []
    const stream = streams.open(reply.raw, () => { for (const off of offs) off() })
    if (stream === undefined) return
    for (const source of chosen) offs.push(source.subscribe(peer, (data) => { stream.event(source.type, data) }))
    stream.comment(`events: ${chosen.map((s) => s.type).join(', ')}`)
  })

  app.get<{ Querystring: { level: LogLevel } }>('/v1/monitor', { schema: monitorSchema }, async (request, reply) => {
    if (logs === undefined) {
      throw new ApiError('ERR_NO_LOG_SOURCE', 'this API has no log to stream: only a peer run by "hearsay start" serves its log lines')
    }
    streamBudget.take('monitor', reply.raw)
    let stream: SseStream | undefined
    let off: () => void
    try {
      off = logs.subscribe(request.query.level, (line) => { stream?.raw('log', line) })
    } catch (err) {
      throw new ApiError('ERR_TOO_MANY_STREAMS', `${(err as Error).message}: try again once another follower has gone`)
    }
    reply.hijack()
    stream = streams.open(reply.raw, off)
    if (stream === undefined) off()
    else stream.comment(`log lines at ${request.query.level} and above`)
  })
}
