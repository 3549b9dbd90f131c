/**
 * The recent changes a watch stream can resume from. Each change gets an id
 * `<epoch>-<n>`: the epoch is new for every API instance (a restarted peer's ids mean nothing to
 * the old one's clients), and n only grows. A client that reconnects with `Last-Event-ID`
 * gets what it missed when every change since that id is still here; otherwise it learns so and
 * starts again from a snapshot. The log is bounded in events and bytes, and it records only while
 * someone watches or has watched within `retainMs`, so an unwatched peer pays nothing.
 */
import { randomBytes } from 'node:crypto'

export interface LoggedChange {
  /** n of the id; the SSE `id:` is `<epoch>-<n>`. */
  readonly n: number
  readonly key: string
  /** The change event's text as sent, `id:` line included. */
  readonly text: string
}

export interface ChangeLogLimits {
  /** Most changes kept. */
  maxEvents: number
  /** Most bytes of event text kept. */
  maxBytes: number
}

/** What `since` finds for a client's Last-Event-ID. */
export type Resume =
  | { kind: 'replay', changes: LoggedChange[] }
  /** The id is not one of this log's, or changes after it were not all kept: the client needs a snapshot. */
  | { kind: 'unknown', reason: string }

export class ChangeLog {
  readonly epoch: string
  private readonly limits: ChangeLogLimits
  private entries: LoggedChange[] = []
  private head = 0
  private bytes = 0
  /** The n of the newest change seen (or of the last gap mark). */
  private last = 0

  constructor (limits: ChangeLogLimits, epoch: string = randomBytes(4).toString('hex')) {
    this.limits = limits
    this.epoch = epoch
  }

  /** The id of the newest change, which a snapshot taken now is current as of. */
  lastId (): string {
    return `${this.epoch}-${this.last}`
  }

  /** Adds a change; `format` turns its id into the event text. Drops the oldest past the limits. */
  append (key: string, format: (id: string) => string): LoggedChange {
    const n = ++this.last
    const entry = { n, key, text: format(`${this.epoch}-${n}`) }
    this.entries.push(entry)
    this.bytes += entry.text.length
    while (this.size() > this.limits.maxEvents || (this.bytes > this.limits.maxBytes && this.size() > 1)) {
      const dropped = this.entries[this.head++]
      if (dropped !== undefined) this.bytes -= dropped.text.length
    }
    // Compact now and then, so dropped entries do not pile up at the front.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
    return entry
  }

  /**
   * Changes were made that this log did not see (it stopped recording): forget what it holds and
   * move n on, so no client resumes across the gap as if nothing happened.
   */
  gap (): void {
    this.entries = []
    this.head = 0
    this.bytes = 0
    this.last++
  }

  size (): number {
    return this.entries.length - this.head
  }

  /** What a client whose last event was `lastEventId` missed, under `prefix`. */
  since (lastEventId: string, prefix: string): Resume {
    const match = /^([0-9a-f]+)-(\d{1,15})$/.exec(lastEventId)
    if (match === null) return { kind: 'unknown', reason: `"${lastEventId.slice(0, 64)}" is not an event id of this API` }
    if (match[1] !== this.epoch) return { kind: 'unknown', reason: 'the id is from before the peer\'s API restarted' }
    const n = Number(match[2])
    if (n > this.last) return { kind: 'unknown', reason: 'the id is newer than any change here' }
    if (n === this.last) return { kind: 'replay', changes: [] }
    const oldest = this.entries[this.head]
    if (oldest === undefined || oldest.n > n + 1) return { kind: 'unknown', reason: 'changes since that id are no longer kept here' }
    const changes: LoggedChange[] = []
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as LoggedChange
      if (entry.n > n && entry.key.startsWith(prefix)) changes.push(entry)
    }
    return { kind: 'replay', changes }
  }
}
