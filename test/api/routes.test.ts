import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { buildApi, ERROR_STATUS, type OpenApiDocument } from '../../src/api/index.js'
import { Validator } from '@seriousme/openapi-schema-validator'
import { VERSION } from '../../src/version.js'
import { startPeerWithApi, auth, json, body, TOKEN, type ErrorBody, type Fixture } from './helpers.js'

interface Receipt { key: string, dot: { replica: string, seq: number }, hlc: { wall: number, logical: number } }
interface Status {
  peerId: string
  network: string
  version: string
  protocols: string[]
  addresses: string[]
  connections: unknown[]
  members: Record<string, number>
  leader: { peerId: string, term: number } | null
  term: number
  keys: number
  digest: string
  clock: Record<string, number>
  uptimeMs: number
  stats: { kv: Record<string, unknown>, membership: Record<string, number>, election: Record<string, number> }
}

/** A body a POST route would accept, so a refusal is about the token or the peer, not the body. */
function postBody (route: { url: string }): string {
  return route.url.startsWith('/v1/set/') ? '{"add":1}' : route.url.startsWith('/v1/counter/') ? '{"by":1}' : '{}'
}

/** A URL for a route from the route list, with `:key` filled in. */
function urlOf (route: { url: string }): string {
  return route.url.replace(':key', 'some-key').replace(':file', 'app.js').replace(':name', 'deploy').replace(':peerId', '12D3KooWRco1nneqv127gRVUd1nHMQL7D7h47VMVHKtzJR5gNVNK')
}

describe('HTTP API over one peer, through inject()', () => {
  let f: Fixture
  // No election during these tests: the peer waits a minute before it starts one.
  beforeAll(async () => { f = await startPeerWithApi({}, { election: { heartbeatTimeout: 60_000, coordinatorTimeout: 60_000 } }) })
  afterAll(async () => { await f.close() })

  it('GET /health answers without a token', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/health' })
    expect(response.statusCode).toBe(200)
    expect(body(response)).toEqual({ ok: true, peerId: f.peer.peerId })
  })

  it('PUT then GET a key: any JSON value, answered once written with its dot', async () => {
    for (const value of [{ text: 'hello', n: [1, 2, { deep: true }] }, 'a bare string', 42.5, null, false, []]) {
      const put = await f.app.inject({ method: 'PUT', url: '/v1/kv/greeting', headers: json, payload: JSON.stringify(value) })
      expect(put.statusCode).toBe(200)
      const receipt = body<Receipt>(put)
      expect(receipt.key).toBe('greeting')
      expect(receipt.dot.replica).toBe(f.peer.peerId)
      expect(receipt.hlc.wall).toBeGreaterThan(0)
      expect(f.peer.kv.get('greeting')).toEqual(value)
      const get = await f.app.inject({ method: 'GET', url: '/v1/kv/greeting', headers: auth })
      expect(get.statusCode).toBe(200)
      // The type and the version (the winner's dot, also the ETag) come with the value.
      const version = `${f.peer.peerId}/${receipt.dot.seq}`
      expect(body(get)).toEqual({ key: 'greeting', value, type: 'register', version })
      expect(get.headers.etag).toBe(`"${version}"`)
    }
  })

  it('GET ?versions=true adds every concurrent version with clock, author, hlc and dot', async () => {
    const receipt = await f.peer.kv.put('v', { x: 1 })
    const response = await f.app.inject({ method: 'GET', url: '/v1/kv/v?versions=true', headers: auth })
    expect(response.statusCode).toBe(200)
    const reply = body<{ key: string, value: unknown, versions: Array<Record<string, unknown>> }>(response)
    expect(reply.value).toEqual({ x: 1 })
    expect(reply.versions).toEqual([{
      value: { x: 1 },
      clock: f.peer.kv.versions('v')[0]!.clock,
      author: f.peer.peerId,
      hlc: receipt.hlc,
      dot: receipt.dot
    }])
  })

  it('keys are percent-decoded: slashes, spaces and non-ASCII work', async () => {
    const key = 'dir/sub dir/ünï ✓'
    const put = await f.app.inject({ method: 'PUT', url: `/v1/kv/${encodeURIComponent(key)}`, headers: json, payload: '"x"' })
    expect(put.statusCode).toBe(200)
    expect(body<Receipt>(put).key).toBe(key)
    expect(f.peer.kv.get(key)).toBe('x')
    const get = await f.app.inject({ method: 'GET', url: `/v1/kv/${encodeURIComponent(key)}`, headers: auth })
    expect(body(get)).toEqual({ key, value: 'x', type: 'register', version: `${f.peer.peerId}/${body<Receipt>(put).dot.seq}` })
    // An unencoded slash is another path: 404 with a hint.
    const raw = await f.app.inject({ method: 'GET', url: '/v1/kv/dir/sub', headers: auth })
    expect(raw.statusCode).toBe(404)
    expect(body<ErrorBody>(raw).error.code).toBe('ERR_NOT_FOUND')
    expect(body<ErrorBody>(raw).error.message).toContain('%2F')
  })

  it('GET /v1/kv lists entries under a prefix, in key order, with an optional limit', async () => {
    await f.peer.kv.put('list/b', 2)
    await f.peer.kv.put('list/a', 1)
    await f.peer.kv.put('list/c', 3)
    await f.peer.kv.put('other', 0)
    const all = await f.app.inject({ method: 'GET', url: '/v1/kv?prefix=list%2F', headers: auth })
    expect(all.statusCode).toBe(200)
    expect(body(all)).toEqual({ entries: [{ key: 'list/a', value: 1 }, { key: 'list/b', value: 2 }, { key: 'list/c', value: 3 }] })
    const two = await f.app.inject({ method: 'GET', url: '/v1/kv?prefix=list/&limit=2', headers: auth })
    expect(body<{ entries: unknown[] }>(two).entries).toHaveLength(2)
    const everything = await f.app.inject({ method: 'GET', url: '/v1/kv', headers: auth })
    expect(body<{ entries: Array<{ key: string }> }>(everything).entries.map((e) => e.key)).toEqual(f.peer.kv.list().map((e) => e.key))
  })

  it('DELETE removes a key (deleted: true, with its dot), then answers deleted: false', async () => {
    await f.peer.kv.put('doomed', 'bye')
    const first = await f.app.inject({ method: 'DELETE', url: '/v1/kv/doomed', headers: auth })
    expect(first.statusCode).toBe(200)
    const reply = body<{ key: string, deleted: boolean, dot: { replica: string, seq: number } }>(first)
    expect(reply.deleted).toBe(true)
    expect(reply.dot.replica).toBe(f.peer.peerId)
    expect(f.peer.kv.get('doomed')).toBeUndefined()
    const second = await f.app.inject({ method: 'DELETE', url: '/v1/kv/doomed', headers: auth })
    expect(body(second)).toEqual({ key: 'doomed', deleted: false })
    const get = await f.app.inject({ method: 'GET', url: '/v1/kv/doomed', headers: auth })
    expect(get.statusCode).toBe(404)
    expect(body<ErrorBody>(get).error.code).toBe('ERR_KEY_NOT_FOUND')
  })

  it('GET /v1/status reports identity, members, store clock and stats', async () => {
    await f.peer.kv.put('status-key', 1)
    const response = await f.app.inject({ method: 'GET', url: '/v1/status', headers: auth })
    expect(response.statusCode).toBe(200)
    const status = body<Status>(response)
    expect(status.peerId).toBe(f.peer.peerId)
    expect(status.network).toBe(f.peer.network)
    expect(status.version).toBe(VERSION)
    expect(status.protocols).toEqual(f.peer.net.protocols())
    expect(status.protocols).toEqual(expect.arrayContaining(['membership/2.0.0', 'election/2.0.0', 'meshsub/2.0.0', 'kv/2.0.0', 'sync/2.0.0']))
    expect(status.addresses).toEqual(f.peer.addresses())
    expect(status.members).toEqual({ alive: 1, suspect: 0, dead: 0, left: 0 })
    expect(status.leader).toBeNull()
    expect(status.keys).toBe(f.peer.kv.size())
    expect(status.digest).toBe(f.peer.kv.digest())
    expect(status.clock).toEqual(f.peer.kv.versionVector())
    expect(status.clock[f.peer.peerId]).toBeGreaterThan(0)
    expect(status.uptimeMs).toBeGreaterThanOrEqual(0)
    expect(status.stats.kv.writesLocal).toBe(f.peer.diagnostics.stats().kv.writesLocal)
    expect(status.stats.membership).toEqual(f.peer.diagnostics.stats().membership)
    expect(status.stats.election).toEqual(f.peer.diagnostics.stats().election)
  })

  it('GET /v1/members is the membership view, self included', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/v1/members', headers: auth })
    expect(response.statusCode).toBe(200)
    const members = body<Array<{ peerId: string, self: boolean, state: string, version: string, protocols: string[] }>>(response)
    expect(members).toHaveLength(1)
    expect(members[0]).toMatchObject({ peerId: f.peer.peerId, self: true, state: 'alive', version: VERSION })
    expect(members[0]!.protocols).toEqual(f.peer.net.protocols())
    expect(members[0]!.protocols).toContain('membership/2.0.0')
  })

  it('GET /v1/leader is 404 ERR_NO_LEADER before any election', async () => {
    expect(f.peer.leader()).toBeUndefined()
    const response = await f.app.inject({ method: 'GET', url: '/v1/leader', headers: auth })
    expect(response.statusCode).toBe(404)
    expect(body<ErrorBody>(response).error.code).toBe('ERR_NO_LEADER')
  })

  it('no token → 401 on every route but /health; a wrong or malformed token too; nothing changes', async () => {
    const routes = f.app.hearsay.routes
    expect(routes.length).toBeGreaterThanOrEqual(12)
    const digest = f.peer.kv.digest()
    const wrong = `Bearer ${TOKEN.slice(0, -1)}${TOKEN.endsWith('0') ? '1' : '0'}`
    for (const route of routes) {
      for (const authorization of [undefined, wrong, `Basic ${TOKEN}`, 'Bearer', `Bearer ${TOKEN}x`]) {
        const headers: Record<string, string> = { 'content-type': 'application/json' }
        if (authorization !== undefined) headers.authorization = authorization
        const response = await f.app.inject({
          method: route.method as 'GET',
          url: urlOf(route),
          headers,
          ...(route.method === 'PUT' ? { payload: '"sneaky"' } : route.method === 'POST' ? { payload: postBody(route) } : {})
        })
        if (route.public) {
          expect(response.statusCode, `${route.method} ${route.url}`).toBe(200)
          continue
        }
        expect(response.statusCode, `${route.method} ${route.url} with ${authorization ?? 'no header'}`).toBe(401)
        expect(body<ErrorBody>(response).error.code).toBe('ERR_UNAUTHORIZED')
        expect(response.headers['www-authenticate']).toContain('Bearer')
      }
    }
    expect(routes.filter((r) => r.public).map((r) => r.url)).toEqual(['/health', '/', '/ui/:file'])
    expect(f.peer.kv.digest()).toBe(digest)
    expect(f.peer.kv.get('some-key')).toBeUndefined()
  })

  it('the scheme is case-insensitive: "bearer <token>" works', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: `bearer ${TOKEN}` } })
    expect(response.statusCode).toBe(200)
  })

  it('an unknown route is 404 ERR_NOT_FOUND (401 without a token)', async () => {
    const found = await f.app.inject({ method: 'GET', url: '/v1/nothing-here', headers: auth })
    expect(found.statusCode).toBe(404)
    expect(body<ErrorBody>(found).error.code).toBe('ERR_NOT_FOUND')
    const post = await f.app.inject({ method: 'POST', url: '/v1/kv/x', headers: json, payload: '1' })
    expect(post.statusCode).toBe(404)
    const anonymous = await f.app.inject({ method: 'GET', url: '/v1/nothing-here' })
    expect(anonymous.statusCode).toBe(401)
  })

  it('GET of a missing key is 404 ERR_KEY_NOT_FOUND', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/v1/kv/never-written', headers: auth })
    expect(response.statusCode).toBe(404)
    expect(body<ErrorBody>(response)).toEqual({ error: { code: 'ERR_KEY_NOT_FOUND', message: expect.stringContaining('never-written') } })
  })

  it('bad JSON, an empty body or no body → 400 ERR_BAD_JSON, and the store is unchanged', async () => {
    const digest = f.peer.kv.digest()
    for (const payload of ['{"a":', "{'single':1}", 'undefined', '{"__proto__":{"polluted":1}}', '']) {
      const response = await f.app.inject({ method: 'PUT', url: '/v1/kv/bad', headers: json, payload })
      expect(response.statusCode, payload).toBe(400)
      expect(body<ErrorBody>(response).error.code).toBe('ERR_BAD_JSON')
    }
    const none = await f.app.inject({ method: 'PUT', url: '/v1/kv/bad', headers: auth })
    expect(none.statusCode).toBe(400)
    expect(body<ErrorBody>(none).error.code).toBe('ERR_BAD_JSON')
    expect(f.peer.kv.digest()).toBe(digest)
    expect(f.peer.kv.get('bad')).toBeUndefined()
  })

  it('a body that is not JSON → 415 ERR_UNSUPPORTED_MEDIA_TYPE, and the store is unchanged', async () => {
    const digest = f.peer.kv.digest()
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
      const response = await f.app.inject({ method: 'PUT', url: '/v1/kv/typed', headers: { ...auth, 'content-type': type }, payload: 'hello' })
      expect(response.statusCode, type).toBe(415)
      expect(body<ErrorBody>(response).error.code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE')
    }
    expect(f.peer.kv.digest()).toBe(digest)
  })

  it('a body over the 1 MiB default limit → 413 ERR_BODY_TOO_LARGE, and the store is unchanged', async () => {
    const digest = f.peer.kv.digest()
    const payload = JSON.stringify('x'.repeat(1024 * 1024))
    const response = await f.app.inject({ method: 'PUT', url: '/v1/kv/big', headers: json, payload })
    expect(response.statusCode).toBe(413)
    expect(body<ErrorBody>(response).error.code).toBe('ERR_BODY_TOO_LARGE')
    expect(body<ErrorBody>(response).error.message).toContain('1048576')
    expect(f.peer.kv.digest()).toBe(digest)
    expect(f.peer.kv.get('big')).toBeUndefined()
  })

  it('keys are checked: empty-after-decoding, over 1024 UTF-8 bytes → 400; 1024 bytes exactly is fine', async () => {
    const digest = f.peer.kv.digest()
    const long = '€'.repeat(342) // 1026 bytes, 342 characters
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const response = await f.app.inject({ method, url: `/v1/kv/${encodeURIComponent(long)}`, headers: json, payload: '1' })
      expect(response.statusCode, method).toBe(400)
      expect(body<ErrorBody>(response).error.code).toBe('ERR_KEY_TOO_LONG')
    }
    const ascii = 'k'.repeat(1025)
    const tooLong = await f.app.inject({ method: 'PUT', url: `/v1/kv/${ascii}`, headers: json, payload: '1' })
    expect(body<ErrorBody>(tooLong).error.code).toBe('ERR_KEY_TOO_LONG')
    expect(f.peer.kv.digest()).toBe(digest)
    const exact = await f.app.inject({ method: 'PUT', url: `/v1/kv/${'k'.repeat(1024)}`, headers: json, payload: '1' })
    expect(exact.statusCode).toBe(200)
    expect(f.peer.kv.get('k'.repeat(1024))).toBe(1)
  })

  it('a URL that is not valid percent-encoding → 400 ERR_BAD_REQUEST', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/v1/kv/%E0%A4%A', headers: auth })
    expect(response.statusCode).toBe(400)
    expect(body<ErrorBody>(response).error.code).toBe('ERR_BAD_REQUEST')
  })

  it('schema validation → 400 ERR_BAD_REQUEST naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['/v1/kv?limit=0', 'querystring.limit must be >= 1'],
      ['/v1/kv?limit=many', 'limit'],
      ['/v1/kv/some?versions=maybe', 'versions'],
      ['/v1/kv?colour=blue', '"colour"'],
      [`/v1/watch?prefix=${'p'.repeat(5000)}`, 'prefix']
    ]
    for (const [url, field] of cases) {
      const response = await f.app.inject({ method: 'GET', url, headers: auth })
      expect(response.statusCode, url).toBe(400)
      const error = body<ErrorBody>(response).error
      expect(error.code).toBe('ERR_BAD_REQUEST')
      expect(error.message).toContain(field)
    }
  })

  it('a value over the store\'s limit (under the body limit) → 413 ERR_VALUE_TOO_LARGE, store unchanged', async () => {
    const app = buildApi(f.peer, { token: TOKEN, logger: false, bodyLimit: 4 * 1024 * 1024 })
    try {
      const digest = f.peer.kv.digest()
      const response = await app.inject({ method: 'PUT', url: '/v1/kv/huge', headers: json, payload: JSON.stringify('y'.repeat(1024 * 1024 + 10)) })
      expect(response.statusCode).toBe(413)
      expect(body<ErrorBody>(response).error.code).toBe('ERR_VALUE_TOO_LARGE')
      expect(f.peer.kv.digest()).toBe(digest)
    } finally {
      await app.close()
    }
  })

  it('a smaller bodyLimit is enforced', async () => {
    const app = buildApi(f.peer, { token: TOKEN, logger: false, bodyLimit: 100 })
    try {
      const digest = f.peer.kv.digest()
      const over = await app.inject({ method: 'PUT', url: '/v1/kv/small', headers: json, payload: JSON.stringify('z'.repeat(200)) })
      expect(over.statusCode).toBe(413)
      expect(body<ErrorBody>(over).error.message).toContain('100 bytes')
      expect(f.peer.kv.digest()).toBe(digest)
      const under = await app.inject({ method: 'PUT', url: '/v1/kv/small', headers: json, payload: '"fits"' })
      expect(under.statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })

  it('anything unexpected → 500 ERR_INTERNAL without internals, logged by the api component', async () => {
    const lines: string[] = []
    const logger = pino({ level: 'info' }, new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } }))
    const app = buildApi(f.peer, { token: TOKEN, logger })
    const spy = vi.spyOn(f.peer.kv, 'list').mockImplementation(() => { throw new Error('secret detail at /very/private/path') })
    try {
      const response = await app.inject({ method: 'GET', url: '/v1/kv', headers: auth })
      expect(response.statusCode).toBe(500)
      expect(body<ErrorBody>(response).error.code).toBe('ERR_INTERNAL')
      expect(response.body).not.toContain('secret')
      expect(response.body).not.toContain('private')
      const logged = lines.map((l) => JSON.parse(l) as { component?: string, level: number, err?: { message: string } })
      const entry = logged.find((l) => l.err?.message.includes('secret detail'))
      expect(entry?.component).toBe('api')
      expect(entry?.level).toBe(50)
    } finally {
      spy.mockRestore()
      await app.close()
    }
  })

  it('every error code in the table has a 4xx or 5xx status', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(code).toMatch(/^ERR_[A-Z_]+$/)
      expect(status).toBeGreaterThanOrEqual(400)
      expect(status).toBeLessThan(600)
    }
  })

  it('GET /v1/openapi.json lists every route with its parameters, body and responses', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/v1/openapi.json', headers: auth })
    expect(response.statusCode).toBe(200)
    const doc = body<OpenApiDocument>(response)
    expect(doc.openapi).toBe('3.1.0')
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort()
    expect(listed).toEqual([
      'DELETE /v1/kv/{key}', 'GET /', 'GET /health', 'GET /metrics', 'GET /ui/{file}', 'GET /v1/convergence', 'GET /v1/dashboard',
      'GET /v1/dashboard/events', 'GET /v1/events', 'GET /v1/jobs', 'GET /v1/kv', 'GET /v1/kv/{key}', 'GET /v1/leader',
      'GET /v1/members', 'GET /v1/monitor', 'GET /v1/openapi.json', 'GET /v1/status', 'GET /v1/trace/{key}', 'GET /v1/traces', 'GET /v1/watch',
      'POST /v1/counter/{key}', 'POST /v1/events/{name}', 'POST /v1/join', 'POST /v1/leave', 'POST /v1/members/{peerId}/force-leave',
      'POST /v1/queries/{name}', 'POST /v1/reload', 'POST /v1/set/{key}', 'PUT /v1/kv/{key}', 'PUT /v1/tags'
    ])
    expect(listed).toHaveLength(f.app.hearsay.routes.length)
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.responses['200'], `${method} ${path}`).toBeDefined()
        expect(op.responses['4XX']?.content['application/json']?.schema).toMatchObject({ required: ['error'] })
        expect(op.security).toEqual(['/health', '/', '/ui/{file}'].includes(path) ? [] : [{ bearerAuth: [] }])
      }
    }
    const put = doc.paths['/v1/kv/{key}']!.put!
    expect(put.parameters).toEqual([
      expect.objectContaining({ name: 'key', in: 'path', required: true }),
      expect.objectContaining({ name: 'if-match', in: 'header', required: false }),
      expect.objectContaining({ name: 'if-none-match', in: 'header', required: false })
    ])
    expect(put.requestBody?.content['application/json']).toBeDefined()
    expect(put.responses['200']!.content['application/json']!.schema).toMatchObject({ required: ['key', 'dot', 'hlc'] })
    const get = doc.paths['/v1/kv/{key}']!.get!
    expect(get.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['path:key', 'query:versions'])
    const list = doc.paths['/v1/kv']!.get!
    expect(list.parameters!.map((p) => p.name)).toEqual(['prefix', 'limit', 'after', 'keys'])
    expect(doc.paths['/metrics']!.get!.responses['200']!.content['text/plain']).toBeDefined()
    expect(doc.paths['/v1/watch']!.get!.responses['200']!.content['text/event-stream']).toBeDefined()
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    for (const code of Object.keys(ERROR_STATUS)) expect(doc.info.description).toContain(code)
  })

  it('the OpenAPI document is valid OpenAPI 3.1 (checked by a validator package, offline)', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/v1/openapi.json', headers: auth })
    const validator = new Validator()
    const result = await validator.validate(body<Record<string, unknown>>(response))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
    // The validator does find faults: the same document with a response that lacks its description is refused.
    const broken = body<OpenApiDocument>(response)
    delete (broken.paths['/v1/status']!.get!.responses['200'] as { description?: string }).description
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid).toBe(false)
  })
})

describe('a peer that is not running', () => {
  it('every route answers 503 ERR_STOPPING once the peer stops, and a write changes nothing', async () => {
    const f = await startPeerWithApi()
    await f.peer.kv.put('kept', 1)
    const digest = f.peer.kv.digest()
    // Routes are added when the app loads its plugins: list them before the peer goes.
    await f.app.ready()
    expect(f.app.hearsay.routes.length).toBeGreaterThanOrEqual(28)
    await f.peer.stop()
    try {
      for (const route of f.app.hearsay.routes) {
        const response = await f.app.inject({
          method: route.method as 'GET',
          url: urlOf(route),
          headers: json,
          ...(route.method === 'PUT' ? { payload: '2' } : route.method === 'POST' ? { payload: postBody(route) } : {})
        })
        expect(response.statusCode, `${route.method} ${route.url}`).toBe(503)
        expect(body<ErrorBody>(response).error.code).toBe('ERR_STOPPING')
      }
      expect(f.peer.kv.digest()).toBe(digest)
    } finally {
      await f.app.close()
    }
  })

  it('the token is still checked first: 401 beats 503', async () => {
    const f = await startPeerWithApi()
    await f.peer.stop()
    try {
      const response = await f.app.inject({ method: 'GET', url: '/v1/status' })
      expect(response.statusCode).toBe(401)
    } finally {
      await f.app.close()
    }
  })
})

describe('the API checks keys against the peer\'s own maxKeyBytes', () => {
  it('a larger limit lets longer keys through every route; a smaller one refuses them with the peer\'s number', async () => {
    const large = await startPeerWithApi({}, { replication: { maxKeyBytes: 2_048 } })
    try {
      const key = 'k'.repeat(1_500)
      const put = await large.app.inject({ method: 'PUT', url: `/v1/kv/${key}`, headers: json, payload: '1' })
      expect(put.statusCode).toBe(200)
      const get = await large.app.inject({ method: 'GET', url: `/v1/kv/${key}`, headers: auth })
      expect(get.statusCode).toBe(200)
      expect(body<{ value: unknown }>(get).value).toBe(1)
      const tooLong = await large.app.inject({ method: 'GET', url: `/v1/kv/${'k'.repeat(2_049)}`, headers: auth })
      expect(body<ErrorBody>(tooLong).error.code).toBe('ERR_KEY_TOO_LONG')
      expect(body<ErrorBody>(tooLong).error.message).toContain('2048')
    } finally {
      await large.close()
    }
    const small = await startPeerWithApi({}, { replication: { maxKeyBytes: 16 } })
    try {
      for (const url of [`/v1/kv/${'k'.repeat(17)}`, `/v1/trace/${'k'.repeat(17)}`]) {
        const response = await small.app.inject({ method: 'GET', url, headers: auth })
        expect(response.statusCode, url).toBe(400)
        expect(body<ErrorBody>(response).error).toMatchObject({ code: 'ERR_KEY_TOO_LONG', message: expect.stringContaining('16 bytes') })
      }
      const digest = small.peer.kv.digest()
      const put = await small.app.inject({ method: 'PUT', url: `/v1/kv/${'k'.repeat(17)}`, headers: json, payload: '1' })
      expect(body<ErrorBody>(put).error.code).toBe('ERR_KEY_TOO_LONG')
      expect(small.peer.kv.digest()).toBe(digest)
      expect((await small.app.inject({ method: 'PUT', url: `/v1/kv/${'k'.repeat(16)}`, headers: json, payload: '1' })).statusCode).toBe(200)
    } finally {
      await small.close()
    }
  })
})
