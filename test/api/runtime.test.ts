import { describe, it, expect, afterEach } from 'vitest'
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPeerWithApi, auth, body, type ErrorBody, type Fixture } from './helpers.js'
import { loadConfigFile } from '../../src/cli/config.js'
import type { ReloadReport } from '../../src/api/index.js'

let f: Fixture | undefined
let dir: string | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('POST /v1/reload through inject()', () => {
  it('without a config file to re-read: 409 ERR_NO_CONFIG; the token is needed', async () => {
    f = await startPeerWithApi()
    const response = await f.app.inject({ method: 'POST', url: '/v1/reload', headers: auth })
    expect(response.statusCode).toBe(409)
    expect(body<ErrorBody>(response).error).toMatchObject({ code: 'ERR_NO_CONFIG', message: expect.stringContaining('--config') })
    expect((await f.app.inject({ method: 'POST', url: '/v1/reload' })).statusCode).toBe(401)
  })

  it('answers the report; a file the reader refuses is 400 ERR_CONFIG naming the field', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearsay-reload-'))
    const path = join(dir, 'c.json')
    // The real reader; applying is `hearsay start`'s, tested with real processes in test/cli/runtime.test.ts.
    const reload = async (): Promise<ReloadReport> => {
      const config = await loadConfigFile(path)
      return { config: path, applied: { logLevel: config.logLevel ?? 'info', tags: config.tags ?? {}, writers: null }, restartNeeded: [] }
    }
    f = await startPeerWithApi({ reload })
    await writeFile(path, JSON.stringify({ logLevel: 'debug', tags: { zone: 'a' } }))
    const ok = await f.app.inject({ method: 'POST', url: '/v1/reload', headers: auth })
    expect(ok.statusCode).toBe(200)
    expect(body(ok)).toEqual({ config: path, applied: { logLevel: 'debug', tags: { zone: 'a' }, writers: null }, restartNeeded: [] })
    await writeFile(path, JSON.stringify({ logLevel: 'loud' }))
    const bad = await f.app.inject({ method: 'POST', url: '/v1/reload', headers: auth })
    expect(bad.statusCode).toBe(400)
    expect(body<ErrorBody>(bad).error).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('logLevel must be one of') })
  })
})
