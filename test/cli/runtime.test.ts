import { describe, it, expect, afterAll } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, startPeer, type StartedPeer } from './processes.js'

const dirs: string[] = []
const peers: StartedPeer[] = []
afterAll(async () => {
  for (const p of peers) await p.stop()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

async function scratch (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-cli-runtime-'))
  dirs.push(dir)
  return dir
}

const OTHER = '12D3KooWRco1nneqv127gRVUd1nHMQL7D7h47VMVHKtzJR5gNVNK'

describe('hearsay validate --config FILE', () => {
  it('ok and exit 0 for a good file; one line per problem and exit 1 otherwise', async () => {
    const dir = await scratch()
    const good = join(dir, 'good.yaml')
    await writeFile(good, 'network: demo\nlogLevel: warn\ntags:\n  zone: eu-1\n')
    const ok = await run(['validate', '--config', good])
    expect(ok.code).toBe(0)
    expect(ok.stdout.trim()).toBe(`${good}: ok`)
    const bad = join(dir, 'bad.json')
    await writeFile(bad, JSON.stringify({ priority: 'high', colour: 'blue', logLevel: 'loud', tags: { zone: 7 }, writers: join(dir, 'missing'), api: 'nowhere' }))
    const out = await run(['validate', '--config', bad])
    expect(out.code).toBe(1)
    const lines = out.stdout.trim().split('\n')
    expect(lines).toHaveLength(6)
    for (const field of ['priority must be', 'colour is not a setting', 'logLevel must be one of', 'tags.zone must be text', 'cannot be read', 'is not HOST:PORT']) {
      expect(lines.some((l) => l.includes(field)), field).toBe(true)
    }
    expect(out.stderr).toMatch(/6 problems in the config file \(ERR_CONFIG\)/)
    const json = JSON.parse((await run(['validate', '--config', bad, '--json'])).stdout) as { ok: boolean, problems: string[] }
    expect(json.ok).toBe(false)
    expect(json.problems).toHaveLength(6)
    expect((await run(['validate', '--config', join(dir, 'absent.yaml')])).stdout).toMatch(/cannot be read/)
    expect((await run(['validate'])).code).toBe(2)
  })
})

describe('reload: SIGHUP and hearsay reload re-read --config', () => {
  it('log level, tags and writers change without a restart; a bad file is refused with the field named and the old settings kept', async () => {
    const dir = await scratch()
    const config = join(dir, 'peer.yaml')
    const data = ['--data', join(dir, 'p')]
    await writeFile(config, 'logLevel: warn\ntags:\n  zone: a\n  rack: "1"\n')
    const peer = await startPeer([...data, '--config', config, '--tag', 'role=cache'])
    peers.push(peer)
    const self = async (): Promise<{ tags: Record<string, string> }> =>
      (JSON.parse((await run(['members', ...data, '--json'])).stdout) as Array<{ self: boolean, tags: Record<string, string> }>).find((m) => m.self)!
    // Flags win over the file: the tag from --tag joins the file's.
    expect((await self()).tags).toEqual({ zone: 'a', rack: '1', role: 'cache' })
    expect((await run(['put', 'k', '1', ...data])).code).toBe(0)

    // hearsay reload: new tags, a writers list without this peer, debug logs.
    const writers = join(dir, 'writers.txt')
    await writeFile(writers, `# only the other one\n${OTHER}\n`)
    await writeFile(config, `logLevel: debug\nwriters: ${writers}\ntags:\n  zone: b\nnetwork: elsewhere\n`)
    const reloaded = await run(['reload', ...data, '--json'])
    expect(reloaded.code).toBe(0)
    const report = JSON.parse(reloaded.stdout) as { applied: { logLevel: string, tags: Record<string, string>, writers: string[] | null }, restartNeeded: string[] }
    expect(report.applied).toEqual({ logLevel: 'debug', tags: { zone: 'b', role: 'cache' }, writers: [OTHER] })
    expect(report.restartNeeded).toEqual(['network'])
    expect((await self()).tags).toEqual({ zone: 'b', role: 'cache' })
    // This peer is no longer a writer: its new writes are refused.
    const refused = await run(['put', 'k', '2', ...data])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('ERR_NOT_A_WRITER')
    // At debug, the peer now prints debug lines of its own.
    await expect.poll(() => peer.lines.some((l) => l.level === 20), { timeout: 10_000 }).toBe(true)

    // A bad file: refused, the field named, nothing changes.
    await writeFile(config, 'logLevel: loud\ntags:\n  zone: c\n')
    const bad = await run(['reload', ...data])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/logLevel must be one of.*ERR_CONFIG/)
    expect((await self()).tags).toEqual({ zone: 'b', role: 'cache' })
    expect((await run(['put', 'k', '3', ...data])).code).toBe(1)

    // SIGHUP does the same: writers back to anyone, new tags.
    await writeFile(config, 'logLevel: warn\ntags:\n  zone: d\n')
    peer.child.kill('SIGHUP')
    await expect.poll(async () => (await self()).tags, { timeout: 10_000 }).toEqual({ zone: 'd', role: 'cache' })
    expect((await run(['put', 'k', '4', ...data])).code).toBe(0)
    expect(peer.child.exitCode).toBeNull()
  })

  it('a peer started without --config has nothing to reload: exit 1, ERR_NO_CONFIG', async () => {
    const dir = await scratch()
    const peer = await startPeer(['--data', join(dir, 'q')])
    peers.push(peer)
    const out = await run(['reload', '--data', join(dir, 'q')])
    expect(out.code).toBe(1)
    expect(out.stderr).toMatch(/--config FILE.*ERR_NO_CONFIG/)
    expect((await run(['start', '--memory', '--tag', 'novalue'])).code).toBe(2)
  })
})
