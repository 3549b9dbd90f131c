import { HearsayError, codedError } from '../errors.js'

/**
 * Every error code the HTTP API answers with, and its status. One table: the error handler
 * reads it, the OpenAPI document and the README list it. Codes that come from the store or
 * the storage layer keep their own code in the reply.
 */
export const ERROR_STATUS = Object.freeze({
  /** A request that breaks a route's schema (the message names the field), or a malformed URL. */
  ERR_BAD_REQUEST: 400,
  /** The body is not JSON (or is empty) although the content type says it is. */
  ERR_BAD_JSON: 400,
  /** A key is empty or not valid UTF-8. */
  ERR_INVALID_KEY: 400,
  /** A key is over 1024 bytes of UTF-8. */
  ERR_KEY_TOO_LONG: 400,
  /** A value is not JSON the store accepts (too deep, not finite, ...). */
  ERR_INVALID_VALUE: 400,
  /** A config file setting that is wrong (reload): the message names the field. */
  ERR_CONFIG: 400,
  /** Tags the other members would refuse (too many, too long, not text). */
  ERR_INVALID_TAGS: 400,
  /** A counter step that is not a finite number. */
  ERR_INVALID_AMOUNT: 400,
  ERR_INVALID_VERSION: 400,
  /** An event or query name outside 1-128 letters, digits and "_ . : @ + -". */
  ERR_INVALID_EVENT_NAME: 400,
  /** An event or query payload that is not plain JSON, or is nested too deep. */
  ERR_INVALID_PAYLOAD: 400,
  /** A query timeout that is not 1-60,000 ms. */
  ERR_INVALID_QUERY_TIMEOUT: 400,
  /** No `Authorization: Bearer <token>` header, or the wrong token. */
  ERR_UNAUTHORIZED: 401,
  /** No route for this method and path. */
  ERR_NOT_FOUND: 404,
  /** The key holds no value. */
  ERR_KEY_NOT_FOUND: 404,
  /** This peer knows no coordinator right now (an election is running or has not started). */
  ERR_NO_LEADER: 404,
  /** This peer knows no such member. */
  ERR_MEMBER_NOT_FOUND: 404,
  /** This peer knows no write of the key to trace. */
  ERR_NO_TRACE: 404,
  /** The API was built without a log to stream (only `hearsay start` gives it one). */
  ERR_NO_LOG_SOURCE: 404,
  /** A write that conflicts with what the key holds: a counter or set operation on another type. */
  ERR_WRONG_TYPE: 409,
  ERR_VERSION_MISMATCH: 412,
  ERR_NOT_A_WRITER: 403,
  /** A write would supersede more concurrent versions than one record may carry. */
  ERR_TOO_MANY_REMOVES: 409,
  /** A reload was asked of a peer started without --config. */
  ERR_NO_CONFIG: 409,
  /** The request body is over the API's body limit. */
  ERR_BODY_TOO_LARGE: 413,
  /** The value's JSON is over the store's value limit. */
  ERR_VALUE_TOO_LARGE: 413,
  /** An event or query payload over the events' payload limit (64 KiB of JSON by default). */
  ERR_EVENT_TOO_LARGE: 413,
  /** This client made more requests than the API allows one client, or this peer sent more events or queries than every peer accepts from one sender. */
  ERR_RATE_LIMITED: 429,
  /** A body whose content type is not `application/json`. */
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  /** Anything unexpected; the peer's log has the details. */
  ERR_INTERNAL: 500,
  /** The data dir cannot be read or written. */
  ERR_STORAGE_IO: 500,
  /** The peer is stopping (or not started). */
  ERR_STOPPING: 503,
  /** The peer serves as many event streams (watch, dashboard, events, monitor together) as it allows, or as many followers of its log. */
  ERR_TOO_MANY_STREAMS: 503,
  /** The peer is used before `start()`. */
  ERR_NOT_STARTED: 503,
  /** The durable log is closed: the peer is stopping. */
  ERR_LOG_CLOSED: 503,
  /** A write or fsync failed: the log refuses writes until the peer restarts. */
  ERR_LOG_FAILED: 503
} as const satisfies Record<string, number>)

export type ApiErrorCode = keyof typeof ERROR_STATUS

/** What every error reply looks like. */
export interface ErrorReply {
  /** `current`: ERR_VERSION_MISMATCH only, the key's current version (null: none). */
  error: { code: string, message: string, current?: string | null }
}

export function isApiErrorCode (code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_STATUS, code)
}

/** An error the API answers with on purpose; its status comes from `ERROR_STATUS`. */
export class ApiError extends HearsayError {
  declare readonly code: ApiErrorCode

  constructor (code: ApiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }

  get status (): number {
    return ERROR_STATUS[this.code]
  }
}

export class BadRequestError extends ApiError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_BAD_REQUEST', message, options)
  }
}

export class BadJsonError extends ApiError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_BAD_JSON', message, options)
  }
}

export class UnauthorizedError extends ApiError {
  constructor (message: string) {
    super('ERR_UNAUTHORIZED', message)
  }
}

export class RouteNotFoundError extends ApiError {
  constructor (method: string, url: string) {
    const path = url.split('?')[0] ?? url
    const hint = path.startsWith('/v1/kv/') && path.slice('/v1/kv/'.length).includes('/')
      ? ': percent-encode "/" in keys as %2F'
      : ': see GET /v1/openapi.json for the routes'
    super('ERR_NOT_FOUND', `no route ${method} ${path}${hint}`)
  }
}

export class KeyNotFoundError extends ApiError {
  constructor (key: string) {
    super('ERR_KEY_NOT_FOUND', `key ${JSON.stringify(key)} holds no value`)
  }
}

export class NoLeaderError extends ApiError {
  constructor () {
    super('ERR_NO_LEADER', 'this peer knows no coordinator right now (an election is running or about to): try again shortly')
  }
}

/** No write of the key is known here (none made or received, or it left the trace buffer and the key holds no value). */
export class NoTraceError extends ApiError {
  constructor (key: string) {
    super('ERR_NO_TRACE', `this peer knows no write of key ${JSON.stringify(key)}: write it first, or ask a peer that has it`)
  }
}

export class BodyTooLargeError extends ApiError {
  constructor (limit: number) {
    super('ERR_BODY_TOO_LARGE', `the request body is over the API's limit of ${limit} bytes`)
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  constructor (contentType: string | undefined) {
    super('ERR_UNSUPPORTED_MEDIA_TYPE',
      `content type ${JSON.stringify(contentType ?? '')} is not accepted: send the value as JSON with "content-type: application/json"`)
  }
}

export class StoppingError extends ApiError {
  constructor () {
    super('ERR_STOPPING', 'the peer is not running (it is stopping or not started yet): try again once it runs')
  }
}

export class InternalError extends ApiError {
  constructor (options?: { cause?: unknown }) {
    super('ERR_INTERNAL', 'internal error: the peer\'s log has the details', options)
  }
}

/** `buildApi` was given an option it cannot use (the message names it). */
export class InvalidApiOptionsError extends codedError('ERR_INVALID_API_OPTIONS') {}

/** Refuses any of `values` that is not a positive number, naming it as `<group>.<name>`. */
export function requirePositive (group: string, values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!Number.isFinite(value) || value <= 0) throw new InvalidApiOptionsError(`${group}.${name} must be a positive number, not ${value}`)
  }
}

/** The dashboard's files are not where the package put them. */
export class DashboardFilesError extends HearsayError {
  static readonly code = 'ERR_DASHBOARD_FILES'

  constructor (looked: string[]) {
    super(DashboardFilesError.code, `the dashboard's files are missing (looked in ${looked.join(' and ')}): reinstall hearsay`)
  }
}

/** A token file that exists but does not hold a usable token. */
export class TokenFileError extends HearsayError {
  constructor (path: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_TOKEN_FILE', `API token file ${path} ${detail}: fix it or delete it to have a new token made`, options)
  }
}

/** The reply for an error, and whether it was unexpected (to be logged as an error). */
export interface ClassifiedError {
  status: number
  body: ErrorReply
  unexpected: boolean
}

interface ErrorLike {
  code?: unknown
  statusCode?: unknown
  message?: unknown
  validation?: unknown
}

/** fastify's own errors, by code, and what the API answers for them. */
const FRAMEWORK_ERRORS: Readonly<Record<string, (err: ErrorLike) => ApiError>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: () => new BadJsonError('the body is not valid JSON (keys named __proto__ or constructor.prototype are refused too)'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new BadJsonError('the body is empty: send a JSON value (for example "text", 42, null or {"a":1})'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new UnsupportedMediaTypeError(undefined),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new BadRequestError('the content-length header does not match the body'),
  FST_ERR_BAD_URL: () => new BadRequestError('the URL is not valid percent-encoding: encode keys with encodeURIComponent'),
  FST_ERR_VALIDATION: (err) => new BadRequestError(`invalid request: ${String(err.message)}`)
}

/**
 * Maps anything a handler, hook or fastify itself threw to the reply. Known codes keep their
 * code and message; everything else is 500 `ERR_INTERNAL` with a message that shows nothing
 * of the internals.
 */
export function classifyError (err: unknown, bodyLimit: number, contentType?: string): ClassifiedError {
  const e: ErrorLike = typeof err === 'object' && err !== null ? err as ErrorLike : {}
  let api: ApiError | undefined
  if (err instanceof ApiError) api = err
  else if (e.validation !== undefined) api = new BadRequestError(`invalid request: ${String(e.message)}`)
  else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') api = new BodyTooLargeError(bodyLimit)
  else if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') api = new UnsupportedMediaTypeError(contentType)
  else if (typeof e.code === 'string' && Object.hasOwn(FRAMEWORK_ERRORS, e.code)) api = FRAMEWORK_ERRORS[e.code]?.(e)
  else if (isClientFrameworkError(e)) api = new BadRequestError(String(e.message))
  if (api !== undefined) return { status: api.status, body: reply(api.code, api.message), unexpected: false }
  if (isApiErrorCode(e.code) && typeof e.message === 'string') {
    // A documented error of another part (the store, the log): its own code and message.
    const status = ERROR_STATUS[e.code]
    const body = reply(e.code, e.message)
    if (e.code === 'ERR_VERSION_MISMATCH') body.error.current = (err as { current?: string }).current ?? null
    return { status, body, unexpected: status >= 500 }
  }
  const internal = new InternalError({ cause: err })
  return { status: internal.status, body: reply(internal.code, internal.message), unexpected: true }
}

/** Any other 4xx fastify raises about the request itself. */
function isClientFrameworkError (e: ErrorLike): boolean {
  return typeof e.code === 'string' && e.code.startsWith('FST_') &&
    typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500
}

export function reply (code: string, message: string): ErrorReply {
  return { error: { code, message } }
}

/** `startApi` could not listen (the port is taken, the host is not local, ...). */
export class ApiListenError extends HearsayError {
  constructor (host: string, port: number, options?: { cause?: unknown }) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super('ERR_API_LISTEN', `the HTTP API cannot listen on ${host}:${port}${why}; choose another --api HOST:PORT`, options)
  }
}

/** One ajv error as fastify hands it over. */
export interface SchemaValidationError {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
  message?: string
}

/**
 * The message of a schema error names the field: `querystring.limit must be >= 1`,
 * `querystring has an unknown parameter "colour"`.
 */
export function formatSchemaErrors (errors: readonly SchemaValidationError[], dataVar: string): Error {
  const parts = errors.map((e) => {
    const where = `${dataVar}${e.instancePath.replace(/\//g, '.')}`
    if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
      return `${where} has an unknown parameter ${JSON.stringify(e.params.additionalProperty)}`
    }
    return `${where} ${e.message ?? 'is invalid'}`
  })
  return new Error(parts.join('; '))
}
