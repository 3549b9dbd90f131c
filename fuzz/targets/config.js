// `hearsay start --config FILE` (JSON or YAML) and the HEARSAY_* environment variables.
// parseConfigText / configFromEnv either return settings every one of which has the type
// `hearsay start` expects (on a plain object: no prototype games), or throw ConfigError
// naming the source; resolveConfig over any accepted layers gives a complete config.
// Inputs: valid configs written as JSON and YAML, then edited with tokens that have broken
// parsers (anchors and aliases, tags, directives, prototype names, deep nesting), raw text,
// and random environments.

import { stringify as toYaml } from 'yaml'
import { configFromEnv, DEFAULTS, parseConfigText, resolveConfig } from '../../dist/src/cli/config.js'
import { ConfigError } from '../../dist/src/cli/errors.js'
import { LOG_LEVELS } from '../../dist/src/cli/output.js'
import { validateTags } from '../../dist/src/membership/tags.js'
import { fc, anyString, check, expectTyped, mutatedText, show } from '../lib.js'

const FIELD_NAMES = Object.keys(DEFAULTS)
const PROTO_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']
const ENV_NAMES = ['HEARSAY_DATA', 'HEARSAY_NETWORK', 'HEARSAY_LISTEN', 'HEARSAY_BOOTSTRAP', 'HEARSAY_API_LISTEN', 'HEARSAY_PRIORITY',
  'HEARSAY_PROFILE', 'HEARSAY_LOG_LEVEL', 'HEARSAY_PSK', 'HEARSAY_WRITERS', 'HEARSAY_SYNC', 'HEARSAY_OTLP', 'HEARSAY_API', 'PATH']

const address = fc.constantFrom('/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/0')
const goodValue = {
  data: fc.constantFrom('./.hearsay', '/tmp/data'),
  memory: fc.boolean(),
  network: fc.constantFrom('default', 'demo'),
  listen: fc.array(address, { minLength: 1, maxLength: 3 }),
  bootstrap: fc.array(address, { maxLength: 2 }),
  api: fc.constantFrom('127.0.0.1:0', '127.0.0.1:7070'),
  priority: fc.integer({ min: -5, max: 5 }),
  profile: fc.constantFrom('local', 'lan'),
  logLevel: fc.constantFrom(...LOG_LEVELS),
  psk: fc.constant('./psk'),
  writers: fc.constant('./writers'),
  sync: fc.constantFrom('always', 'interval', 'none'),
  otlp: fc.constantFrom('http://127.0.0.1:4318', 'https://collector.example:4318/'),
  tags: fc.dictionary(fc.constantFrom('zone', 'rack', 'role', '__proto__'), fc.constantFrom('eu-1', 'a', ''), { maxKeys: 3, noNullPrototype: true }),
  apiMaxStreams: fc.integer({ min: 1, max: 4096 }),
  apiRateLimit: fc.integer({ min: 0, max: 100_000 }),
  apiRateWindowMs: fc.integer({ min: 1, max: 60_000 })
}
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  anyString,
  fc.constantFrom(2 ** 31, -(2 ** 31), 2 ** 53, 1.5, -0, 0, 1, 'true', 'false', '0', '1', [], {}, null)
)
/** A config object: mostly right fields with right values, some wrong, some unknown or prototype names. */
const configObject = fc.array(fc.oneof(
  { arbitrary: fc.constantFrom(...FIELD_NAMES).chain((k) => goodValue[k].map((v) => [k, v])), weight: 6 },
  { arbitrary: fc.tuple(fc.constantFrom(...FIELD_NAMES), anyValue), weight: 2 },
  { arbitrary: fc.tuple(fc.constantFrom(...PROTO_NAMES), anyValue), weight: 1 },
  { arbitrary: fc.tuple(anyString, anyValue), weight: 1 }
), { maxLength: 8 }).map((entries) => {
  const out = {}
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
  return out
})

const JSON_TOKENS = ['{', '}', '[', ']', '"', ':', ',', 'null', 'true', '1e999', '-0', '"__proto__"', '"constructor"', '\\u0000', '\\ud800', '\n', '[[[[[[[[', '{"a":{"a":{"a":']
const YAML_TOKENS = [
  ': ', '- ', '\n  ', '\n', '&a ', '*a', '<<: *a\n', '!!binary ', '!!set\n', '!!map ', '!!omap\n', '!!timestamp ', '!!int ', '!!str ', '!!js/function ',
  '%YAML 1.1\n---\n', '%TAG ! tag:x,2000:\n---\n', '---\n', '...\n', '? ', '|\n  ', '>-\n  ', '#', '"', "'", '{', '}', '[', ']', '~', '.inf', '.nan',
  '0x1F', '0o17', '1_000', '2001-12-14', 'yes', 'on', '__proto__: ', 'constructor: ', 'priority: ', 'listen:\n  - ', '\t', '\uFEFF'
]

/** Nested aliases: each level refers to the one below ten times (a "billion laughs" if unbounded). */
const aliasBomb = fc.integer({ min: 2, max: 9 }).map((levels) => {
  const lines = ['l0: &l0 [x, x, x, x, x, x, x, x, x, x]']
  for (let i = 1; i < levels; i++) lines.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`)
  lines.push(`network: *l${levels - 1}`)
  return lines.join('\n')
})
const deepNesting = fc.oneof(fc.integer({ min: 10, max: 100 }), fc.integer({ min: 10, max: 5_000 })).map((n) => `network: ${'['.repeat(n)}${']'.repeat(n)}`)

const json = configObject.map((o) => JSON.stringify(o, null, 2))
const yaml = configObject.map((o) => {
  try {
    return toYaml(o)
  } catch {
    return ''
  }
})
const text = fc.oneof(
  { arbitrary: fc.record({ yaml: fc.constant(false), text: fc.oneof(json, mutatedText(json, JSON_TOKENS), fc.string({ maxLength: 200 })) }), weight: 4 },
  { arbitrary: fc.record({ yaml: fc.constant(true), text: fc.oneof(yaml, mutatedText(yaml, YAML_TOKENS), mutatedText(yaml, YAML_TOKENS), fc.string({ maxLength: 200 }), aliasBomb, deepNesting) }), weight: 5 }
)
const envValue = fc.oneof(anyString, fc.constantFrom('local', 'lan', 'always', 'none', 'debug', '42', '-7', '99999999999', '/ip4/127.0.0.1/tcp/1, ,/x', ',', ' '))
const env = fc.dictionary(fc.oneof(fc.constantFrom(...ENV_NAMES), anyString), envValue, { maxKeys: 5, noNullPrototype: true })

const isText = (v) => typeof v === 'string' && v.length > 0 && v.length <= 4096
const isList = (v) => Array.isArray(v) && v.length <= 64 && v.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 1024)
const FIELD_CHECKS = {
  data: isText,
  memory: (v) => typeof v === 'boolean',
  network: isText,
  listen: (v) => v === undefined || isList(v),
  bootstrap: isList,
  api: isText,
  priority: (v) => Number.isSafeInteger(v) && Math.abs(v) <= 2_147_483_647,
  profile: (v) => v === 'local' || v === 'lan',
  logLevel: (v) => LOG_LEVELS.includes(v),
  psk: (v) => v === undefined || isText(v),
  writers: (v) => v === undefined || isText(v),
  sync: (v) => v === 'always' || v === 'interval' || v === 'none',
  otlp: (v) => v === undefined || (isText(v) && /^https?:$/.test(new URL(v).protocol)),
  tags: isTags,
  apiMaxStreams: (v) => v === undefined || isWhole(v, 1),
  apiRateLimit: (v) => v === undefined || isWhole(v, 0),
  apiRateWindowMs: (v) => v === undefined || isWhole(v, 1)
}

/** A whole number from `min` to 2^31 - 1, as the API limits take. */
function isWhole (v, min) {
  return Number.isSafeInteger(v) && v >= min && v <= 2_147_483_647
}

/** A plain object of text values within membership's limits. */
function isTags (v) {
  if (v === null || typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return false
  if (!Object.values(v).every((s) => typeof s === 'string')) return false
  try {
    validateTags(v)
    return true
  } catch {
    return false
  }
}

function checkSettings (settings, where) {
  check(Object.getPrototypeOf(settings) === Object.prototype, `${where}: settings on an object with another prototype`)
  for (const key of Reflect.ownKeys(settings)) {
    check(typeof key === 'string' && Object.hasOwn(FIELD_CHECKS, key), `${where}: accepted an unknown setting ${String(key)}`)
    check(FIELD_CHECKS[key](settings[key]), `${where}: accepted ${key} = ${show(settings[key])}`)
  }
}

function accept (parse, where) {
  try {
    const settings = parse()
    checkSettings(settings, where)
    return settings
  } catch (err) {
    expectTyped(err, [ConfigError], where)
    return undefined
  }
}

export default {
  name: 'config',
  input: () => fc.record({ file: text, env }),
  run (_context, input) {
    const path = input.file.yaml ? 'hearsay.yaml' : 'hearsay.json'
    const file = accept(() => parseConfigText(input.file.text, path), `parseConfigText(${path})`)
    const fromEnv = accept(() => configFromEnv(input.env), 'configFromEnv')
    const resolved = resolveConfig({}, fromEnv ?? {}, file ?? {})
    checkSettings(resolved, 'resolveConfig')
    for (const key of Object.keys(FIELD_CHECKS)) check(Object.hasOwn(resolved, key), `resolveConfig left out ${key}`)
  }
}
