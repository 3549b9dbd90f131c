/**
 * Server-sent events for `GET /v1/watch`: one `change` event per change of a key under the
 * prefix. Each client has a bounded queue: while its socket is full, events wait in the
 * queue, and a client whose queue passes its limit (events or bytes) is disconnected rather
 * than let the peer's memory grow.
 */
import type { ServerResponse } from 'node:http'
import type { DetailEvent } from '../events.js'
import type { Json, KvChange } from '../replica/index.js'
import type { Peer } from '../peer.js'
import { DEFAULT_WATCH_KEEP_ALIVE_MS, DEFAULT_WATCH_MAX_QUEUED_BYTES, DEFAULT_WATCH_MAX_QUEUED_EVENTS } from './constants.js'
import { requirePositive } from './errors.js'

export interface WatchOptions {
  /** How often an idle stream gets a keep-alive comment line. @default 15_000 (ms) */
  keepAliveMs?: number
  /** Events one client may have waiting while its socket is full; one more and it is dropped. @default 1_000 (events) */
  maxQueuedEvents?: number
  /** Bytes of events one client may have waiting while its socket is full; more and it is dropped. @default 8 MiB (bytes) */
  maxQueuedBytes?: number
}

/** Figures about the watch streams of one API instance. */
export interface WatchStats {
  /** Streams open now. */
  clients: number
  /** Streams opened since the API was built. */
  opened: number
  /** Streams closed because the client did not keep up. */
  dropped: number
  /** Change events written to sockets. */
  eventsSent: number
  /** Keep-alive comment lines written to idle streams. */
  keepAlivesSent: number
  /** Events waiting in all clients' queues now. */
  queuedEvents: number
  /** The most events one client ever had waiting at once. */
  maxQueuedEventsSeen: number
}

/** The `data` of a change event. */
export interface WatchEventData {
  key: string
  /** The value now; absent once deleted (then `deleted` is true). A value of `null` is a put of null. */
  value?: Json
  origin: KvChange['origin']
  deleted?: true
}

/** Response headers of a server-sent-events stream (no proxy buffering, no transforms). */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no'
} as const

export function formatChange (change: KvChange): string {
  const data: WatchEventData = change.value === undefined
    ? { key: change.key, origin: change.origin, deleted: true }
    : { key: change.key, value: change.value, origin: change.origin }
  return `event: change\ndata: ${JSON.stringify(data)}\n\n`
}

interface Client {
  readonly res: ServerResponse
  readonly prefix: string
  readonly queue: string[]
  queuedBytes: number
  blocked: boolean
  closed: boolean
}

export class WatchHub {
  private readonly peer: Peer
  private readonly keepAliveMs: number
  private readonly maxQueuedEvents: number
  private readonly maxQueuedBytes: number
  private readonly clients = new Set<Client>()
  private timer: NodeJS.Timeout | undefined
  private readonly counters = { opened: 0, dropped: 0, eventsSent: 0, keepAlivesSent: 0, maxQueuedEventsSeen: 0 }

  private readonly onChange = (event: DetailEvent<KvChange>): void => {
    const change = event.detail
    let text: string | undefined
    for (const client of this.clients) {
      if (!change.key.startsWith(client.prefix)) continue
      text ??= formatChange(change)
      this.send(client, text, true)
    }
  }

  constructor (peer: Peer, options: WatchOptions = {}) {
    this.peer = peer
    this.keepAliveMs = options.keepAliveMs ?? DEFAULT_WATCH_KEEP_ALIVE_MS
    this.maxQueuedEvents = options.maxQueuedEvents ?? DEFAULT_WATCH_MAX_QUEUED_EVENTS
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_WATCH_MAX_QUEUED_BYTES
    requirePositive('watch', { keepAliveMs: this.keepAliveMs, maxQueuedEvents: this.maxQueuedEvents, maxQueuedBytes: this.maxQueuedBytes })
  }

  /** Start streaming changes under `prefix` to this response (headers not sent yet). */
  add (res: ServerResponse, prefix: string): void {
    // The client may have gone between the request and now: nothing to stream to.
    if (res.destroyed) return
    const client: Client = { res, prefix, queue: [], queuedBytes: 0, blocked: false, closed: false }
    res.writeHead(200, SSE_HEADERS)
    res.on('close', () => { this.remove(client) })
    res.on('error', () => { this.remove(client) })
    res.on('drain', () => { this.flush(client) })
    if (this.clients.size === 0) {
      this.peer.kv.addEventListener('change', this.onChange)
      this.timer = setInterval(() => { this.keepAlive() }, this.keepAliveMs)
      this.timer.unref()
    }
    this.clients.add(client)
    this.counters.opened++
    // Sends the headers now, so the client knows it is watching before the first change.
    this.send(client, `: watching ${JSON.stringify(prefix)}\n\n`, false)
  }

  stats (): WatchStats {
    let queuedEvents = 0
    for (const client of this.clients) queuedEvents += client.queue.length
    return { clients: this.clients.size, ...this.counters, queuedEvents }
  }

  /** End every stream (the API is closing). */
  closeAll (): void {
    for (const client of [...this.clients]) {
      this.remove(client)
      client.res.end()
    }
  }

  private send (client: Client, text: string, isEvent: boolean): void {
    if (client.closed) return
    if (client.blocked) {
      client.queue.push(text)
      client.queuedBytes += Buffer.byteLength(text)
      this.counters.maxQueuedEventsSeen = Math.max(this.counters.maxQueuedEventsSeen, client.queue.length)
      if (client.queue.length > this.maxQueuedEvents || client.queuedBytes > this.maxQueuedBytes) this.drop(client)
      return
    }
    if (isEvent) this.counters.eventsSent++
    if (!client.res.write(text)) client.blocked = true
  }

  private flush (client: Client): void {
    client.blocked = false
    while (!client.closed && !client.blocked) {
      const text = client.queue.shift()
      if (text === undefined) break
      client.queuedBytes -= Buffer.byteLength(text)
      this.counters.eventsSent++
      if (!client.res.write(text)) client.blocked = true
    }
  }

  private keepAlive (): void {
    for (const client of [...this.clients]) {
      if (!this.peer.isRunning()) {
        // The peer stopped: no more changes will come here.
        this.remove(client)
        client.res.end()
      } else if (!client.blocked) {
        client.res.write(': keep-alive\n\n')
        this.counters.keepAlivesSent++
      }
    }
  }

  /** A client that does not keep up: close its connection and forget what it had waiting. */
  private drop (client: Client): void {
    this.counters.dropped++
    this.remove(client)
    client.res.destroy()
  }

  private remove (client: Client): void {
    if (client.closed) return
    client.closed = true
    client.queue.length = 0
    client.queuedBytes = 0
    this.clients.delete(client)
    if (this.clients.size === 0) {
      this.peer.kv.removeEventListener('change', this.onChange)
      clearInterval(this.timer)
      this.timer = undefined
    }
  }
}
