/**
 * A server-sent-events stream to one client, with a bounded queue: while the client's socket is
 * full, events wait; a client whose queue passes its limit (events or bytes) is disconnected
 * rather than let the peer's memory grow. `SseStreams` keeps the open ones, sends keep-alives,
 * and ends them all when the API closes. (The watch stream has its own, for replay and pacing.)
 */
import type { ServerResponse } from 'node:http'
import { DEFAULT_WATCH_KEEP_ALIVE_MS, DEFAULT_WATCH_MAX_QUEUED_BYTES, DEFAULT_WATCH_MAX_QUEUED_EVENTS } from './constants.js'
import { SSE_HEADERS } from './watch.js'

export interface SseLimits {
  /** @default 15_000 (ms) */
  keepAliveMs?: number
  /** @default 1_000 (events) */
  maxQueuedEvents?: number
  /** @default 8 MiB (bytes) */
  maxQueuedBytes?: number
}

export interface SseStats {
  clients: number
  opened: number
  dropped: number
  eventsSent: number
}

export class SseStream {
  private readonly res: ServerResponse
  private readonly limits: Required<SseLimits>
  private readonly onEnd: (stream: SseStream, dropped: boolean) => void
  private readonly queue: string[] = []
  private queuedBytes = 0
  private blocked = false
  closed = false
  sent = 0

  constructor (res: ServerResponse, limits: Required<SseLimits>, onEnd: (stream: SseStream, dropped: boolean) => void) {
    this.res = res
    this.limits = limits
    this.onEnd = onEnd
    res.writeHead(200, SSE_HEADERS)
    res.on('close', () => { this.end(false); res.destroy() })
    res.on('error', () => { this.end(false); res.destroy() })
    res.on('drain', () => { this.flush() })
  }

  /** One event: `event: <name>` and its data as JSON. */
  event (name: string, data: unknown): void {
    this.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`, true)
  }

  /** One event whose data is already a JSON text (a log line). */
  raw (name: string, json: string): void {
    this.write(`event: ${name}\ndata: ${json}\n\n`, true)
  }

  comment (text: string): void {
    if (!this.blocked) this.write(`: ${text}\n\n`, false)
  }

  /** Ends the stream from this side (the API closes, the source is gone). */
  close (): void {
    if (this.closed) return
    this.end(false)
    this.res.end()
  }

  private write (text: string, isEvent: boolean): void {
    if (this.closed) return
    if (this.blocked) {
      this.queue.push(text)
      this.queuedBytes += Buffer.byteLength(text)
      if (this.queue.length > this.limits.maxQueuedEvents || this.queuedBytes > this.limits.maxQueuedBytes) {
        // A client that does not keep up: close its connection and forget what it had waiting.
        this.end(true)
        this.res.destroy()
      }
      return
    }
    if (isEvent) this.sent++
    if (!this.res.write(text)) this.blocked = true
  }

  private flush (): void {
    this.blocked = false
    while (!this.closed && !this.blocked) {
      const text = this.queue.shift()
      if (text === undefined) break
      this.queuedBytes -= Buffer.byteLength(text)
      if (text.startsWith('event:')) this.sent++
      if (!this.res.write(text)) this.blocked = true
    }
  }

  private end (dropped: boolean): void {
    if (this.closed) return
    this.closed = true
    this.queue.length = 0
    this.queuedBytes = 0
    this.onEnd(this, dropped)
  }
}

export class SseStreams {
  private readonly limits: Required<SseLimits>
  private readonly streams = new Set<SseStream>()
  private timer: NodeJS.Timeout | undefined
  private readonly counters = { opened: 0, dropped: 0, eventsSent: 0 }

  constructor (limits: SseLimits = {}) {
    this.limits = {
      keepAliveMs: limits.keepAliveMs ?? DEFAULT_WATCH_KEEP_ALIVE_MS,
      maxQueuedEvents: limits.maxQueuedEvents ?? DEFAULT_WATCH_MAX_QUEUED_EVENTS,
      maxQueuedBytes: limits.maxQueuedBytes ?? DEFAULT_WATCH_MAX_QUEUED_BYTES
    }
  }

  /** Opens a stream on this response (headers not sent yet); `onEnd` runs once when it ends, for any reason. */
  open (res: ServerResponse, onEnd: () => void = () => {}): SseStream | undefined {
    if (res.destroyed) return undefined
    const stream = new SseStream(res, this.limits, (s, dropped) => {
      this.streams.delete(s)
      this.counters.eventsSent += s.sent
      if (dropped) this.counters.dropped++
      if (this.streams.size === 0) {
        clearInterval(this.timer)
        this.timer = undefined
      }
      onEnd()
    })
    if (this.streams.size === 0) {
      this.timer = setInterval(() => { for (const s of this.streams) s.comment('keep-alive') }, this.limits.keepAliveMs)
      this.timer.unref()
    }
    this.streams.add(stream)
    this.counters.opened++
    return stream
  }

  stats (): SseStats {
    let sent = this.counters.eventsSent
    for (const s of this.streams) sent += s.sent
    return { clients: this.streams.size, opened: this.counters.opened, dropped: this.counters.dropped, eventsSent: sent }
  }

  closeAll (): void {
    for (const s of [...this.streams]) s.close()
  }
}
