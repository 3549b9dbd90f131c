import { ApiError, BadRequestError } from '../errors.js'
import { forceLeaveSchema, joinSchema, leaveSchema, reloadSchema, tagsSchema } from '../schemas-runtime.js'
import type { RouteContext } from './context.js'

/** What a reload changed, as the peer's runner reports it. */
export interface ReloadReport {
  /** The file re-read. */
  config: string
  /** The settings a running peer takes at once, as they are now. */
  applied: { logLevel: string, tags: Record<string, string>, writers: string[] | null }
  /** Settings whose value in the file differs from the running peer's but that take a restart. */
  restartNeeded: string[]
}

export interface RuntimeHooks {
  /** Re-reads the config file (`hearsay start --config`). */
  reload?: () => Promise<ReloadReport>
  /** Leaves gracefully and ends the process (`hearsay start`); without it the peer just stops. */
  leave?: () => void
}

/** POST /v1/reload, /v1/join, /v1/leave, /v1/members/:peerId/force-leave, PUT /v1/tags */
export function registerRuntimeRoutes ({ app, peer }: RouteContext, { reload, leave }: RuntimeHooks): void {
  app.post<{ Body: { addresses: string[] } }>('/v1/join', { schema: joinSchema }, async (request) => {
    const results = await peer.join(request.body.addresses)
    return { joined: results.filter((r) => r.peerId !== undefined).length, results }
  })

  app.post('/v1/leave', { schema: leaveSchema }, async (_request, reply) => {
    // After the answer is out: the peer stops its API too.
    reply.raw.once('finish', () => {
      if (leave !== undefined) leave()
      else void peer.stop({ graceful: true }).catch(() => {})
    })
    return { leaving: true, peerId: peer.peerId }
  })

  app.post<{ Params: { peerId: string } }>('/v1/members/:peerId/force-leave', { schema: forceLeaveSchema }, async (request) => {
    const { peerId } = request.params
    if (peerId === peer.peerId) throw new BadRequestError('this is the peer itself: to leave, use POST /v1/leave (hearsay leave)')
    const member = peer.forceLeave(peerId)
    if (member === undefined) throw new ApiError('ERR_MEMBER_NOT_FOUND', `this peer knows no member ${peerId}: see GET /v1/members`)
    return member
  })

  app.put<{ Body: { set?: Record<string, string>, delete?: string[] } }>('/v1/tags', { schema: tagsSchema }, async (request) => {
    return { tags: await peer.setTags(request.body.set ?? {}, request.body.delete ?? []) }
  })

  app.post('/v1/reload', { schema: reloadSchema }, async () => {
    if (reload === undefined) {
      throw new ApiError('ERR_NO_CONFIG', 'this peer has no config file to re-read: start it with "hearsay start --config FILE"')
    }
    return await reload()
  })
}
