// The HTTP API, driven through fastify's inject() over a real in-memory peer: random methods,
// paths (routes, keys with every kind of percent-encoding, overlong keys, unknown paths),
// query strings, authorization and content-type headers, and bodies (JSON values, edited JSON,
// bytes, over-limit and deeply nested bodies). Every answer is a documented status: 2xx, or
// `{ error: { code, message } }` with the code's status from ERROR_STATUS, never 500. A refused
// request, and any read, leaves the store as it was; an accepted PUT stores what was sent.
// GET /v1/watch with a valid token is left out: it is a stream that never ends by design.

import { buildApi, createToken, ERROR_STATUS } from '../../dist/src/api/index.js'
import { createPeer } from '../../dist/src/index.js'
import { fc, anyString, check, checkSame, fail, mutatedText, show } from '../lib.js'

const TOKEN = createToken()
const BODY_LIMIT = 64 * 1024
const REQUEST_TIMEOUT_MS = 10_000

const keyText = fc.oneof(
  fc.constantFrom('k', 'greeting', 'a/b', 'dir/sub dir/ünï ✓', '__proto__', 'constructor', '.', '..', ' ', '%', '\u0000x', '😀'),
  anyString,
  fc.constantFrom('k'.repeat(1024), 'k'.repeat(1025), 'é'.repeat(512), 'é'.repeat(513), 'x'.repeat(20_000))
)
/** A path segment as a client might write it: encoded, raw percent garbage, or half of each. */
const segment = fc.oneof(
  { arbitrary: keyText.map((k) => encodeURIComponent(k.replace(/[\uD800-\uDFFF]/g, 'x'))), weight: 5 },
  { arbitrary: fc.constantFrom('%', '%z', '%zz', '%00', '%2F', '%2f', '%25', '%C0%80', '%ED%A0%80', '%FF', '%E2%82', '..%2F..', '%2e%2e', 'a%20b', '+'), weight: 2 },
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,12}$/), weight: 2 }
)
const path = fc.oneof(
  { arbitrary: fc.constantFrom('/health', '/v1/status', '/v1/members', '/v1/leader', '/v1/kv', '/v1/jobs', '/metrics', '/v1/openapi.json', '/v1/watch'), weight: 3 },
  { arbitrary: segment.map((s) => `/v1/kv/${s}`), weight: 6 },
  { arbitrary: fc.tuple(segment, segment).map(([a, b]) => `/v1/kv/${a}/${b}`), weight: 1 },
  { arbitrary: fc.constantFrom('/', '/v1', '/v1/', '/v1/kv/', '/v1//kv/k', '/V1/KV/k', '/v1/kv/k/', '/v2/kv/k', '//health', '/v1/kv?', '/v1/watch/'), weight: 1 },
  { arbitrary: fc.array(segment, { maxLength: 3 }).map((s) => `/${s.join('/')}`), weight: 1 }
)
const queryValue = fc.oneof(
  fc.constantFrom('', 'true', 'false', '1', '0', '-1', '1e3', '1000001', '2.5', 'NaN', 'null', '%zz', '%00'),
  keyText.map((k) => encodeURIComponent(k.replace(/[\uD800-\uDFFF]/g, 'x')))
)
const query = fc.array(fc.tuple(fc.constantFrom('prefix', 'limit', 'versions', 'colour', '__proto__', ''), queryValue), { maxLength: 3 })
  .map((pairs) => pairs.length === 0 ? '' : '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&'))

const authorization = fc.oneof(
  { arbitrary: fc.constant(`Bearer ${TOKEN}`), weight: 8 },
  { arbitrary: fc.constantFrom(undefined, 'Bearer', 'Bearer ', `bearer ${TOKEN}`, `Bearer  ${TOKEN}`, `Bearer ${TOKEN} `, `Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN, 'Bearer x'.repeat(300)), weight: 2 }
)
const contentType = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 6 },
  { arbitrary: fc.constantFrom(undefined, 'application/json; charset=utf-8', 'application/json; charset=latin1', 'application/JSON', 'application/json+x',
    'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', '', ';', 'application/json;;;'), weight: 3 }
)

const json = fc.jsonValue({ maxDepth: 4 })
const jsonText = json.map((v) => JSON.stringify(v))
const body = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: jsonText, weight: 10 },
  { arbitrary: mutatedText(jsonText, ['{', '}', '[', ']', '"', ':', ',', 'null', '1e400', '-0', '"\\ud800"', '"__proto__":{"x":1}', '"constructor":{"prototype":{"x":1}}', '\\u0000']), weight: 4 },
  { arbitrary: fc.constantFrom('{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '"\\ud800"', '1e400', '-0', '', ' ', 'null', '"x"'), weight: 2 },
  { arbitrary: fc.integer({ min: 10, max: 100_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)), weight: 1 },
  { arbitrary: fc.constantFrom(BODY_LIMIT - 2, BODY_LIMIT - 1, BODY_LIMIT, BODY_LIMIT + 1).map((n) => `"${'x'.repeat(n - 2)}"`), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)), weight: 1 }
)

const request = fc.record({
  method: fc.constantFrom('GET', 'GET', 'PUT', 'PUT', 'PUT', 'DELETE', 'POST', 'PATCH', 'HEAD', 'OPTIONS'),
  path,
  query,
  authorization,
  contentType,
  body
})

/** The route path after fastify's decoding, to recognise a watch stream however it is spelled. */
function isWatch (url) {
  let decoded = url.split('?')[0]
  try {
    decoded = decodeURIComponent(decoded)
  } catch {}
  return decoded.replace(/\/+$/, '').toLowerCase() === '/v1/watch'
}

function storeState (peer) {
  return { digest: peer.kv.digest(), vector: peer.kv.versionVector(), size: peer.kv.size() }
}

function withTimeout (promise, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what} got no answer in ${REQUEST_TIMEOUT_MS} ms`)) }, REQUEST_TIMEOUT_MS) })
  ])
}

export default {
  name: 'api',
  async: true,
  // A running peer with its API; 256 MiB: other parts of the peer allocate while a request runs.
  maxGrowth: 256 * 1024 * 1024,
  async setup () {
    // No election during the run (no coordinator, so no job writes to the store behind our back).
    const peer = await createPeer({ profile: 'local', election: { heartbeatTimeout: 2_000_000_000, coordinatorTimeout: 2_000_000_000 } })
    await peer.start()
    const app = buildApi(peer, { token: TOKEN, logger: false, bodyLimit: BODY_LIMIT })
    await app.ready()
    return { peer, app }
  },
  async teardown ({ peer, app }) {
    await app.close()
    await peer.stop()
  },
  input: () => request,
  async run ({ peer, app }, r) {
    const url = r.path + r.query
    // The scheme is case-insensitive and spaces around the token are allowed (RFC 6750, RFC 9110).
    const authorized = /^Bearer[ ]+(\S+)\s*$/i.exec(r.authorization ?? '')?.[1] === TOKEN
    if (authorized && (r.method === 'GET' || r.method === 'HEAD') && isWatch(url)) return
    const headers = {}
    if (r.authorization !== undefined) headers.authorization = r.authorization
    if (r.contentType !== undefined) headers['content-type'] = r.contentType
    const before = storeState(peer)
    const response = await withTimeout(app.inject({ method: r.method, url, headers, ...(r.body === undefined ? {} : { payload: r.body }) }), `${r.method} ${url}`)
    const status = response.statusCode
    const where = `${r.method} ${show(url, 200)} → ${status} ${show(response.body, 300)}`
    check(status < 500, `${where}: a server error`)
    if (status >= 400 && r.method === 'HEAD') {
      // A HEAD answer carries no body: the status must still be one an error code has.
      check(Object.values(ERROR_STATUS).includes(status), `${where}: a status no error code has`)
      checkSame(storeState(peer), before, `${where}: the store after a refused request`)
      return
    }
    if (status >= 400) {
      let reply
      try {
        reply = JSON.parse(response.body)
      } catch {
        fail(`${where}: an error reply that is not JSON`)
      }
      const code = reply?.error?.code
      check(typeof code === 'string' && Object.hasOwn(ERROR_STATUS, code), `${where}: undocumented error code ${show(code)}`)
      check(ERROR_STATUS[code] === status, `${where}: ${code} answered with ${status}, not ${ERROR_STATUS[code]}`)
      check(typeof reply.error.message === 'string' && reply.error.message.length > 0, `${where}: no message`)
      check(String(response.headers['content-type']).startsWith('application/json'), `${where}: error reply of type ${response.headers['content-type']}`)
      checkSame(storeState(peer), before, `${where}: the store after a refused request`)
      return
    }
    check(status >= 200 && status < 300, `${where}: unexpected status`)
    if (r.method !== 'PUT' && r.method !== 'DELETE') {
      checkSame(storeState(peer), before, `${where}: the store after a read`)
      return
    }
    const receipt = JSON.parse(response.body)
    check(typeof receipt.key === 'string', `${where}: a write answered without its key`)
    if (r.method === 'PUT') {
      const sent = JSON.parse(Buffer.isBuffer(r.body) ? r.body.toString('utf8') : r.body)
      checkSame(peer.kv.get(receipt.key), JSON.parse(JSON.stringify(sent)), `${where}: the value stored`)
    } else if (receipt.deleted === true) {
      check(peer.kv.get(receipt.key) === undefined, `${where}: the key still holds a value after DELETE`)
    } else {
      checkSame(storeState(peer), before, `${where}: the store after a DELETE of nothing`)
    }
  }
}
