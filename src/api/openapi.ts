/**
 * A small OpenAPI 3.1 generator over the routes fastify registered: each route's JSON schemas
 * (collected in an `onRoute` hook) become its parameters, request body and responses. OpenAPI
 * 3.1 schemas are JSON Schema, so the route schemas go in as they are.
 */
import { ERROR_STATUS } from './errors.js'
import type { JsonSchema, RouteSchema } from './schemas.js'

/** One registered route, as the generator sees it. */
export interface RouteInfo {
  readonly method: string
  /** fastify's path, `:name` for parameters. */
  readonly url: string
  /** Answers without a token. */
  readonly public: boolean
  readonly schema: RouteSchema
}

export interface OpenApiParameter {
  name: string
  in: 'path' | 'query' | 'header'
  required: boolean
  description?: string
  schema: JsonSchema
}

export interface OpenApiResponse {
  description: string
  content: Record<string, { schema: JsonSchema }>
}

export interface OpenApiOperation {
  operationId: string
  summary: string
  description?: string
  tags: string[]
  security: Array<Record<string, string[]>>
  parameters: OpenApiParameter[]
  requestBody?: { required: boolean, content: Record<string, { schema: JsonSchema }> }
  responses: Record<string, OpenApiResponse>
}

export interface OpenApiDocument {
  openapi: '3.1.0'
  info: { title: string, version: string, description: string }
  servers?: Array<{ url: string }>
  paths: Record<string, Record<string, OpenApiOperation>>
  components: {
    securitySchemes: Record<string, { type: 'http', scheme: 'bearer', description: string }>
  }
}

const SECURITY_SCHEME = 'bearerAuth'

/** `/v1/kv/:key` → `/v1/kv/{key}` */
export function openApiPath (url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

export function buildOpenApi (routes: readonly RouteInfo[], info: { version: string }): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {}
  for (const route of routes) {
    const path = openApiPath(route.url)
    const operations = paths[path] ?? {}
    operations[route.method.toLowerCase()] = operation(route)
    paths[path] = operations
  }
  const codes = Object.entries(ERROR_STATUS).map(([code, status]) => `${code} (${status})`).join(', ')
  return {
    openapi: '3.1.0',
    info: {
      title: 'hearsay peer API',
      version: info.version,
      description: 'The HTTP API of one hearsay peer. Every route but /health needs "Authorization: Bearer <token>" ' +
        '(the token is in the peer\'s data dir, api.token). Errors are {"error":{"code","message"}}; the codes: ' + codes + '.'
    },
    paths,
    components: {
      securitySchemes: {
        [SECURITY_SCHEME]: { type: 'http', scheme: 'bearer', description: 'The token in <data dir>/api.token.' }
      }
    }
  }
}

function operation (route: RouteInfo): OpenApiOperation {
  const { schema } = route
  const op: OpenApiOperation = {
    operationId: operationId(route),
    summary: schema.summary,
    ...(schema.description === undefined ? {} : { description: schema.description }),
    tags: [...schema.tags],
    security: route.public ? [] : [{ [SECURITY_SCHEME]: [] }],
    parameters: [...parameters(schema.params, 'path'), ...parameters(schema.querystring, 'query'), ...parameters(schema.headers, 'header')],
    responses: {}
  }
  if (schema.body !== undefined) {
    op.requestBody = { required: true, content: { 'application/json': { schema: schema.body } } }
  }
  for (const [status, reply] of Object.entries(schema.response)) {
    op.responses[status.replace(/xx$/, 'XX')] = response(status, reply)
  }
  return op
}

function parameters (schema: JsonSchema | undefined, where: 'path' | 'query' | 'header'): OpenApiParameter[] {
  const properties = schema?.properties
  if (properties === undefined || properties === null || typeof properties !== 'object') return []
  const required = Array.isArray(schema?.required) ? schema.required as unknown[] : []
  return Object.entries(properties as Record<string, JsonSchema>).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.includes(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property
  }))
}

function response (status: string, reply: JsonSchema): OpenApiResponse {
  const description = status.startsWith('2')
    ? 'OK'
    : status.startsWith('4') ? 'The request was refused: see error.code' : 'The peer could not answer: see error.code'
  const content = reply.content
  if (content !== undefined && content !== null && typeof content === 'object') {
    return { description, content: content as Record<string, { schema: JsonSchema }> }
  }
  return { description, content: { 'application/json': { schema: reply } } }
}

function operationId (route: RouteInfo): string {
  const words = route.url.split('/').filter((w) => w !== '' && w !== 'v1').map((w) => w.replace(/^:/, 'by-').replace(/[^A-Za-z0-9]+/g, '-'))
  const name = [route.method.toLowerCase(), ...words].join('-')
  return name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase())
}
