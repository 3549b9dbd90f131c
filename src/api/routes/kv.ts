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
export function registerKvRoutes ({ app, peer, watch, streamBudget }: RouteContext): void {
  const checkKey = keyCheck(peer)
  app.get<{ Querystring: { prefix?: string, limit?: number, after?: string, keys?: boolean } }>('/v1/kv', { schema: listSchema }, async (request) => {
    const { prefix = '', limit, after, keys } = request.query
    const page = { ...(limit === undefined ? {} : { limit }), ...(after === undefined ? {} : { after }) }
    const names = keys === true ? peer.kv.keys(prefix, page) : undefined
    const entries = names === undefined ? peer.kv.list(prefix, page) : undefined
    const last = names?.at(-1) ?? entries?.at(-1)?.key
    const next = limit !== undefined && (names ?? entries ?? []).length === limit ? last : undefined
    return { ...(names === undefined ? { entries } : { keys: names }), ...(next === undefined ? {} : { next }) }
  })

  app.get<{ Params: KeyParams, Querystring: { versions?: boolean } }>('/v1/kv/:key', { schema: getSchema }, async (request, reply) => {
    const { key } = request.params
    checkKey(key)
    const value = peer.kv.get(key)
    if (value === undefined) throw new KeyNotFoundError(key)
    const version = peer.kv.version(key)
    if (version !== undefined) void reply.header('etag', `"${version}"`)
    const type = peer.kv.typeOf(key)
    return { key, value, type, ...(version === undefined ? {} : { version }), ...(request.query.versions === true ? { versions: peer.kv.versions(key) } : {}) }
  })

  app.put<{ Params: KeyParams, Body: Json | undefined, Headers: { 'if-match'?: string, 'if-none-match'?: string } }>('/v1/kv/:key', { schema: putSchema }, async (request) => {
    const { key } = request.params
    checkKey(key)
    const value = request.body
    if (value === undefined) {
      throw new BadJsonError('PUT needs the value as a JSON body with "content-type: application/json" (for example "text", 42, null or {"a":1})')
    }
    const ifMatch = request.headers['if-match']
    const options = {
      // An ETag comes quoted; a version pasted from `get` may not be.
      ...(ifMatch === undefined ? {} : { ifVersion: ifMatch.replace(/^W\//, '').replace(/^"(.*)"$/, '$1') }),
      ...(request.headers['if-none-match'] === '*' ? { ifAbsent: true } : {})
    }
    // Resolves once the write is in the durable log.
    return await peer.kv.put(key, value, options)
  })

  app.delete<{ Params: KeyParams }>('/v1/kv/:key', { schema: deleteSchema }, async (request) => {
    const { key } = request.params
    checkKey(key)
    const receipt = await peer.kv.delete(key)
    return receipt === undefined ? { key, deleted: false } : { key, deleted: true, dot: receipt.dot }
  })

  app.get<{ Querystring: { prefix?: string, snapshot?: boolean }, Headers: { 'last-event-id'?: string } }>('/v1/watch', { schema: watchSchema }, async (request, reply) => {
    const lastEventId = request.headers['last-event-id']
    streamBudget.take('watch', reply.raw)
    // The stream is ours from here: fastify neither serializes nor ends this reply.
    reply.hijack()
    watch.add(reply.raw, request.query.prefix ?? '', {
      ...(request.query.snapshot === true ? { snapshot: true } : {}),
      ...(lastEventId === undefined || lastEventId === '' ? {} : { lastEventId })
    })
  })
}
