import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { API_TOKEN_FILE } from '../api/constants.js'
import { ClientApiError, NoApiError } from './errors.js'

/** File `hearsay start` writes in its data dir so client commands find its API. */
export const API_URL_FILE = 'api.url'

/** The flags every client command takes. */
export interface ClientFlags {
  api?: string
  data: string
  json?: boolean
}

/** The API a client command talks to: `--api`, or the peer whose data dir `--data` names. */
export async function clientFor (flags: ClientFlags): Promise<ApiClient> {
  return connect({ ...(flags.api === undefined ? {} : { api: flags.api }), data: flags.data, env: process.env })
}

export interface ClientOptions {
  /** --api URL */
  api?: string
  /** --data DIR: where api.url and api.token are read from */
  data: string
  env: NodeJS.ProcessEnv
}

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE'

export interface ApiClient {
  readonly url: string
  /**
   * `headers`: extra request headers (If-Match, ...). `timeoutMs`: how long to wait for the answer
   * (default 30 s); a query waits longer than that when asked to.
   */
  request<T> (method: HttpMethod, path: string, body?: unknown, headers?: Record<string, string>, options?: { timeoutMs?: number }): Promise<T>
  /** The raw response, for streams (watch). */
  stream (path: string, signal: AbortSignal, headers?: Record<string, string>): Promise<Response>
}

async function readSmall (path: string): Promise<string | undefined> {
  try {
    const text = await readFile(path, 'utf8')
    return text.length > 4096 ? undefined : text.trim()
  } catch {
    return undefined
  }
}

export async function connect (options: ClientOptions): Promise<ApiClient> {
  const url = options.api ?? options.env.HEARSAY_API ?? await readSmall(join(options.data, API_URL_FILE))
  if (url === undefined || url === '') {
    throw new NoApiError(`no peer API found in ${options.data}: start a peer there with "hearsay start", or pass --api URL (or set HEARSAY_API)`)
  }
  const base = normalise(url)
  const token = options.env.HEARSAY_TOKEN ?? await readSmall(join(options.data, API_TOKEN_FILE))
  if (token === undefined || token === '') {
    throw new NoApiError(`no API token: set HEARSAY_TOKEN, or pass --data DIR of the peer (its token is in DIR/${API_TOKEN_FILE})`)
  }
  const headers = { authorization: `Bearer ${token}` }

  async function send (method: string, path: string, body: unknown, signal?: AbortSignal, extra: Record<string, string> = {}): Promise<Response> {
    try {
      return await fetch(base + path, {
        method,
        headers: body === undefined ? { ...headers, ...extra } : { ...headers, ...extra, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: signal ?? AbortSignal.timeout(30_000)
      })
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err
      throw new NoApiError(`cannot reach the peer's API at ${base}: is "hearsay start" running there? (${(err as Error).message})`)
    }
  }

  return {
    url: base,
    async request<T> (method: HttpMethod, path: string, body?: unknown, extra?: Record<string, string>, options: { timeoutMs?: number } = {}): Promise<T> {
      const response = await call(base, method, path, body, extra === undefined ? headers : { ...headers, ...extra }, options.timeoutMs ?? REQUEST_TIMEOUT_MS)
      let parsed: unknown
      try {
        parsed = response.text === '' ? undefined : JSON.parse(response.text)
      } catch {
        throw new ClientApiError(response.status, 'ERR_BAD_RESPONSE', `the API answered ${response.status} with something that is not JSON`)
      }
      if (response.status < 200 || response.status > 299) {
        const error = (parsed as { error?: { code?: unknown, message?: unknown } } | undefined)?.error
        throw new ClientApiError(response.status, typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
          typeof error?.message === 'string' ? error.message : `the API answered ${response.status}`)
      }
      return parsed as T
    },
    async stream (path: string, signal: AbortSignal, extra?: Record<string, string>): Promise<Response> {
      const response = await send('GET', path, undefined, signal, extra)
      if (!response.ok) {
        const text = await response.text()
        let code = `HTTP_${response.status}`
        let message = `the API answered ${response.status}`
        try {
          const error = (JSON.parse(text) as { error?: { code?: string, message?: string } }).error
          code = error?.code ?? code
          message = error?.message ?? message
        } catch {}
        throw new ClientApiError(response.status, code, message)
      }
      return response
    }
  }
}

/** How long a client command waits for the peer's answer unless told otherwise (ms). */
const REQUEST_TIMEOUT_MS = 30_000

/**
 * node:http (or https) as a CommonJS module. `import('node:http')` builds an ES module namespace
 * of every export, which reads http's lazy getters and so loads http2, zlib and undici: measured,
 * 40-50 ms of a client command's ~140 ms. `process.getBuiltinModule` (Node 22.3+) does not.
 */
async function httpModule (secure: boolean): Promise<typeof import('node:http')> {
  const name = secure ? 'node:https' : 'node:http'
  const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.(name)
  if (builtin !== undefined) return builtin as typeof import('node:http')
  return secure ? await import('node:https') as unknown as typeof import('node:http') : await import('node:http')
}

/** Most bytes of an answer a client command reads (a listing of a large store is big, not endless). */
const MAX_RESPONSE_BYTES = 512 * 1024 * 1024

/**
 * One request over node:http rather than fetch: a client command is one request, and loading
 * fetch (undici) took about a fifth of a command's whole run.
 */
async function call (base: string, method: string, path: string, body: unknown, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number, text: string }> {
  const { request } = await httpModule(base.startsWith('https:'))
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
  return await new Promise((resolve, reject) => {
    const unreachable = (err: Error): void => {
      reject(new NoApiError(`cannot reach the peer's API at ${base}: is "hearsay start" running there? (${err.message})`))
    }
    const req = request(base + path, {
      method,
      headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(payload.byteLength) },
      timeout: timeoutMs
    }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.byteLength
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy(new Error(`the answer is over ${MAX_RESPONSE_BYTES} bytes`))
          return
        }
        chunks.push(chunk)
      })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', unreachable)
    })
    req.on('timeout', () => { req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)) })
    req.on('error', unreachable)
    req.end(payload)
  })
}

function normalise (url: string): string {
  const withScheme = /^https?:\/\//.test(url) ? url : `http://${url}`
  try {
    const parsed = new URL(withScheme)
    return parsed.origin
  } catch {
    throw new NoApiError(`${JSON.stringify(url)} is not an API URL (for example http://127.0.0.1:7070)`)
  }
}

export function keyPath (key: string): string {
  return `/v1/kv/${encodeURIComponent(key)}`
}
