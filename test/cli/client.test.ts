import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const BIN = fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url))
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
let dir = ''
let peer: ChildProcessWithoutNullStreams | undefined
let second: ChildProcessWithoutNullStreams | undefined

async function run (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: 'pipe', env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => { resolve(c) }))
  return { code, stdout, stderr }
}

/** Starts `hearsay start --json` and resolves with its `started` line. */
async function startPeer (args: string[]): Promise<{ child: ChildProcessWithoutNullStreams, started: Record<string, unknown>, lines: Array<Record<string, unknown>> }> {
  const child = spawn(process.execPath, [BIN, 'start', '--json', '--profile', 'local', ...args], { stdio: 'pipe' })
  const lines: Array<Record<string, unknown>> = []
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once('exit', (code) => { reject(new Error(`start exited with ${code}`)) })
    createInterface({ input: child.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>
      lines.push(parsed)
      if (parsed.event === 'started') resolve(parsed)
    })
  })
  return { child, started, lines }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearsay-cli-client-'))
  const a = await startPeer(['--data', join(dir, 'a'), '--priority', '5'])
  peer = a.child
  const b = await startPeer(['--data', join(dir, 'b'), '--bootstrap', (a.started.addresses as string[])[0]!])
  second = b.child
  // Both agree on a leader before the client commands run: wait for each to print one.
  const hasLeader = (lines: Array<Record<string, unknown>>): boolean => lines.some((l) => l.event === 'leader')
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (hasLeader(a.lines) && hasLeader(b.lines)) {
        clearInterval(timer)
        resolve()
      }
    }, 50)
  })
}, 60_000)

afterAll(async () => {
  for (const c of [peer, second]) {
    if (c !== undefined && c.exitCode === null) {
      c.kill('SIGINT')
      await new Promise((resolve) => c.once('exit', resolve))
    }
  }
  await rm(dir, { recursive: true, force: true })
})

describe('client commands against a running peer (real processes)', () => {
  it('put, get, ls, del with exit codes and --json', async () => {
    const data = ['--data', join(dir, 'a')]
    const put = await run(['put', 'greeting', '{"text":"hello"}', ...data, '--json'])
    expect(put.code).toBe(0)
    expect(JSON.parse(put.stdout)).toMatchObject({ key: 'greeting', dot: { seq: expect.any(Number) } })
    expect((await run(['put', 'plain', 'just words', ...data])).code).toBe(0)

    const get = await run(['get', 'greeting', ...data, '--json'])
    expect(get.code).toBe(0)
    expect(JSON.parse(get.stdout)).toMatchObject({ key: 'greeting', value: { text: 'hello' } })
    expect((await run(['get', 'plain', ...data])).stdout.trim()).toBe('just words')

    const versions = await run(['get', 'greeting', ...data, '--versions', '--json'])
    expect(JSON.parse(versions.stdout).versions).toHaveLength(1)

    const ls = await run(['ls', '', ...data, '--json'])
    expect(JSON.parse(ls.stdout).entries.map((e: { key: string }) => e.key)).toEqual(expect.arrayContaining(['greeting', 'plain']))

    const del = await run(['del', 'plain', ...data, '--json'])
    expect(JSON.parse(del.stdout)).toMatchObject({ key: 'plain', deleted: true })
    const missing = await run(['get', 'plain', ...data])
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)
    expect(missing.stderr).toMatch(/ERR_KEY_NOT_FOUND/)
  })

  it('incr, decr, set add and set rm; get says the type; the wrong type exits 1 with ERR_WRONG_TYPE', async () => {
    const data = ['--data', join(dir, 'a')]
    expect(JSON.parse((await run(['incr', 'visits', ...data, '--json'])).stdout)).toMatchObject({ key: 'visits', type: 'counter', value: 1, changed: true })
    expect(JSON.parse((await run(['incr', 'visits', '10', ...data, '--json'])).stdout)).toMatchObject({ value: 11 })
    const decr = await run(['decr', 'visits', '2.5', ...data])
    expect(decr.code).toBe(0)
    expect(decr.stdout).toMatch(/^visits = 8\.5 \(counter\); written as \S+\/\d+ \(durable\)$/m)
    expect((await run(['get', 'visits', ...data])).stdout.trim()).toBe('8.5  (counter)')
    expect(JSON.parse((await run(['get', 'visits', ...data, '--json'])).stdout)).toEqual({ key: 'visits', type: 'counter', value: 8.5 })

    expect(JSON.parse((await run(['set', 'add', 'langs', 'ts', ...data, '--json'])).stdout)).toMatchObject({ type: 'set', value: ['ts'] })
    expect(JSON.parse((await run(['set', 'add', 'langs', '{"go":1}', ...data, '--json'])).stdout).value).toEqual(['ts', { go: 1 }])
    expect(JSON.parse((await run(['set', 'rm', 'langs', 'ts', ...data, '--json'])).stdout)).toMatchObject({ value: [{ go: 1 }], changed: true })
    const nothing = await run(['set', 'rm', 'langs', 'ts', ...data])
    expect(nothing.stdout.trim()).toBe('langs = [{"go":1}] (set); nothing to change')
    expect((await run(['get', 'langs', ...data])).stdout.trim()).toBe('[{"go":1}]  (set)')

    const wrong = await run(['incr', 'langs', ...data])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1)
    expect(wrong.stderr).toMatch(/holds a set, not a counter.*ERR_WRONG_TYPE/)
    for (const bad of [['incr', 'visits', '0'], ['decr', 'visits', '-1'], ['incr', 'visits', 'lots'], ['set', 'add', 'langs'], ['set', 'put', 'langs', 'x'], ['set']]) {
      const usage = await run([...bad, ...data])
      expect(usage.code, bad.join(' ')).toBe(2)
    }
    expect(JSON.parse((await run(['get', 'visits', ...data, '--json'])).stdout).value).toBe(8.5)
  })

  it('a write on one peer is readable on the other', async () => {
    expect((await run(['put', 'shared', '42', '--data', join(dir, 'a')])).code).toBe(0)
    let value: unknown
    for (let attempt = 0; attempt < 100 && value !== 42; attempt++) {
      const got = await run(['get', 'shared', '--data', join(dir, 'b'), '--json'])
      if (got.code === 0) value = JSON.parse(got.stdout).value
    }
    expect(value).toBe(42)
  })

  it('members, leader, status and jobs answer in JSON and as tables', async () => {
    const data = ['--data', join(dir, 'b')]
    const members = JSON.parse((await run(['members', ...data, '--json'])).stdout) as Array<{ state: string, version: string, protocols: string[] }>
    expect(members).toHaveLength(2)
    expect(members.every((m) => m.state === 'alive')).toBe(true)
    // Each member announces its version and protocols; the other one's came over the wire.
    expect(members.map((m) => m.version)).toEqual([PACKAGE.version, PACKAGE.version])
    for (const m of members) expect(m.protocols).toEqual(expect.arrayContaining(['membership/2.0.0', 'election/2.0.0', 'kv/2.0.0']))
    const leader = JSON.parse((await run(['leader', ...data, '--json'])).stdout) as { peerId: string, term: number }
    expect(leader.term).toBeGreaterThan(0)
    const status = JSON.parse((await run(['status', ...data, '--json'])).stdout) as { peerId: string, network: string, version: string }
    expect(status.network).toBe('default')
    expect(status.version).toBe(PACKAGE.version)
    const jobs = await run(['jobs', ...data, '--json'])
    expect(jobs.code).toBe(0)
    expect(JSON.parse(jobs.stdout)).toHaveProperty('jobs')
    const table = await run(['members', ...data])
    expect(table.stdout).toMatch(/PEER ID\s+STATE\s+INC\s+PRIORITY\s+VERSION/)
    expect(table.stdout).toContain(PACKAGE.version)
  })

  it('without a peer to talk to, a one-line error and exit 1; a bad token is refused', async () => {
    const nowhere = await run(['get', 'k', '--data', join(dir, 'nothing-here')])
    expect(nowhere.code).toBe(1)
    expect(nowhere.stderr).toMatch(/no peer API found/)
    const badToken = await run(['get', 'greeting', '--data', join(dir, 'a')], { HEARSAY_TOKEN: 'wrong' })
    expect(badToken.code).toBe(1)
    expect(badToken.stderr).toMatch(/ERR_UNAUTHORIZED/)
  })

  it('put --if VERSION and --if-absent write only when the key is as given (exit 1 and nothing written otherwise); ls pages with --limit/--after, and --keys lists names', async () => {
    const data = ['--data', join(dir, 'a')]
    expect((await run(['put', 'cond', '1', ...data, '--if-absent'])).code).toBe(0)
    const refused = await run(['put', 'cond', '2', ...data, '--if-absent'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('ERR_VERSION_MISMATCH')
    const version = (JSON.parse((await run(['get', 'cond', ...data, '--json'])).stdout) as { version: string }).version
    expect((await run(['put', 'cond', '3', ...data, '--if', version])).code).toBe(0)
    expect((await run(['put', 'cond', '4', ...data, '--if', version])).code).toBe(1)
    expect((await run(['get', 'cond', ...data])).stdout.trim()).toBe('3')

    for (const k of ['pg/a', 'pg/b', 'pg/c']) expect((await run(['put', k, '0', ...data])).code).toBe(0)
    const first = await run(['ls', 'pg/', '--limit', '2', '--keys', ...data])
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('pg/a\npg/b')
    expect(first.stdout).toContain('--after "pg/b"')
    const rest = JSON.parse((await run(['ls', 'pg/', '--after', 'pg/b', '--json', ...data])).stdout) as { entries: Array<{ key: string }> }
    expect(rest.entries.map((e) => e.key)).toEqual(['pg/c'])
  })

  it('a client command loads only what it needs: no YAML parser, no fastify or libp2p, no undici', async () => {
    // What a command loads is what its start-up costs (bench/cli.js measures it): this keeps the
    // heavy modules out of a client command's path.
    const hook = 'data:text/javascript,' + encodeURIComponent([
      "import { registerHooks } from 'node:module'",
      'const urls = []',
      'registerHooks({ resolve (s, c, next) { const r = next(s, c); urls.push(r.url); return r } })',
      "process.on('exit', () => { process.stderr.write(JSON.stringify({ urls, builtins: process.moduleLoadList }) + '\\n') })"
    ].join('\n'))
    const child = spawn(process.execPath, ['--import', hook, BIN, 'get', 'greeting', '--data', join(dir, 'a')], { stdio: 'pipe' })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.stdout.resume()
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0)
    const loaded = JSON.parse(stderr.trim().split('\n').at(-1)!) as { urls: string[], builtins: string[] }
    const packages = new Set(loaded.urls.flatMap((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1] ?? []))
    expect([...packages]).toEqual(['commander'])
    expect(loaded.urls.some((u) => u.includes('/dist/src/cli/client.js'))).toBe(true)
    expect(loaded.builtins.filter((m) => /undici|http2|zlib/.test(m))).toEqual([])
  })

  it('the token file is owner-only', async () => {
    expect((await stat(join(dir, 'a', 'api.token'))).mode & 0o777).toBe(0o600)
  })
})

describe('version', () => {
  it('--version and -V print the package version; "version" says more, and --json', async () => {
    for (const flag of ['--version', '-V']) {
      const out = await run([flag])
      expect(out.code).toBe(0)
      expect(out.stdout.trim()).toBe(PACKAGE.version)
    }
    const human = await run(['version'])
    expect(human.code).toBe(0)
    expect(human.stdout.trim()).toBe(`hearsay ${PACKAGE.version} (node ${process.versions.node}, HTTP API 1.0.0)`)
    const json = await run(['version', '--json'])
    expect(JSON.parse(json.stdout)).toEqual({ version: PACKAGE.version, node: process.versions.node, api: '1.0.0' })
    expect((await run(['version', '--bogus'])).code).toBe(2)
  })
})

describe('configuration and keys', () => {
  it('a bad config file names the wrong field; usage errors exit 2', async () => {
    const file = join(dir, 'bad.json')
    await writeFile(file, JSON.stringify({ network: 'x', priority: 'high' }))
    const bad = await run(['start', '--memory', '--config', file])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/priority must be a whole number.*ERR_CONFIG/)
    const yaml = join(dir, 'bad.yaml')
    await writeFile(yaml, 'colour: blue\n')
    expect((await run(['start', '--memory', '--config', yaml])).stderr).toMatch(/colour is not a setting/)
    expect((await run(['put', 'only-a-key'])).code).toBe(2)
    expect((await run(['frobnicate'])).code).toBe(2)
  })

  it('key gen-psk writes a 0600 key and refuses to overwrite it', async () => {
    const file = join(dir, 'net.psk')
    const first = await run(['key', 'gen-psk', file])
    expect(first.code).toBe(0)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const again = await run(['key', 'gen-psk', file])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/ERR_FILE_EXISTS/)
  })
})
