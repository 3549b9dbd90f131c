import type { Json } from '../../replica/index.js'
import { ApiError, BadJsonError, KeyNotFoundError } from '../errors.js'
import { isWellFormed } from '../../text.js'
import { deleteSchema, getSchema, listSchema, putSchema, watchSchema } from '../schemas.js'
import type { RouteContext } from './context.js'

interface KeyParams { key: string }

/**
 * Checks a key from the URL (fastify has already percent-decoded it) before anything reads or
 * writes it, with the store's rules and codes: 1 to `maxKeyBytes` (the peer's own limit)
 * bytes of well-formed UTF-8.
 */
export function checkKey (key: string, maxKeyBytes: number): void {
  if (key.length === 0) throw new ApiError('ERR_INVALID_KEY', 'the key must not be empty')
  if (key.length > maxKeyBytes || Buffer.byteLength(key, 'utf8') > maxKeyBytes) {
    throw new ApiError('ERR_KEY_TOO_LONG', `the key is longer than ${maxKeyBytes} bytes of UTF-8: use a shorter key`)
  }
  if (!isWellFormed(key)) throw new ApiError('ERR_INVALID_KEY', 'the key is not valid UTF-8')
}

/** `checkKey` with the limit this peer's store applies. */
export function keyCheck (peer: RouteContext['peer']): (key: string) => void {
  const { maxKeyBytes } = peer.limits
  return (key) => { checkKey(key, maxKeyBytes) }
}

/** /v1/kv, /v1/kv/:key (GET, PUT, DELETE), /v1/watch */
export function registerKvRoutes ({ app, peer, watch }: RouteContext): void {
  const checkKey = keyCheck(peer)
  app.get<{ Querystring: { prefix?: string, limit?: number } }>('/v1/kv', { schema: listSchema }, async (request) => {
    const { prefix = '', limit } = request.query
    const entries = peer.kv.list(prefix)
    return { entries: limit === undefined ? entries : entries.slice(0, limit) }
  })

  app.get<{ Params: KeyParams, Querystring: { versions?: boolean } }>('/v1/kv/:key', { schema: getSchema }, async (request) => {
    const { key } = request.params
    checkKey(key)
    const value = peer.kv.get(key)
    if (value === undefined) throw new KeyNotFoundError(key)
    return request.query.versions === true ? { key, value, versions: peer.kv.versions(key) } : { key, value }
  })

  app.put<{ Params: KeyParams, Body: Json | undefined }>('/v1/kv/:key', { schema: putSchema }, async (request) => {
    const { key } = request.params
    checkKey(key)
    const value = request.body
    if (value === undefined) {
      throw new BadJsonError('PUT needs the value as a JSON body with "content-type: application/json" (for example "text", 42, null or {"a":1})')
    }
    // Resolves once the write is in the durable log.
    return await peer.kv.put(key, value)
  })

  app.delete<{ Params: KeyParams }>('/v1/kv/:key', { schema: deleteSchema }, async (request) => {
    const { key } = request.params
    checkKey(key)
    const receipt = await peer.kv.delete(key)
    return receipt === undefined ? { key, deleted: false } : { key, deleted: true, dot: receipt.dot }
  })

  app.get<{ Querystring: { prefix?: string } }>('/v1/watch', { schema: watchSchema }, async (request, reply) => {
    // The stream is ours from here: fastify neither serializes nor ends this reply.
    reply.hijack()
    watch.add(reply.raw, request.query.prefix ?? '')
  })
}
