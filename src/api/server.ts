import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import swagger from '@fastify/swagger'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Peer } from '../peer.js'
import { createTokenCheck } from './auth.js'
import {
  DEFAULT_API_HOST, DEFAULT_API_PORT, DEFAULT_BODY_LIMIT, DEFAULT_MAX_STREAMS, LISTEN_BACKLOG, MAX_PARAM_LENGTH, PUBLIC_ROUTES
} from './constants.js'
import { ApiListenError, InvalidApiOptionsError, RouteNotFoundError, StoppingError, classifyError, formatSchemaErrors } from './errors.js'
import { createMetrics } from './metrics.js'
import { buildLazySerializer, buildLazyValidator } from './lazy-schemas.js'
import { swaggerOptions, type OpenApiDocument, type RouteInfo } from './openapi.js'
import { registerKvRoutes } from './routes/kv.js'
import { registerMetaRoutes } from './routes/meta.js'
import { registerPeerRoutes } from './routes/peer.js'
import { registerObserveRoutes } from './routes/observe.js'
import { DashboardHub, type DashboardOptions } from './dashboard.js'
import { registerTestRoutes } from './routes/testing.js'
import { registerEventRoutes } from './routes/events.js'
import { registerTypedRoutes } from './routes/typed.js'
import { registerStreamRoutes } from './routes/streams.js'
import { registerRuntimeRoutes, type ReloadReport } from './routes/runtime.js'
import { EVENT_SOURCES, type PeerEventSource } from './event-sources.js'
import { SseStreams, type SseStats } from './sse.js'
import { StreamBudget, type StreamBudgetStats } from './stream-budget.js'
import { createRateLimiter, type RateLimitOptions } from './rate-limit.js'
import type { LogSource } from '../log.js'
import type { RouteSchema } from './schemas.js'
import { WatchHub, type WatchOptions, type WatchStats } from './watch.js'

export interface ApiOptions {
  /** The bearer token every route but /health requires (see `loadOrCreateToken`, `createToken`). */
  token: string
  /** Largest request body. @default 1_048_576 (bytes: 1 MiB) */
  bodyLimit?: number
  /** A pino logger, or one of its shape (the API logs through a child with `{ component: 'api' }`), or `false` for none. @default false */
  logger?: FastifyBaseLogger | false
  /** Watch streams: keep-alive interval and how much a slow client may have waiting. */
  watch?: WatchOptions
  /**
   * Most event streams open at once, watch, dashboard, events and monitor together (each holds
   * a socket and a queue); one more is answered 503 ERR_TOO_MANY_STREAMS. @default 256
   */
  maxStreams?: number
  /**
   * Requests per client (per address) and window; past it, 429 ERR_RATE_LIMITED with
   * Retry-After. `/health` is exempt. `false`: no limit. @default 20_000 per 10_000 ms
   */
  rateLimit?: RateLimitOptions | false
  /** The dashboard's snapshots: interval, how many writes to trace, how many keys to list. */
  dashboard?: DashboardOptions
  /**
   * More kinds of event for `GET /v1/events`, after the built-in ones (`EVENT_SOURCES`: member,
   * leader).
   */
  eventSources?: readonly PeerEventSource[]
  /** The peer's log lines for `GET /v1/monitor`; without it that route answers 404 ERR_NO_LOG_SOURCE. */
  logs?: LogSource
  /** Re-reads the peer's config file for `POST /v1/reload`; without it that route answers 409 ERR_NO_CONFIG. */
  reload?: () => Promise<ReloadReport>
  /** What `POST /v1/leave` does after answering: `hearsay start` leaves and exits. @default the peer stops gracefully */
  leave?: () => void
  /**
   * Add the fault-injection routes under /v1/test (partition, heal, counter and set writes)
   * that the multi-process harness drives. For tests only. @default false
   */
  testFaults?: boolean
}

export interface StartApiOptions extends ApiOptions {
  /** @default '127.0.0.1' */
  host?: string
  /** `0` picks a free port. @default 0 */
  port?: number
}

/** What `buildApi` adds to the fastify instance, under `app.hearsay`. */
export interface ApiInstanceInfo {
  /** Every route the API serves (HEAD routes aside), in registration order; complete once the app is ready (`await app.ready()`, or after the first `inject()`). */
  readonly routes: readonly RouteInfo[]
  /** Figures about the watch streams (clients, dropped, queued events). */
  watchStats: () => WatchStats
  /** Figures about the event and log streams (/v1/events, /v1/monitor). */
  streamStats: () => SseStats
  /** What the API's limits refused and dropped: streams of every kind, and requests over the rate. */
  limitStats: () => ApiLimitStats
  /** The OpenAPI 3.1 document `GET /v1/openapi.json` serves (made by @fastify/swagger from the route schemas; once the app is ready). */
  openApi: () => OpenApiDocument
}

/** What the API's limits did, for /metrics and /v1/status. */
export interface ApiLimitStats {
  /** The shared budget of event streams, and the slow clients each kind dropped. */
  streams: StreamBudgetStats & { dropped: { watch: number, dashboard: number, events: number } }
  /** Requests answered 429 ERR_RATE_LIMITED. */
  rateLimited: number
}

/** The fastify instance `buildApi` returns. */
export type HearsayApi = FastifyInstance & { readonly hearsay: ApiInstanceInfo }

export interface RunningApi {
  /** `http://host:port`, with the port the system picked when `port` was 0. */
  readonly url: string
  readonly app: HearsayApi
  close: () => Promise<void>
}

/**
 * The peer's HTTP API as a fastify instance, not listening: `inject()` it in tests, or
 * `startApi` to serve it. Every route has a JSON schema for what it takes and answers;
 * every error is `{ error: { code, message } }` with the status of `ERROR_STATUS`.
 */
export function buildApi (peer: Peer, options: ApiOptions): HearsayApi {
  const checkToken = createTokenCheck(options.token)
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit <= 0) throw new InvalidApiOptionsError(`bodyLimit must be a positive integer, not ${bodyLimit}`)
  const logger = options.logger ?? false
  const watch = new WatchHub(peer, options.watch)
  const dashboard = new DashboardHub(peer, options.dashboard)
  const streams = new SseStreams(options.watch)
  const maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS
  if (!Number.isSafeInteger(maxStreams) || maxStreams <= 0) throw new InvalidApiOptionsError(`maxStreams must be a positive integer, not ${maxStreams}`)
  const streamBudget = new StreamBudget(maxStreams)
  const sources = [...EVENT_SOURCES, ...(options.eventSources ?? [])]
  const app = Fastify({
    ...(logger === false ? { logger: false } : { loggerInstance: logger.child({ component: 'api' }) }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    exposeHeadRoutes: false,
    // While closing, requests get our own 503 ERR_STOPPING (see the onRequest hook), not fastify's body.
    return503OnClosing: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Unknown query parameters are an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    // Each route's schemas compile on its first request, not at start (see lazy-schemas.ts).
    schemaController: { compilersFactory: { buildValidator: buildLazyValidator, buildSerializer: buildLazySerializer } },
    schemaErrorFormatter: formatSchemaErrors,
    frameworkErrors: (error, request, reply) => {
      sendError(error, request, reply, bodyLimit)
    }
  })

  const routes: RouteInfo[] = []
  let closing = false
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const schema = route.schema as RouteSchema | undefined
    if (schema === undefined) return
    for (const method of methods) {
      if (method !== 'HEAD') routes.push({ method, url: route.url, public: PUBLIC_ROUTES.has(route.url), schema })
    }
  })

  // Only JSON bodies: fastify's JSON parser stays (it refuses __proto__ poisoning), text goes.
  app.removeContentTypeParser('text/plain')

  // Before the token check: a flood without the token is throttled too.
  const limiter = createRateLimiter(app, options.rateLimit)
  app.addHook('onRequest', async (request, reply) => {
    await limiter.check(request, reply)
    if (!PUBLIC_ROUTES.has(request.routeOptions.url ?? '')) checkToken(request.headers.authorization)
    if (closing || !peer.isRunning()) throw new StoppingError()
  })
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request')
  })
  app.setErrorHandler((error, request, reply) => {
    sendError(error, request, reply, bodyLimit)
  })
  app.setNotFoundHandler((request, reply) => {
    sendError(new RouteNotFoundError(request.method, request.url), request, reply, bodyLimit)
  })

  app.addHook('preClose', async () => {
    closing = true
    watch.closeAll()
    dashboard.closeAll()
    streams.closeAll()
  })
  const limitStats = (): ApiLimitStats => ({
    streams: { ...streamBudget.stats(), dropped: { watch: watch.stats().dropped, dashboard: dashboard.stats().dropped, events: streams.stats().dropped } },
    rateLimited: limiter.limited()
  })
  const metrics = createMetrics(peer, { clients: () => watch.stats().clients, dropped: () => watch.stats().dropped }, limitStats)
  // @fastify/swagger must be loaded before the routes are added, to see each of them: the
  // routes go in a plugin registered after it, which fastify loads in order at ready().
  void app.register(swagger, swaggerOptions())
  const openApi = (): OpenApiDocument => app.swagger() as unknown as OpenApiDocument
  const builtAt = performance.now()
  void app.register(async (api) => {
    const context = { app: api, peer, watch, streamBudget, limitStats, metrics, openApi, builtAt }
    registerPeerRoutes(context)
    registerKvRoutes(context)
    registerTypedRoutes(context)
    registerMetaRoutes(context)
    registerObserveRoutes(context, dashboard)
    registerStreamRoutes(context, { streams, sources, logs: options.logs })
    registerEventRoutes(context)
    registerRuntimeRoutes(context, { ...(options.reload === undefined ? {} : { reload: options.reload }), ...(options.leave === undefined ? {} : { leave: options.leave }) })
    if (options.testFaults === true) registerTestRoutes(context)
  })

  const info: ApiInstanceInfo = { routes, watchStats: () => watch.stats(), streamStats: () => streams.stats(), limitStats, openApi }
  // What fastify's decorate() does on the root instance, with the type kept.
  return Object.assign(app, { hearsay: info })
}

function sendError (error: unknown, request: FastifyRequest, reply: FastifyReply, bodyLimit: number): void {
  const classified = classifyError(error, bodyLimit, request.headers['content-type'])
  if (classified.unexpected) request.log.error({ err: error, method: request.method, url: request.url }, 'request failed')
  if (classified.status === 401) void reply.header('www-authenticate', 'Bearer realm="hearsay"')
  void reply.code(classified.status).type('application/json; charset=utf-8').send(classified.body)
}

/**
 * Builds the API and listens: on 127.0.0.1 and a free port unless told otherwise. Resolves
 * with the URL to give clients and a `close()` that ends watch streams and stops listening.
 */
export async function startApi (peer: Peer, options: StartApiOptions): Promise<RunningApi> {
  const host = options.host ?? DEFAULT_API_HOST
  const port = options.port ?? DEFAULT_API_PORT
  const app = buildApi(peer, options)
  try {
    // Node's default backlog (511) drops the SYNs of a larger burst of connections, and their
    // clients retry only after a second: a burst of stream clients would hold up everyone else.
    // The system caps it (somaxconn).
    await app.listen({ host, port, backlog: LISTEN_BACKLOG })
  } catch (err) {
    await app.close().catch(() => {})
    throw new ApiListenError(host, port, { cause: err })
  }
  const address = app.server.address() as AddressInfo
  const shown = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address
  const url = `http://${shown}:${address.port}`
  return {
    url,
    app,
    close: async () => { await app.close() }
  }
}
