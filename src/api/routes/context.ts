import type { FastifyInstance } from 'fastify'
import type { Peer } from '../../peer.js'
import type { ApiMetrics } from '../metrics.js'
import type { ApiLimitStats } from '../server.js'
import type { OpenApiDocument } from '../openapi.js'
import type { StreamBudget } from '../stream-budget.js'
import type { WatchHub } from '../watch.js'

/** What the route modules share: the peer and the API's own parts. */
export interface RouteContext {
  readonly app: FastifyInstance
  readonly peer: Peer
  readonly watch: WatchHub
  /** The one budget of open event streams every streaming route takes its slot from. */
  readonly streamBudget: StreamBudget
  /** What the API's limits refused and dropped. */
  readonly limitStats: () => ApiLimitStats
  readonly metrics: ApiMetrics
  /** The OpenAPI document of every registered route. */
  readonly openApi: () => OpenApiDocument
  /** `performance.now()` when the API was built. */
  readonly builtAt: number
}
