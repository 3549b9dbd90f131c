import { open } from 'node:fs/promises'
import { generatePsk } from '../net/index.js'
import { FileExistsError } from './errors.js'
import type { Output } from './output.js'

/** `hearsay key gen-psk FILE`: a new private-network key, mode 0600, never overwriting. */
export async function genPskCommand (path: string, flags: { json?: boolean }, output: Output): Promise<void> {
  let handle
  try {
    handle = await open(path, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(path)
    throw err
  }
  try {
    await handle.writeFile(generatePsk())
    await handle.sync()
  } finally {
    await handle.close()
  }
  output.out(flags.json === true ? JSON.stringify({ file: path }) : `wrote a new pre-shared key to ${path} (mode 0600); start every peer of the network with --psk ${path}`)
}
