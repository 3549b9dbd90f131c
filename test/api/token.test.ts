import { describe, it, expect, afterEach } from 'vitest'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPeer } from '../../src/index.js'
import { API_TOKEN_FILE, buildApi, createToken, loadOrCreateToken, startApi } from '../../src/api/index.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-api-'))
  dirs.push(dir)
  return dir
}

describe('API tokens', () => {
  it('createToken is 32 random bytes in hex, different every time', () => {
    const a = createToken()
    const b = createToken()
    expect(a).toMatch(/^[0-9a-f]{64}$/)
    expect(b).not.toBe(a)
  })

  it('loadOrCreateToken writes the token with mode 0600 on first use and reuses it after', async () => {
    const dir = await tempDir()
    const token = await loadOrCreateToken(dir)
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    const path = join(dir, API_TOKEN_FILE)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await readFile(path, 'utf8')).trim()).toBe(token)
    expect(await loadOrCreateToken(dir)).toBe(token)
    expect(await loadOrCreateToken(dir)).toBe(token)
  })

  it('concurrent first calls agree on one token', async () => {
    const dir = await tempDir()
    const tokens = await Promise.all([loadOrCreateToken(dir), loadOrCreateToken(dir), loadOrCreateToken(dir)])
    expect(new Set(tokens).size).toBe(1)
    expect((await readFile(join(dir, API_TOKEN_FILE), 'utf8')).trim()).toBe(tokens[0])
  })

  it('a token file others can read is narrowed to 0600 and kept', async () => {
    const dir = await tempDir()
    const path = join(dir, API_TOKEN_FILE)
    const mine = 'my-own-token-of-enough-length'
    await writeFile(path, `${mine}\n`)
    await chmod(path, 0o644)
    expect(await loadOrCreateToken(dir)).toBe(mine)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  it('a token file without a usable token is an error, not silently replaced', async () => {
    const dir = await tempDir()
    const path = join(dir, API_TOKEN_FILE)
    await writeFile(path, 'short\n', { mode: 0o600 })
    await expect(loadOrCreateToken(dir)).rejects.toMatchObject({ code: 'ERR_TOKEN_FILE' })
    expect(await readFile(path, 'utf8')).toBe('short\n')
  })

  it('buildApi refuses a weak token', async () => {
    const peer = await createPeer({ profile: 'local' })
    expect(() => buildApi(peer, { token: 'abc', logger: false })).toThrow(/token/)
    expect(() => buildApi(peer, { token: 'has spaces in the middle of it', logger: false })).toThrow(/token/)
  })

  it('a durable peer: the token from its data dir opens the API; fsync metrics come from its log', async () => {
    const dir = await tempDir()
    const peer = await createPeer({ profile: 'local', dataDir: dir })
    await peer.start()
    const token = await loadOrCreateToken(dir)
    const api = await startApi(peer, { token, logger: false })
    try {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
      const put = await fetch(`${api.url}/v1/kv/durable`, { method: 'PUT', headers, body: '"on disk"' })
      expect(put.status).toBe(200)
      expect(peer.diagnostics.stats().kv.log?.fsyncs).toBeGreaterThanOrEqual(1)
      const metrics = await (await fetch(`${api.url}/metrics`, { headers })).text()
      const fsyncs = /^hearsay_storage_fsyncs_total (\d+)$/m.exec(metrics)?.[1]
      expect(Number(fsyncs)).toBe(peer.diagnostics.stats().kv.log?.fsyncs)
      expect(metrics).toMatch(/^hearsay_storage_fsync_seconds \d/m)
      // The log's size and entries, and the records held, as the peer counts them.
      const log = peer.diagnostics.stats().kv.log
      expect(Number(/^hearsay_storage_log_bytes (\d+)$/m.exec(metrics)?.[1])).toBe(log?.bytes)
      expect(log?.bytes).toBeGreaterThan(0)
      expect(Number(/^hearsay_storage_log_entries (\d+)$/m.exec(metrics)?.[1])).toBe(log?.records)
      expect(Number(/^hearsay_records (\d+)$/m.exec(metrics)?.[1])).toBe(peer.kv.recordCount())
      expect(metrics).toMatch(/^hearsay_storage_compactions_total \d+$/m)
      const wrong = await fetch(`${api.url}/v1/kv/durable`, { headers: { authorization: `Bearer ${createToken()}` } })
      expect(wrong.status).toBe(401)
    } finally {
      await api.close()
      await peer.stop()
    }
    // The token survives a restart of the peer.
    expect(await loadOrCreateToken(dir)).toBe(token)
  })
})
