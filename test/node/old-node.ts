import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * A Node.js older than 22 on this machine, outside any node_modules (where npm puts the
 * project's own Node 22): the machines hearsay is built on have Node 20 as their system Node.
 */
export async function findOldNode (): Promise<{ path: string, version: string } | undefined> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '' && !d.includes('node_modules'))
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin']) {
    const path = join(dir, 'node')
    if (!existsSync(path)) continue
    try {
      const version = (await run(path, ['--version'])).stdout.trim().replace(/^v/, '')
      if (Number(version.split('.')[0]) < 22) return { path, version }
    } catch {}
  }
  return undefined
}

/**
 * Node flags that make this Node 22 look like Node 20 to hearsay's check, and take away what
 * Node 20 lacks (Promise.withResolvers), for machines that have no older Node to run.
 */
export const SIMULATED_NODE_20 = ['--import', 'data:text/javascript,' + encodeURIComponent(
  "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.20.2' } }); delete Promise.withResolvers"
)]
