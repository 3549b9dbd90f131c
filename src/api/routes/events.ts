import { publishEventSchema, querySchema } from '../schemas-events.js'
import type { RouteContext } from './context.js'

interface NameParams { name: string }

/** POST /v1/events/:name, POST /v1/queries/:name (GET /v1/events streams them as `user` events: event-sources.ts) */
export function registerEventRoutes ({ app, peer }: RouteContext): void {
  // No body sends null (the library's `publish(name)`); the name and payload are checked by the events part.
  app.post<{ Params: NameParams, Body: unknown }>('/v1/events/:name', { schema: publishEventSchema }, async (request) =>
    await peer.events.publish(request.params.name, request.body))

  app.post<{ Params: NameParams, Querystring: { timeout?: number }, Body: unknown }>('/v1/queries/:name', { schema: querySchema }, async (request) => {
    const { timeout } = request.query
    return await peer.events.query(request.params.name, request.body, timeout === undefined ? {} : { timeout })
  })
}
