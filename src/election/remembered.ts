/**
 * The members this peer last counted toward a majority, kept across restarts. A restarted
 * peer's membership view holds only itself until it exchanges views with someone; counting
 * only itself, it would hold a "majority" of one and run quorum jobs beside the coordinator
 * the others follow (and, as coordinator, publish a GC horizon from its own vector alone).
 * Until that first exchange the lease counts these members too.
 */
import { readFile } from 'node:fs/promises'
import { writeFileDurably } from '../storage/index.js'

/** More than any network we run; a larger list on disk is not believed (read as none). */
export const MAX_REMEMBERED_MEMBERS = 4_096
const MAX_PEER_ID_LENGTH = 128

export class RememberedMembers {
  private readonly path: string | undefined
  private saved = ''
  private saving: Promise<void> = Promise.resolve()

  /** `path` undefined: an in-memory peer, which remembers nothing. */
  constructor (path: string | undefined) {
    this.path = path
  }

  /** The list saved by an earlier life; empty when missing, unreadable or malformed. */
  async read (): Promise<string[]> {
    if (this.path === undefined) return []
    try {
      const parsed: unknown = JSON.parse(await readFile(this.path, 'utf8'))
      const known = (parsed as Record<string, unknown> | null)?.known
      if (!Array.isArray(known) || known.length > MAX_REMEMBERED_MEMBERS) return []
      if (!known.every((id) => typeof id === 'string' && id.length > 0 && id.length <= MAX_PEER_ID_LENGTH)) return []
      this.saved = JSON.stringify([...known].sort())
      return known as string[]
    } catch {
      return []
    }
  }

  /** Saves `known` (fsynced, renamed into place) when it differs from what was saved; one write at a time. */
  save (known: readonly string[], onError: (err: unknown) => void): void {
    if (this.path === undefined) return
    const path = this.path
    const text = JSON.stringify([...known].sort())
    if (text === this.saved) return
    this.saved = text
    this.saving = this.saving.then(async () => {
      await writeFileDurably(path, new TextEncoder().encode(`{"known":${text}}`), 0o600)
    }).catch(onError)
  }

  /** Waits for the writes under way. */
  async idle (): Promise<void> {
    await this.saving
  }
}
