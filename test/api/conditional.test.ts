import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auth, body, json, startPeerWithApi, type Fixture } from './helpers.js'

let f: Fixture
beforeAll(async () => { f = await startPeerWithApi() })
afterAll(async () => { await f.close() })

interface Mismatch { error: { code: string, message: string, current: string | null } }

const put = async (key: string, value: unknown, headers: Record<string, string> = {}) =>
  f.app.inject({ method: 'PUT', url: `/v1/kv/${encodeURIComponent(key)}`, headers: { ...json, ...headers }, payload: JSON.stringify(value) })

describe('conditional writes through the API', () => {
  it('If-None-Match: * writes only an absent key; 412 with the current version otherwise, and nothing changes', async () => {
    const first = await put('cas/absent', 1, { 'if-none-match': '*' })
    expect(first.statusCode).toBe(200)
    const version = f.peer.kv.version('cas/absent')
    const again = await put('cas/absent', 2, { 'if-none-match': '*' })
    expect(again.statusCode).toBe(412)
    expect(body<Mismatch>(again).error).toMatchObject({ code: 'ERR_VERSION_MISMATCH', current: version })
    expect(f.peer.kv.get('cas/absent')).toBe(1)
  })

  it('If-Match: the version get reports (its ETag, quoted or not) writes; a stale one is 412 and changes nothing', async () => {
    await put('cas/m', 'a')
    const get = await f.app.inject({ method: 'GET', url: '/v1/kv/cas%2Fm', headers: auth })
    const etag = get.headers.etag as string
    expect(etag).toBe(`"${body<{ version: string }>(get).version}"`)
    const ok = await put('cas/m', 'b', { 'if-match': etag })
    expect(ok.statusCode).toBe(200)
    const stale = await put('cas/m', 'c', { 'if-match': etag })
    expect(stale.statusCode).toBe(412)
    expect(body<Mismatch>(stale).error.current).toBe(f.peer.kv.version('cas/m'))
    const unquoted = await put('cas/m', 'd', { 'if-match': f.peer.kv.version('cas/m')! })
    expect(unquoted.statusCode).toBe(200)
    expect(f.peer.kv.get('cas/m')).toBe('d')
    // On a key with no value there is no version to match.
    const missing = await put('cas/none', 1, { 'if-match': etag })
    expect(missing.statusCode).toBe(412)
    expect(body<Mismatch>(missing).error.current).toBeNull()
    expect(f.peer.kv.get('cas/none')).toBeUndefined()
  })

  it('a malformed version is 400 ERR_INVALID_VERSION and changes nothing', async () => {
    const before = f.peer.kv.digest()
    for (const bad of ['nope', '/3', 'x/0', 'x/1.5', 'x/-1', 'x/']) {
      const response = await put('cas/bad', 1, { 'if-match': bad })
      expect(response.statusCode, bad).toBe(400)
      expect(body<Mismatch>(response).error.code).toBe('ERR_INVALID_VERSION')
    }
    expect(f.peer.kv.digest()).toBe(before)
  })

  it('the library: ifVersion / ifAbsent throw ERR_VERSION_MISMATCH with the current version', async () => {
    const receipt = await f.peer.kv.put('cas/lib', 1, { ifAbsent: true })
    await expect(f.peer.kv.put('cas/lib', 2, { ifAbsent: true })).rejects.toMatchObject({ code: 'ERR_VERSION_MISMATCH', current: `${f.peer.peerId}/${receipt.dot.seq}` })
    await f.peer.kv.put('cas/lib', 3, { ifVersion: receipt.dot })
    await expect(f.peer.kv.put('cas/lib', 4, { ifVersion: receipt.dot })).rejects.toMatchObject({ code: 'ERR_VERSION_MISMATCH' })
    expect(f.peer.kv.get('cas/lib')).toBe(3)
  })
})

describe('listings in pages', () => {
  it('?limit&after pages in key order with a `next`; ?keys=true lists names only', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `page/${String(i).padStart(2, '0')}`)
    for (const key of [...keys].reverse()) await f.peer.kv.put(key, key)
    await f.peer.kv.delete('page/07')
    const expected = keys.filter((k) => k !== 'page/07')
    const seen: string[] = []
    let after: string | undefined
    for (let pages = 0; pages < 10; pages++) {
      const url = `/v1/kv?prefix=page%2F&limit=10${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`
      const page = body<{ entries: Array<{ key: string, value: string }>, next?: string }>(await f.app.inject({ method: 'GET', url, headers: auth }))
      seen.push(...page.entries.map((e) => e.key))
      for (const entry of page.entries) expect(entry.value).toBe(entry.key)
      if (page.next === undefined) break
      expect(page.next).toBe(page.entries.at(-1)!.key)
      after = page.next
    }
    expect(seen).toEqual(expected)
    const names = body<{ keys: string[] }>(await f.app.inject({ method: 'GET', url: '/v1/kv?prefix=page%2F&keys=true&after=page%2F20', headers: auth }))
    expect(names).toEqual({ keys: ['page/21', 'page/22', 'page/23', 'page/24'] })
  })
})
