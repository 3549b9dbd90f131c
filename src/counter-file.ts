import { readFile } from 'node:fs/promises'
import { writeFileDurably } from './storage/index.js'

/**
 * A number that must never go back across restarts (membership's incarnation, the election's
 * term), kept as `{"<field>": n}` in a small file of the data dir (mode 0600).
 */
export class CounterFile {
  private readonly path: string
  private readonly field: string
  private readonly max: number

  /** `max`: the largest value the rest of the network accepts; a larger one on disk reads as `max`. */
  constructor (path: string, field: string, max: number) {
    this.path = path
    this.field = field
    this.max = max
  }

  /** The saved value; 0 when the file is missing, unreadable or holds no non-negative integer. */
  async read (): Promise<number> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.path, 'utf8'))
      const value = (parsed as Record<string, unknown> | null)?.[this.field]
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? Math.min(value, this.max) : 0
    } catch {
      return 0
    }
  }

  /** Saves `value`, fsynced and renamed into place, before resolving. */
  async write (value: number): Promise<void> {
    await writeFileDurably(this.path, new TextEncoder().encode(JSON.stringify({ [this.field]: value })), 0o600)
  }
}
