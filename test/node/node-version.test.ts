import { describe, it, expect, beforeAll } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { findOldNode, SIMULATED_NODE_20 } from './old-node.js'
import { nodeVersionError, NodeVersionError } from '../../src/node-version.js'
import { HearsayError } from '../../src/index.js'

/**
 * hearsay on a Node older than 22: bin/hearsay.js and the library entries (`hearsay`,
 * `hearsay/harness`) refuse it with one line that says what to do, before anything that needs
 * Node 22 runs. Run with the machine's own old Node (Node 20 on the machines hearsay is built
 * on); where there is none, with this Node made to look like Node 20.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BIN = fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url))
const run = promisify(execFile)

interface Outcome { code: number, stdout: string, stderr: string }

async function exec (file: string, args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: ROOT, timeout: 30_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number, stdout?: string, stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

/** Imports `specifier` the way a dependent does (the package resolves itself by name) and prints what it threw. */
function importScript (specifier: string): string[] {
  return ['--input-type=module', '-e', `import(${JSON.stringify(specifier)}).then(
    () => { console.log(JSON.stringify({ loaded: true })) },
    (err) => { console.log(JSON.stringify({ name: err.name, code: err.code, message: err.message })) })`]
}

const LINE = /^hearsay needs Node\.js 22 or newer, but this is Node 20\.\d+\.\d+: run it through "npx hearsay" or an npm script, which use the Node 22 that npm install put in this project's node_modules\/\.bin$/

describe('on a Node older than 22', () => {
  let node: { file: string, prefix: string[], label: string }

  beforeAll(async () => {
    const old = await findOldNode()
    node = old === undefined
      ? { file: process.execPath, prefix: SIMULATED_NODE_20, label: 'Node 22 made to look like Node 20' }
      : { file: old.path, prefix: [], label: `${old.path} (Node ${old.version})` }
    console.log(`old Node for these tests: ${node.label}`)
  })

  it('bin/hearsay.js prints one line that says what to do, and exits 1', async () => {
    for (const args of [['get', 'k'], ['start', '--memory'], ['--version']]) {
      const out = await exec(node.file, [...node.prefix, BIN, ...args])
      expect(out.code).toBe(1)
      expect(out.stdout).toBe('')
      const lines = out.stderr.trimEnd().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]!.replace(/ \(ERR_NODE_VERSION\)$/, '')).toMatch(LINE)
      expect(lines[0]).toMatch(/\(ERR_NODE_VERSION\)$/)
    }
  })

  it('import "hearsay" and "hearsay/harness" throw a HearsayError ERR_NODE_VERSION with that line', async () => {
    for (const specifier of ['hearsay', 'hearsay/harness']) {
      const out = await exec(node.file, [...node.prefix, ...importScript(specifier)])
      expect(out.code).toBe(0)
      const thrown = JSON.parse(out.stdout) as { name: string, code: string, message: string }
      expect(thrown).toMatchObject({ name: 'NodeVersionError', code: 'ERR_NODE_VERSION' })
      expect(thrown.message).toMatch(LINE)
    }
  })

  it('this Node loads the same entries', async () => {
    for (const specifier of ['hearsay', 'hearsay/harness']) {
      const out = await exec(process.execPath, importScript(specifier))
      expect(JSON.parse(out.stdout)).toEqual({ loaded: true })
    }
  })
})

describe('the check itself', () => {
  it('passes 22 and later, refuses anything older with a HearsayError', () => {
    for (const version of ['22.0.0', '22.23.3', '23.1.0', '30.0.0']) expect(nodeVersionError(version)).toBeUndefined()
    for (const version of ['21.7.3', '20.20.2', '18.0.0', 'garbage']) {
      const err = nodeVersionError(version)
      expect(err).toBeInstanceOf(NodeVersionError)
      expect(err).toBeInstanceOf(HearsayError)
      expect(err?.code).toBe('ERR_NODE_VERSION')
      expect(err?.message.split('\n')).toHaveLength(1)
      expect(err?.message).toContain(`this is Node ${version}`)
    }
  })
})
