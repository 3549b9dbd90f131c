import { describe, it, expect } from 'vitest'
import { configFromEnv, resolveConfig, DEFAULTS } from '../../src/cli/config.js'

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
