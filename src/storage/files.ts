import { open, rename, mkdir, chmod } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Write, fsync, rename, fsync the directory: the file is either the old one or the whole new one. */
export async function writeFileDurably (path: string, data: Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true })
  const tmp = `${path}.tmp-${process.pid}`
  const handle = await open(tmp, 'w', mode)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await chmod(tmp, mode)
  await rename(tmp, path)
  const dirHandle = await open(dir, 'r')
  try {
    await dirHandle.sync()
  } finally {
    await dirHandle.close()
  }
}
