/** `hearsay reload` and `hearsay validate --config FILE`. */
import { clientFor, type ClientFlags } from './client.js'
import type { Output } from './output.js'
import type { ReloadReport } from '../api/index.js'
import { HearsayError } from '../errors.js'

export async function reloadCommand (flags: ClientFlags, output: Output): Promise<void> {
  const api = await clientFor(flags)
  const report = await api.request<ReloadReport>('POST', '/v1/reload')
  if (flags.json === true) {
    output.out(JSON.stringify(report))
    return
  }
  const { logLevel, tags, writers } = report.applied
  const tagText = Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(' ')
  output.out(`reloaded ${report.config}: log level ${logLevel}; tags ${tagText === '' ? '(none)' : tagText}; writers ${writers === null ? 'anyone' : `${writers.length} listed`}`)
  if (report.restartNeeded.length > 0) output.out(`these settings changed in the file and take a restart: ${report.restartNeeded.join(', ')}`)
}

/** A config file with problems: `validate` printed them, one a line. */
export class InvalidConfigError extends HearsayError {
  constructor (count: number) {
    super('ERR_CONFIG', `${count} ${count === 1 ? 'problem' : 'problems'} in the config file`)
  }
}

/**
 * Every problem of a config file, one line each, and exit 1; or "ok" and exit 0. Besides each
 * setting, the files it names are read (the writers list, the pre-shared key) and the API address
 * and the tags are checked, as `start` would.
 */
export async function validateCommand (path: string, flags: { json?: boolean }, output: Output): Promise<void> {
  const { configProblems } = await import('./config.js')
  const { config, problems } = await configProblems(path)
  const { parseApiListen, readWriters } = await import('./start.js')
  const { validatePsk } = await import('../net/index.js')
  const { readFile } = await import('node:fs/promises')
  const more: Array<() => Promise<void>> = [
    async () => { if (config.api !== undefined) parseApiListen(config.api) },
    async () => { if (config.writers !== undefined) await readWriters(config.writers) },
    async () => {
      if (config.psk === undefined) return
      let bytes: Uint8Array
      try {
        bytes = await readFile(config.psk)
      } catch (err) {
        throw new Error(`${path}: psk ${config.psk} cannot be read: ${(err as Error).message}`)
      }
      validatePsk(bytes)
    }
  ]
  for (const check of more) {
    try {
      await check()
    } catch (err) {
      problems.push((err as Error).message)
    }
  }
  if (flags.json === true) output.out(JSON.stringify({ config: path, ok: problems.length === 0, problems }))
  else if (problems.length === 0) output.out(`${path}: ok`)
  else for (const p of problems) output.out(p)
  if (problems.length > 0) throw new InvalidConfigError(problems.length)
}
