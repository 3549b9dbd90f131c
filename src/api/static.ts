/**
 * The dashboard's files: plain HTML, JavaScript and CSS that ship with the package under
 * src/api/ui (no build step). The module finds them next to itself when it runs from src, and
 * under the package's src/ when it runs from dist/src (package.json "files" ships both).
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { DashboardFilesError } from './errors.js'

export interface Asset {
  readonly body: Buffer
  readonly type: string
}

const TYPES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8'
}

/** What the page may do: load its own script and style, talk to this API; nothing else. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache'
}

const CANDIDATES = [new URL('./ui/', import.meta.url), new URL('../../../src/api/ui/', import.meta.url)]

let directory: URL | undefined
const cache = new Map<string, Asset>()

/** Where the files are: the first candidate that holds index.html. */
export function assetDirectory (): URL {
  directory ??= CANDIDATES.find((dir) => existsSync(fileURLToPath(new URL('index.html', dir))))
  if (directory === undefined) {
    throw new DashboardFilesError(CANDIDATES.map((c) => fileURLToPath(c)))
  }
  return directory
}

/** A dashboard file by name, or undefined for a name that is not one. */
export async function loadAsset (name: string): Promise<Asset | undefined> {
  const type = Object.hasOwn(TYPES, name) ? TYPES[name] : undefined
  if (type === undefined) return undefined
  let asset = cache.get(name)
  if (asset === undefined) {
    asset = { body: await readFile(new URL(name, assetDirectory())), type }
    cache.set(name, asset)
  }
  return asset
}
