/**
 * One budget of open server-sent-event streams per API instance, shared by every kind (watch,
 * dashboard, events, monitor): each open stream holds a socket and a queue, so one number
 * bounds what followers may cost the peer, whichever routes they use. A stream takes its slot
 * before the response starts and gives it back when the response closes, for any reason.
 */
import type { ServerResponse } from 'node:http'
import { ApiError } from './errors.js'

export const STREAM_KINDS = ['watch', 'dashboard', 'events', 'monitor'] as const
export type StreamKind = typeof STREAM_KINDS[number]

/** Figures about the streams of one API instance, all kinds together. */
export interface StreamBudgetStats {
  /** Streams open now. */
  open: number
  /** The most that may be open at once. */
  max: number
  /** Streams open now by kind. */
  byKind: Record<StreamKind, number>
  /** Streams refused because `max` were open (503 ERR_TOO_MANY_STREAMS). */
  refused: number
}

export class TooManyStreamsError extends ApiError {
  constructor (max: number) {
    super('ERR_TOO_MANY_STREAMS',
      `this peer already serves ${max} streams (watch, dashboard, events and monitor together), its limit: ` +
      'close a stream you no longer read, or try again later; the operator can raise the limit (maxStreams)')
  }
}

export class StreamBudget {
  readonly max: number
  private readonly open = new Map<StreamKind, number>(STREAM_KINDS.map((k) => [k, 0]))
  private total = 0
  private refused = 0

  constructor (max: number) {
    this.max = max
  }

  /**
   * Takes a slot for a stream of `kind` on `res`, given back once `res` closes; throws
   * TooManyStreamsError (503) when every slot is taken. A response already gone takes none.
   */
  take (kind: StreamKind, res: ServerResponse): void {
    if (res.destroyed) return
    if (this.total >= this.max) {
      this.refused++
      throw new TooManyStreamsError(this.max)
    }
    this.total++
    this.open.set(kind, (this.open.get(kind) ?? 0) + 1)
    res.once('close', () => {
      this.total--
      this.open.set(kind, (this.open.get(kind) ?? 0) - 1)
    })
  }

  stats (): StreamBudgetStats {
    return { open: this.total, max: this.max, byKind: Object.fromEntries(this.open) as Record<StreamKind, number>, refused: this.refused }
  }
}
