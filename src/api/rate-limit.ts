/**
 * How many requests one client may make: a fixed window per client address, kept by
 * @fastify/rate-limit's in-memory store. Every client of a peer presents the same token, so
 * the client is its address. The limit is checked before the token, so a flood without one is
 * throttled too; `/health` is exempt (a supervisor asks it whatever the load).
 */
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, InvalidApiOptionsError } from './errors.js'

export interface RateLimitOptions {
  /** Requests one client may make per window; one more is 429 ERR_RATE_LIMITED until the window ends. @default 20_000 */
  max?: number
  /** The window's length. @default 10_000 (ms) */
  windowMs?: number
}

/**
 * Generous: a busy honest client (the CLI in a loop, a benchmark, a test writing thousands of
 * keys) stays well under it, while one that floods the peer is cut off within its first window.
 */
export const DEFAULT_RATE_LIMIT_MAX = 20_000
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 10_000

/** Routes every client may ask whatever its rate. */
const EXEMPT_ROUTES: ReadonlySet<string> = new Set(['/health'])

export class RateLimitedError extends ApiError {
  constructor (max: number, windowMs: number, retryAfterSeconds: number) {
    super('ERR_RATE_LIMITED',
      `this client made more than ${max} requests in ${windowMs} ms, the API's limit per client: wait ${retryAfterSeconds} s (Retry-After) and slow down`)
  }
}

export interface RateLimiter {
  /** Throws RateLimitedError (and sets Retry-After on `reply`) when the request's client is over its limit. */
  check: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  /** Requests refused with 429 since the API was built. */
  limited: () => number
}

/**
 * Registers the plugin on `app` (without its own hooks: the caller runs `check` first in its
 * onRequest hook, before the token check) and returns the check. `false` turns the limit off.
 */
export function createRateLimiter (app: FastifyInstance, options: RateLimitOptions | false | undefined): RateLimiter {
  let limited = 0
  if (options === false) return { check: async () => {}, limited: () => 0 }
  const max = options?.max ?? DEFAULT_RATE_LIMIT_MAX
  const windowMs = options?.windowMs ?? DEFAULT_RATE_LIMIT_WINDOW_MS
  if (!Number.isSafeInteger(max) || max <= 0) throw new InvalidApiOptionsError(`rateLimit.max must be a positive integer, not ${max}`)
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new InvalidApiOptionsError(`rateLimit.windowMs must be a positive integer, not ${windowMs}`)
  let limiter: ReturnType<FastifyInstance['createRateLimit']> | undefined
  void app.register(rateLimit, { global: false })
  app.after((err) => {
    if (err === null || err === undefined) limiter = app.createRateLimit({ max, timeWindow: windowMs, keyGenerator: (request) => request.ip })
  })
  return {
    limited: () => limited,
    check: async (request, reply) => {
      if (limiter === undefined || EXEMPT_ROUTES.has(request.routeOptions.url ?? '')) return
      const result = await limiter(request)
      if (result.isAllowed || !result.isExceeded) return
      limited++
      void reply.header('retry-after', String(result.ttlInSeconds))
      throw new RateLimitedError(max, windowMs, result.ttlInSeconds)
    }
  }
}
