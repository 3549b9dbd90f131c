import type { Json, WriteReceipt } from '../../replica/index.js'
import { BadRequestError } from '../errors.js'
import { counterSchema, setSchema } from '../schemas-typed.js'
import { keyCheck } from './kv.js'
import type { RouteContext } from './context.js'

interface KeyParams { key: string }

/** POST /v1/counter/:key, POST /v1/set/:key */
export function registerTypedRoutes ({ app, peer }: RouteContext): void {
  const checkKey = keyCheck(peer)
  const reply = (key: string, receipt: WriteReceipt | undefined): Record<string, unknown> => ({
    key,
    type: peer.kv.typeOf(key) ?? null,
    value: peer.kv.get(key) ?? null,
    changed: receipt !== undefined,
    ...(receipt === undefined ? {} : { dot: receipt.dot, hlc: receipt.hlc })
  })

  app.post<{ Params: KeyParams, Body: { by?: number } | undefined }>('/v1/counter/:key', { schema: counterSchema }, async (request) => {
    const { key } = request.params
    checkKey(key)
    const by = request.body?.by ?? 1
    if (!Number.isFinite(by) || by === 0) throw new BadRequestError('body.by must be a finite number other than 0')
    const receipt = by > 0 ? await peer.kv.increment(key, by) : await peer.kv.decrement(key, -by)
    return reply(key, receipt)
  })

  app.post<{ Params: KeyParams, Body: { add?: Json, remove?: Json } }>('/v1/set/:key', { schema: setSchema }, async (request) => {
    const { key } = request.params
    checkKey(key)
    const body = request.body
    if (Object.hasOwn(body, 'add')) return reply(key, await peer.kv.setAdd(key, body.add as Json))
    if (Object.hasOwn(body, 'remove')) return reply(key, await peer.kv.setRemove(key, body.remove as Json))
    throw new BadRequestError('the body must be {"add": element} or {"remove": element}')
  })
}
