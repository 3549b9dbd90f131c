import { ApiError } from '../errors.js'
import { reloadSchema } from '../schemas-runtime.js'
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

/** POST /v1/reload */
export function registerRuntimeRoutes ({ app }: RouteContext, reload: (() => Promise<ReloadReport>) | undefined): void {
  app.post('/v1/reload', { schema: reloadSchema }, async () => {
    if (reload === undefined) {
      throw new ApiError('ERR_NO_CONFIG', 'this peer has no config file to re-read: start it with "hearsay start --config FILE"')
    }
    return await reload()
  })
}
