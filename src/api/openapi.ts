/**
 * The OpenAPI document comes from the route schemas through @fastify/swagger: it collects every
 * route as it is registered and turns its JSON schemas into parameters, a request body and
 * responses. This module holds what the routes do not say themselves: the document's header,
 * the bearer-token scheme, and per route an operation id and whether it needs the token.
 */
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger'
import { API_VERSION, PUBLIC_ROUTES } from './constants.js'
import { ERROR_STATUS } from './errors.js'
import type { JsonSchema, RouteSchema } from './schemas.js'

/** One registered route, as `app.hearsay.routes` lists it. */
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
  parameters?: OpenApiParameter[]
  requestBody?: { required?: boolean, content: Record<string, { schema: JsonSchema }> }
  responses: Record<string, OpenApiResponse>
}

/** The parts of the OpenAPI 3.1 document this API's users (and its tests) read. */
export interface OpenApiDocument {
  openapi: string
  info: { title: string, version: string, description: string }
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

/** `GET /v1/kv/:key` → `getKvByKey` */
export function operationId (method: string, url: string): string {
  const words = url.split('/').filter((w) => w !== '' && w !== 'v1').map((w) => w.replace(/^:/, 'by-').replace(/[^A-Za-z0-9]+/g, '-'))
  return [method.toLowerCase(), ...words].join('-').replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase())
}

/** @fastify/swagger's options for this API: OpenAPI 3.1 (the route schemas are JSON Schema as they are). */
export function swaggerOptions (): FastifyDynamicSwaggerOptions {
  const codes = Object.entries(ERROR_STATUS).map(([code, status]) => `${code} (${status})`).join(', ')
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'hearsay peer API',
        version: API_VERSION,
        description: 'The HTTP API of one hearsay peer. Every route but /health and the dashboard page needs "Authorization: Bearer <token>" ' +
          '(the token is in the peer\'s data dir, api.token). Errors are {"error":{"code","message"}}; the codes: ' + codes + '.'
      },
      components: {
        securitySchemes: {
          [SECURITY_SCHEME]: { type: 'http', scheme: 'bearer', description: 'The token in <data dir>/api.token.' }
        }
      }
    },
    transform: ({ schema, url, route }) => {
      const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method)
      return {
        schema: {
          ...schema,
          operationId: operationId(method, url),
          security: PUBLIC_ROUTES.has(url) ? [] : [{ [SECURITY_SCHEME]: [] }]
        },
        url
      }
    }
  }
}
