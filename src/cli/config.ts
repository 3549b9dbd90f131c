import { readFile, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { errorMessage } from '../errors.js'
import { ConfigError } from './errors.js'
import { LOG_LEVELS, type LogLevel } from './output.js'
import { DEFAULT_PROFILE, PROFILES, type Profile } from '../profile.js'
import { validateTags } from '../membership/tags.js'

/** Everything `hearsay start` can be configured with, after precedence is applied. */
export interface StartConfig {
  data: string
  memory: boolean
  network: string
  listen: string[] | undefined
  bootstrap: string[]
  /** HOST:PORT the HTTP API listens on. */
  api: string
  priority: number
  profile: Profile
  logLevel: LogLevel
  psk: string | undefined
  writers: string | undefined
  sync: 'always' | 'interval' | 'none'
  /** Base URL of an OpenTelemetry collector (OTLP/HTTP) to export write traces to; none by default. */
  otlp: string | undefined
  /** Labels this peer announces to the others (`--tag K=V`). */
  tags: Record<string, string>
  /** Most event streams the API serves at once (watch, dashboard, events, monitor together); undefined: the API's default (256). */
  apiMaxStreams: number | undefined
  /** Requests one API client (one address) may make per `apiRateWindowMs`; 0 turns the limit off; undefined: the API's default (20,000). */
  apiRateLimit: number | undefined
  /** The rate limit's window (ms); undefined: the API's default (10,000). */
  apiRateWindowMs: number | undefined
}

export const DEFAULTS: StartConfig = {
  data: './.hearsay',
  memory: false,
  network: 'default',
  listen: undefined,
  bootstrap: [],
  api: '127.0.0.1:0',
  priority: 0,
  profile: DEFAULT_PROFILE,
  logLevel: 'info',
  psk: undefined,
  writers: undefined,
  sync: 'always',
  otlp: undefined,
  tags: {},
  apiMaxStreams: undefined,
  apiRateLimit: undefined,
  apiRateWindowMs: undefined
}

/** Largest config file read. @default 1 MiB (bytes) */
const MAX_CONFIG_BYTES = 1_048_576

/** Most `[` / `{` open at once in a YAML config file (brackets inside quotes count too). */
const MAX_YAML_FLOW_DEPTH = 64

type Partial<T> = { [K in keyof T]?: T[K] }

const FIELDS: Record<keyof StartConfig, (value: unknown, source: string, field: string) => unknown> = {
  data: str,
  memory: bool,
  network: str,
  listen: strList,
  bootstrap: strList,
  api: str,
  priority: int,
  profile: (v, s, f) => oneOf(v, s, f, PROFILES),
  logLevel: (v, s, f) => oneOf(v, s, f, LOG_LEVELS),
  psk: str,
  writers: str,
  sync: (v, s, f) => oneOf(v, s, f, ['always', 'interval', 'none']),
  otlp: httpUrl,
  tags: tagMap,
  apiMaxStreams: (v, s, f) => intFrom(v, s, f, 1),
  apiRateLimit: (v, s, f) => intFrom(v, s, f, 0),
  apiRateWindowMs: (v, s, f) => intFrom(v, s, f, 1)
}

/** Reads a JSON or YAML config file; a wrong field is named in the error. */
export async function loadConfigFile (path: string): Promise<Partial<StartConfig>> {
  let text: string
  try {
    const info = await stat(path)
    if (info.size > MAX_CONFIG_BYTES) throw new ConfigError(path, 'the file', `is ${info.size} bytes; the limit is ${MAX_CONFIG_BYTES}`)
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(path, 'the file', `cannot be read: ${(err as Error).message}`)
  }
  return parseConfigText(text, path)
}

/**
 * The settings in a config file's text: YAML when `path` ends in .yaml or .yml, JSON
 * otherwise. Throws ConfigError naming the file and the field for anything else.
 */
export function parseConfigText (text: string, path: string): Partial<StartConfig> {
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigError(path, 'the file', `holds ${text.length} characters; the limit is ${MAX_CONFIG_BYTES} bytes`)
  const yaml = /\.ya?ml$/i.test(path)
  let parsed: unknown
  try {
    parsed = yaml ? parseYaml(text, path) : JSON.parse(text)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(path, 'the file', `is not valid ${yaml ? 'YAML' : 'JSON'}: ${errorMessage(err).split('\n')[0] ?? ''}`)
  }
  if (parsed === null || parsed === undefined) return {}
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(path, 'the file', 'must hold an object of settings')
  return validate(parsed as Record<string, unknown>, path)
}

/**
 * YAML's warnings (an unresolved tag, an unknown directive, an ambiguous anchor) are errors
 * here: a setting the file does not say clearly is refused, not guessed, and the yaml library
 * does not print them to stderr as process warnings.
 */
function parseYaml (text: string, path: string): unknown {
  const invalid = (detail: string): ConfigError => new ConfigError(path, 'the file', `is not valid YAML: ${detail.split('\n')[0] ?? ''}`)
  // The yaml parser recurses once per level and only stops at the stack's end, after up to a
  // second's work: a settings file has two levels, so more than this many open brackets is refused first.
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_YAML_FLOW_DEPTH) throw invalid(`more than ${MAX_YAML_FLOW_DEPTH} nested [ or {`)
    } else if (c === 0x5d || c === 0x7d) {
      depth = Math.max(0, depth - 1)
    }
  }
  const doc = yamlLibrary().parseDocument(text, { logLevel: 'silent' })
  const problem = doc.errors[0] ?? doc.warnings[0]
  if (problem !== undefined) throw invalid(problem.message)
  return doc.toJS({ maxAliasCount: 100 })
}

/**
 * The yaml package, loaded on first use: it is some seventy modules, and a peer without a YAML
 * settings file (most of them) never needs it. Required, not imported, so parsing stays synchronous.
 */
function yamlLibrary (): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml') as typeof import('yaml')
}

function validate (raw: Record<string, unknown>, source: string): Partial<StartConfig> {
  const { config, problems } = validateAll(raw, source)
  const first = problems[0]
  if (first !== undefined) throw first
  return config
}

/** Every field checked, every problem kept (for `hearsay validate`), rather than the first thrown. */
function validateAll (raw: Record<string, unknown>, source: string): { config: Partial<StartConfig>, problems: ConfigError[] } {
  const out: Record<string, unknown> = {}
  const problems: ConfigError[] = []
  for (const [field, value] of Object.entries(raw)) {
    // Own keys only: "__proto__" or "toString" would otherwise find Object.prototype's.
    const check = Object.hasOwn(FIELDS, field) ? FIELDS[field as keyof StartConfig] : undefined
    try {
      if (check === undefined) throw new ConfigError(source, field, `is not a setting (known: ${Object.keys(FIELDS).join(', ')})`)
      out[field] = check(value, source, field)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      problems.push(err)
    }
  }
  return { config: out as Partial<StartConfig>, problems }
}

/**
 * Every problem in a config file, one message each (`hearsay validate`): the file itself (it
 * cannot be read, it is not JSON or YAML), or each field that is wrong.
 */
export async function configProblems (path: string): Promise<{ config: Partial<StartConfig>, problems: string[] }> {
  let text: string
  try {
    const info = await stat(path)
    if (info.size > MAX_CONFIG_BYTES) return { config: {}, problems: [`${path}: the file is ${info.size} bytes; the limit is ${MAX_CONFIG_BYTES}`] }
    text = await readFile(path, 'utf8')
  } catch (err) {
    return { config: {}, problems: [`${path}: the file cannot be read: ${(err as Error).message}`] }
  }
  const yaml = /\.ya?ml$/i.test(path)
  let parsed: unknown
  try {
    parsed = yaml ? parseYaml(text, path) : JSON.parse(text)
  } catch (err) {
    return { config: {}, problems: [err instanceof ConfigError ? err.message : `${path}: the file is not valid JSON: ${errorMessage(err).split('\n')[0] ?? ''}`] }
  }
  if (parsed === null || parsed === undefined) return { config: {}, problems: [] }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) return { config: {}, problems: [`${path}: the file must hold an object of settings`] }
  const { config, problems } = validateAll(parsed as Record<string, unknown>, path)
  return { config, problems: problems.map((p) => p.message) }
}

/** `HEARSAY_DATA`, `HEARSAY_NETWORK`, `HEARSAY_BOOTSTRAP` (comma-separated), ... */
export function configFromEnv (env: NodeJS.ProcessEnv): Partial<StartConfig> {
  const names: Record<string, keyof StartConfig> = {
    HEARSAY_DATA: 'data',
    HEARSAY_NETWORK: 'network',
    HEARSAY_LISTEN: 'listen',
    HEARSAY_BOOTSTRAP: 'bootstrap',
    HEARSAY_API_LISTEN: 'api',
    HEARSAY_PRIORITY: 'priority',
    HEARSAY_PROFILE: 'profile',
    HEARSAY_LOG_LEVEL: 'logLevel',
    HEARSAY_PSK: 'psk',
    HEARSAY_WRITERS: 'writers',
    HEARSAY_SYNC: 'sync',
    HEARSAY_OTLP: 'otlp',
    HEARSAY_API_MAX_STREAMS: 'apiMaxStreams',
    HEARSAY_API_RATE_LIMIT: 'apiRateLimit',
    HEARSAY_API_RATE_WINDOW_MS: 'apiRateWindowMs'
  }
  const raw: Record<string, unknown> = {}
  for (const [name, field] of Object.entries(names)) {
    const value = env[name]
    if (value === undefined || value === '') continue
    if (field === 'listen' || field === 'bootstrap') raw[field] = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
    else if (field === 'priority' || (field.startsWith('api') && field !== 'api')) raw[field] = /^-?\d+$/.test(value) ? Number(value) : value
    else raw[field] = value
  }
  return validate(raw, 'environment')
}

/** Flags, then environment, then the config file, then defaults (tags merge, a name from a higher layer winning). */
export function resolveConfig (flags: Partial<StartConfig>, env: Partial<StartConfig>, file: Partial<StartConfig>): StartConfig {
  const merged: Record<string, unknown> = { ...DEFAULTS }
  for (const layer of [file, env, flags]) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k] = v
  }
  // Tags add up: a --tag changes or adds one name and keeps the file's others.
  merged.tags = Object.assign({}, DEFAULTS.tags, file.tags, env.tags, flags.tags)
  return merged as unknown as StartConfig
}

function str (value: unknown, source: string, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) throw new ConfigError(source, field, 'must be a non-empty string')
  return value
}

function httpUrl (value: unknown, source: string, field: string): string {
  const text = str(value, source, field)
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {}
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new ConfigError(source, field, 'must be an http(s) URL, for example http://127.0.0.1:4318')
  return text
}

function bool (value: unknown, source: string, field: string): boolean {
  if (typeof value === 'boolean') return value
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw new ConfigError(source, field, 'must be true or false')
}

function int (value: unknown, source: string, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || Math.abs(value) > 2_147_483_647) throw new ConfigError(source, field, 'must be a whole number')
  return value
}

/** A whole number from `min` up (a count or a duration of a limit). */
function intFrom (value: unknown, source: string, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > 2_147_483_647) {
    throw new ConfigError(source, field, `must be a whole number from ${min}`)
  }
  return value
}

function strList (value: unknown, source: string, field: string): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length > 64 || !list.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 1024)) {
    throw new ConfigError(source, field, 'must be a list of multiaddr strings')
  }
  return list as string[]
}

/** Tags: an object of short text values (`{ "zone": "eu-1" }`); the limits are membership's. */
function tagMap (value: unknown, source: string, field: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(source, field, 'must be an object of tag names and text values')
  const tags: Record<string, string> = {}
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new ConfigError(source, `${field}.${key}`, 'must be text')
    Object.defineProperty(tags, key, { value: v, enumerable: true, writable: true, configurable: true })
  }
  try {
    validateTags(tags)
  } catch (err) {
    throw new ConfigError(source, field, errorMessage(err))
  }
  return tags
}

function oneOf<T extends string> (value: unknown, source: string, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw new ConfigError(source, field, `must be one of ${allowed.join(', ')}`)
  return value as T
}
