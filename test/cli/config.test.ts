import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { configFromEnv, resolveConfig, DEFAULTS, loadConfigFile, parseConfigText } from '../../src/cli/config.js'
import { ConfigError } from '../../src/cli/errors.js'

describe('configuration precedence', () => {
  it('flags, then environment, then the file, then defaults', () => {
    const file = { network: 'from-file', priority: 1, data: '/file' }
    const env = configFromEnv({ HEARSAY_NETWORK: 'from-env', HEARSAY_PRIORITY: '2' })
    const flags = { network: 'from-flag' }
    const resolved = resolveConfig(flags, env, file)
    expect(resolved.network).toBe('from-flag')
    expect(resolved.priority).toBe(2)
    expect(resolved.data).toBe('/file')
    expect(resolved.sync).toBe(DEFAULTS.sync)
  })

  it('environment values are validated and lists are comma-separated', () => {
    expect(configFromEnv({ HEARSAY_BOOTSTRAP: '/ip4/127.0.0.1/tcp/1, /ip4/127.0.0.1/tcp/2' }).bootstrap).toEqual(['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2'])
    expect(() => configFromEnv({ HEARSAY_SYNC: 'sometimes' })).toThrow(/environment: sync must be one of always, interval, none/)
    expect(() => configFromEnv({ HEARSAY_PRIORITY: 'x' })).toThrow(/priority must be a whole number/)
  })
})

describe('the API\'s limits in the config', () => {
  it('apiMaxStreams, apiRateLimit and apiRateWindowMs come from the file or the environment, as whole numbers in range', () => {
    expect(parseConfigText('{"apiMaxStreams": 64, "apiRateLimit": 500, "apiRateWindowMs": 1000}', 'c.json')).toEqual({ apiMaxStreams: 64, apiRateLimit: 500, apiRateWindowMs: 1000 })
    expect(parseConfigText('apiRateLimit: 0\n', 'c.yaml')).toEqual({ apiRateLimit: 0 })
    expect(configFromEnv({ HEARSAY_API_MAX_STREAMS: '32', HEARSAY_API_RATE_LIMIT: '0', HEARSAY_API_RATE_WINDOW_MS: '5000' })).toEqual({ apiMaxStreams: 32, apiRateLimit: 0, apiRateWindowMs: 5000 })
    expect(() => parseConfigText('{"apiMaxStreams": 0}', 'c.json')).toThrow(/apiMaxStreams must be a whole number from 1/)
    expect(() => parseConfigText('{"apiRateLimit": -1}', 'c.json')).toThrow(/apiRateLimit must be a whole number from 0/)
    expect(() => configFromEnv({ HEARSAY_API_RATE_WINDOW_MS: 'soon' })).toThrow(/apiRateWindowMs must be a whole number from 1/)
    expect(resolveConfig({}, {}, {})).toMatchObject({ apiMaxStreams: undefined, apiRateLimit: undefined, apiRateWindowMs: undefined })
  })
})

// Found by fuzzing (fuzz/targets/config.js).
describe('config files from the user', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'hearsay-config-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  async function load (name: string, text: string): Promise<unknown> {
    const path = join(dir, name)
    await writeFile(path, text)
    return await loadConfigFile(path)
  }

  it('prototype names are not settings: refused with ERR_CONFIG, in JSON and YAML', async () => {
    for (const [name, text] of [
      ['a.json', '{"__proto__": {"network": "x"}}'],
      ['b.json', '{"toString": 1}'],
      ['c.yaml', 'constructor: x\n'],
      ['d.yaml', '__proto__:\n  network: x\n']
    ] as const) {
      await expect(load(name, text)).rejects.toSatisfy((err: unknown) =>
        err instanceof ConfigError && err.code === 'ERR_CONFIG' && /is not a setting/.test(err.message))
    }
    expect(await load('ok.yaml', 'network: demo\npriority: 3\n')).toEqual({ network: 'demo', priority: 3 })
  })

  it('what YAML only warns about is an error here, and nothing is printed', async () => {
    const warnings: Error[] = []
    const onWarning = (w: Error): void => { warnings.push(w) }
    process.on('warning', onWarning)
    try {
      await expect(load('tag.yaml', 'network: !!nosuchtag demo\n')).rejects.toThrow(/is not valid YAML: .*tag/i)
      await expect(load('directive.yaml', '%FOO bar\n---\nnetwork: demo\n')).rejects.toThrow(/is not valid YAML/)
      // Process warnings are emitted on the next tick.
      await new Promise((resolve) => { setImmediate(resolve) })
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings).toEqual([])
  })

  it('deeply nested YAML is refused before it is parsed', () => {
    const started = performance.now()
    expect(() => parseConfigText(`network: ${'['.repeat(20_000)}${']'.repeat(20_000)}`, 'deep.yaml')).toThrow(/more than 64 nested/)
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(() => parseConfigText(`network: ${'['.repeat(60)}${']'.repeat(60)}`, 'ok.yaml')).toThrow(/network must be a non-empty string/)
  })
})
