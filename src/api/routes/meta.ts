import { metricsSchema, openApiSchema } from '../schemas.js'
import type { RouteContext } from './context.js'

/** /metrics, /v1/openapi.json */
export function registerMetaRoutes ({ app, metrics, openApi }: RouteContext): void {
  app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
    const text = await metrics.scrape()
    // A text content type: fastify sends the string as it is.
    void reply.type(metrics.contentType)
    return text
  })

  app.get('/v1/openapi.json', { schema: openApiSchema }, async () => openApi())
}
