import { NoTraceError, RouteNotFoundError } from '../errors.js'
import type { DashboardHub } from '../dashboard.js'
import { loadAsset, PAGE_HEADERS } from '../static.js'
import {
  assetSchema, convergenceSchema, dashboardEventsSchema, dashboardSnapshotSchema, pageSchema, traceSchema, tracesSchema
} from '../schemas-observe.js'
import { keyCheck } from './kv.js'
import type { RouteContext } from './context.js'

/** /v1/convergence, /v1/trace/:key, /v1/traces, /v1/dashboard, /v1/dashboard/events, and the page: /, /ui/:file */
export function registerObserveRoutes ({ app, peer, streamBudget }: RouteContext, dashboard: DashboardHub): void {
  const checkKey = keyCheck(peer)
  app.get('/v1/convergence', { schema: convergenceSchema }, async () => peer.observe.convergence())

  app.get<{ Params: { key: string }, Querystring: { timeout?: number } }>('/v1/trace/:key', { schema: traceSchema }, async (request) => {
    const { key } = request.params
    checkKey(key)
    const timeout = request.query.timeout
    const report = await peer.observe.trace(key, timeout === undefined ? {} : { timeout })
    if (report === undefined) throw new NoTraceError(key)
    return report
  })

  app.get<{ Querystring: { limit: number, timeout?: number } }>('/v1/traces', { schema: tracesSchema }, async (request) => {
    const { limit, timeout } = request.query
    return { traces: await peer.observe.recentTraces(limit, timeout === undefined ? {} : { timeout }) }
  })

  app.get('/v1/dashboard', { schema: dashboardSnapshotSchema }, async () => dashboard.snapshot({ fresh: true }))

  app.get('/v1/dashboard/events', { schema: dashboardEventsSchema }, async (_request, reply) => {
    streamBudget.take('dashboard', reply.raw)
    // The stream is ours from here: fastify neither serializes nor ends this reply.
    reply.hijack()
    dashboard.add(reply.raw)
  })

  app.get('/', { schema: pageSchema }, async (_request, reply) => {
    const page = await loadAsset('index.html')
    if (page === undefined) throw new RouteNotFoundError('GET', '/')
    void reply.headers(PAGE_HEADERS).type(page.type)
    return page.body
  })

  app.get<{ Params: { file: string } }>('/ui/:file', { schema: assetSchema }, async (request, reply) => {
    const asset = request.params.file === 'index.html' ? undefined : await loadAsset(request.params.file)
    if (asset === undefined) throw new RouteNotFoundError('GET', request.url)
    void reply.headers(PAGE_HEADERS).type(asset.type)
    return asset.body
  })
}
