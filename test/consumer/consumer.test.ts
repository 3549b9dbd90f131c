import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { findOldNode, SIMULATED_NODE_20 } from '../node/old-node.js'

/**
 * hearsay as a dependency: the packed tarball installed into an empty project with no lockfile
 * and no overrides (overrides apply only to the root project), from npm's cache where it can.
 * The tree there must be the one hearsay is tested with, and the package must work from it.
 */
const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx'

interface LockPackage { version?: string }

describe('a project that depends on hearsay', () => {
  let dir: string
  let app: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearsay-consumer-'))
    app = join(dir, 'app')
    const packed = await run(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })
    const tarball = join(dir, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename)
    await run('mkdir', ['-p', app])
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }))
    await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, maxBuffer: 64 * 1024 * 1024 })
  }, 300_000)
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('resolves one @libp2p/interface, and the libp2p set at the versions of hearsay\'s lockfile', async () => {
    const ours = (JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> }).packages
    const theirs = (JSON.parse(await readFile(join(app, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> }).packages
    const versionsOf = (packages: Record<string, LockPackage>, name: string): string[] =>
      [...new Set(Object.entries(packages).filter(([path]) => path.endsWith(`node_modules/${name}`)).map(([, p]) => p.version ?? ''))].sort()
    expect(versionsOf(theirs, '@libp2p/interface')).toEqual(['2.11.0'])
    for (const name of ['libp2p', '@libp2p/interface', '@libp2p/record', '@multiformats/dns', '@libp2p/crypto', '@libp2p/kad-dht', '@chainsafe/libp2p-gossipsub', '@libp2p/tcp']) {
      expect(versionsOf(theirs, name), name).toEqual(versionsOf(ours, name))
    }
    // Outside the libp2p set hearsay takes ^ ranges: one copy each, which a host app can share.
    for (const name of ['fastify', 'pino', 'prom-client', 'commander', 'yaml']) expect(versionsOf(theirs, name), name).toHaveLength(1)
  })

  it('imports hearsay and hearsay/harness, and two peers replicate a write', async () => {
    const script = join(app, 'replicate.mjs')
    await writeFile(script, [
      "import { createPeer } from 'hearsay'",
      "import { createCluster } from 'hearsay/harness'",
      "if (typeof createPeer !== 'function') throw new Error('createPeer is not a function')",
      'const cluster = await createCluster({ size: 2, durable: false })',
      'try {',
      '  await cluster.converged({ timeout: 30_000 })',
      "  await cluster.peers[0].kv.put('from-a-dependent', { ok: true })",
      '  await cluster.converged({ timeout: 30_000 })',
      "  console.log(JSON.stringify(cluster.peers[1].kv.get('from-a-dependent')))",
      '} finally {',
      '  await cluster.stop()',
      '}'
    ].join('\n'))
    const { stdout } = await run(process.execPath, [script], { cwd: app, timeout: 90_000 })
    expect(JSON.parse(stdout.trim())).toEqual({ ok: true })
  }, 120_000)

  it('runs its CLI from the installed package', async () => {
    const { stdout } = await run(process.execPath, [join(app, 'node_modules', 'hearsay', 'bin', 'hearsay.js'), '--help'], { cwd: app })
    expect(stdout).toMatch(/^Usage: hearsay/m)
    const ours = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    const version = await run(NPX, ['--no-install', 'hearsay', '--version'], { cwd: app })
    expect(version.stdout.trim()).toBe(ours.version)
  })

  it('on a Node older than 22, the CLI and the library tell the dependent to bring Node 22', async () => {
    const old = await findOldNode()
    const node = old === undefined ? { file: process.execPath, prefix: SIMULATED_NODE_20 } : { file: old.path, prefix: [] }
    const line = /^hearsay needs Node\.js 22 or newer, but this is Node 20\.\d+\.\d+: install Node\.js 22 \(https:\/\/nodejs\.org\), or add it to your own project with "npm install --save-dev node@22" so that npm scripts and npx run on it$/
    const cli = await run(node.file, [...node.prefix, join(app, 'node_modules', 'hearsay', 'bin', 'hearsay.js'), 'get', 'k'], { cwd: app })
      .then(() => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => err)
    expect(cli.code).toBe(1)
    expect(cli.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(cli.stderr.trimEnd().replace(/ \(ERR_NODE_VERSION\)$/, '')).toMatch(line)
    const imported = await run(node.file, [...node.prefix, '--input-type=module', '-e',
      "import('hearsay').then(() => console.log('{}'), (err) => console.log(JSON.stringify({ code: err.code, message: err.message })))"], { cwd: app })
    const thrown = JSON.parse(imported.stdout) as { code: string, message: string }
    expect(thrown.code).toBe('ERR_NODE_VERSION')
    expect(thrown.message).toMatch(line)
  })
})
