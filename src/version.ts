/**
 * The software version, read once from the package's own package.json: it is the one place the
 * version is written, so `hearsay --version`, `/v1/status` and the version each member announces
 * cannot disagree with what npm installed. The module runs from src/ (tests) and from dist/src/
 * (the package), so both places are looked at; the first package.json named "hearsay" wins.
 */
import { readFileSync } from 'node:fs'

const CANDIDATES = [new URL('../package.json', import.meta.url), new URL('../../package.json', import.meta.url)]

function readVersion (): string {
  for (const candidate of CANDIDATES) {
    try {
      const parsed = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown, version?: unknown }
      if (parsed.name === 'hearsay' && typeof parsed.version === 'string') return parsed.version
    } catch {
      // Not there (or not ours): try the next place.
    }
  }
  return '0.0.0-unknown'
}

/** hearsay's version, as in its package.json (for example `0.1.0`). */
export const VERSION: string = readVersion()
