/**
 * hearsay runs on Node.js 22 or newer: libp2p 2.x's dependencies call `Promise.withResolvers`,
 * and on Node 20 a peer fails at start-up, deep inside libp2p, with a stack trace that says
 * nothing about the real cause. This module refuses an older Node at once, with one line that
 * says what to do.
 *
 * It is the first import of every entry point (`hearsay`, `hearsay/harness`, bin/hearsay.js):
 * ES modules run their imports depth-first in the order written, so a throw here stops the
 * load before any module that needs Node 22 runs. Keep its imports to `errors.ts` only.
 */
import { existsSync } from 'node:fs'
import { HearsayError } from './errors.js'

/** The oldest Node.js major version hearsay runs on. */
export const MIN_NODE_MAJOR = 22

export class NodeVersionError extends HearsayError {
  static readonly code = 'ERR_NODE_VERSION'

  constructor (version: string, advice: string) {
    super(NodeVersionError.code, `hearsay needs Node.js ${MIN_NODE_MAJOR} or newer, but this is Node ${version}: ${advice}`)
  }
}

/**
 * In a clone of hearsay's repository, `npm install` puts Node 22 in its node_modules/.bin (the
 * `node` devDependency), where npm scripts and npx find it. An installed dependency has no
 * devDependencies: whoever depends on hearsay brings their own Node 22.
 */
function advice (): string {
  const bundled = [new URL('../node_modules/.bin/node', import.meta.url), new URL('../../node_modules/.bin/node', import.meta.url)]
  if (bundled.some((path) => existsSync(path))) {
    return 'run it through "npx hearsay" or an npm script, which use the Node 22 that npm install put in this project\'s node_modules/.bin'
  }
  return 'install Node.js 22 (https://nodejs.org), or add it to your own project with "npm install --save-dev node@22" so that npm scripts and npx run on it'
}

/** The error for a Node.js version hearsay cannot run on, or undefined when it can. */
export function nodeVersionError (version: string = process.versions.node): NodeVersionError | undefined {
  const major = Number(version.split('.')[0])
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined
  return new NodeVersionError(version, advice())
}

const refused = nodeVersionError()
if (refused !== undefined) throw refused
