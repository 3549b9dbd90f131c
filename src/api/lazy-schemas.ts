import { createRequire } from 'node:module'
import type { FastifyServerOptions } from 'fastify'

/**
 * Fastify's own schema compilers (ajv for requests, fast-json-stringify for replies), compiling
 * each route's schema the first time the route is used instead of when the API starts.
 * Compiling every route up front was most of what starting the API cost (about 150 ms of CPU and
 * 3.6 MB of heap per peer process, for routes most peers never serve); ajv itself is not even
 * loaded until a route with a schema is first called. What the routes accept and answer is
 * unchanged: the same compilers, with the same options, run on the same schemas.
 *
 * The compilers are loaded from fastify's own install, so they are the versions fastify would
 * use itself.
 */

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
type Validate = ((data: unknown, context?: unknown) => unknown) & { errors?: unknown, schemaEnv?: unknown }
type ValidatorCompiler = (route: unknown) => Validate
type ValidatorBuilder = (externalSchemas: unknown, options: unknown) => ValidatorCompiler
type Serialize = (data: unknown) => string
type SerializerCompiler = (route: unknown) => Serialize
type SerializerBuilder = (externalSchemas: unknown, options: unknown) => SerializerCompiler

const fromFastify = (): NodeRequire => createRequire(createRequire(import.meta.url).resolve('fastify'))

let validatorBuilder: ValidatorBuilder | undefined
let serializerBuilder: SerializerBuilder | undefined

/** `compilersFactory.buildValidator`: request schemas are compiled on first use. */
export const buildLazyValidator = lazyValidator as unknown as NonNullable<CompilersFactory['buildValidator']>

/** `compilersFactory.buildSerializer`: reply schemas are compiled on first use. */
export const buildLazySerializer = lazySerializer as unknown as NonNullable<CompilersFactory['buildSerializer']>

function lazyValidator (externalSchemas: unknown, options: unknown): ValidatorCompiler {
  let compiler: ValidatorCompiler | undefined
  return (route) => {
    let validate: Validate | undefined
    const lazy: Validate = (data, context) => {
      if (validate === undefined) {
        validatorBuilder ??= (fromFastify()('@fastify/ajv-compiler') as () => ValidatorBuilder)()
        compiler ??= validatorBuilder(externalSchemas, options)
        validate = compiler(route)
      }
      const result = validate(data, context)
      lazy.errors = validate.errors
      return result
    }
    // Fastify hands ajv validators (which have this) the parent object, so ajv can coerce a
    // root value in place; ours always wraps ajv.
    lazy.schemaEnv = true
    return lazy
  }
}

function lazySerializer (externalSchemas: unknown, options: unknown): SerializerCompiler {
  let compiler: SerializerCompiler | undefined
  return (route) => {
    let serialize: Serialize | undefined
    return (data) => {
      if (serialize === undefined) {
        serializerBuilder ??= (fromFastify()('@fastify/fast-json-stringify-compiler') as () => SerializerBuilder)()
        compiler ??= serializerBuilder(externalSchemas, options)
        serialize = compiler(route)
      }
      return serialize(data)
    }
  }
}
