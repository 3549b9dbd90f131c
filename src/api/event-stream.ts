/**
 * Server-sent events for `GET /v1/events`: the peer's events as they happen, one SSE event per
 * peer event, `event:` naming its type. Sources plug in as functions that subscribe and return
 * how to unsubscribe; today the one source is user events (`event: user`), and member and
 * leader events are meant to join it as further sources. Each client has a bounded queue:
 * while its socket is full events wait there, and a client whose queue passes its limit
 * (events or bytes) is disconnected rather than let the peer's memory grow.
 */
import type { ServerResponse } from 'node:http'
import type { DetailEvent } from '../events.js'
import type { UserEvent } from '../events/index.js'
import type { Peer } from '../peer.js'
import { DEFAULT_WATCH_KEEP_ALIVE_MS, DEFAULT_WATCH_MAX_QUEUED_BYTES, DEFAULT_WATCH_MAX_QUEUED_EVENTS } from './constants.js'
import { SSE_HEADERS, type WatchOptions } from './watch.js'

/** Subscribes `emit` to some of the peer's events; returns how to unsubscribe. */
export type EventStreamSource = (peer: Peer, emit: (type: string, data: unknown) => void) => () => void

/** `event: user`, data `{ name, payload, from, id, at }`: every user event this peer emits. */
export const userEventSource: EventStreamSource = (peer, emit) => {
  const listener = (event: DetailEvent<UserEvent>): void => { emit('user', event.detail) }
  peer.events.addEventListener('user', listener)
  return () => { peer.events.removeEventListener('user', listener) }
}

/** Figures about the `GET /v1/events` streams of one API instance. */
export interface EventStreamStats {
  /** Streams open now. */
  clients: number
  /** Streams opened since the API was built. */
  opened: number
  /** Streams closed because the client did not keep up. */
  dropped: number
  /** Events written to sockets. */
  eventsSent: number
}

interface Client {
  readonly res: ServerResponse
  readonly queue: string[]
  queuedBytes: number
  blocked: boolean
  closed: boolean
}

export class EventStreamHub {
  private readonly peer: Peer
  private readonly sources: readonly EventStreamSource[]
  private readonly keepAliveMs: number
  private readonly maxQueuedEvents: number
  private readonly maxQueuedBytes: number
  private readonly clients = new Set<Client>()
  private unsubscribe: Array<() => void> = []
  private timer: NodeJS.Timeout | undefined
  private readonly counters = { opened: 0, dropped: 0, eventsSent: 0 }

  /** Takes the watch stream's limits: both are streams of the same kind to the same clients. */
  constructor (peer: Peer, sources: readonly EventStreamSource[], options: WatchOptions = {}) {
    this.peer = peer
    this.sources = sources
    this.keepAliveMs = options.keepAliveMs ?? DEFAULT_WATCH_KEEP_ALIVE_MS
    this.maxQueuedEvents = options.maxQueuedEvents ?? DEFAULT_WATCH_MAX_QUEUED_EVENTS
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_WATCH_MAX_QUEUED_BYTES
  }

  /** Start streaming to this response (headers not sent yet). */
  add (res: ServerResponse): void {
    if (res.destroyed) return
    const client: Client = { res, queue: [], queuedBytes: 0, blocked: false, closed: false }
    res.writeHead(200, SSE_HEADERS)
    res.on('close', () => { this.remove(client) })
    res.on('error', () => { this.remove(client) })
    res.on('drain', () => { this.flush(client) })
    if (this.clients.size === 0) {
      const emit = (type: string, data: unknown): void => { this.broadcast(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`) }
      this.unsubscribe = this.sources.map((source) => source(this.peer, emit))
      this.timer = setInterval(() => { this.keepAlive() }, this.keepAliveMs)
      this.timer.unref()
    }
    this.clients.add(client)
    this.counters.opened++
    // Sends the headers now, so the client knows it is subscribed before the first event.
    this.write(client, ': streaming events\n\n', false)
  }

  stats (): EventStreamStats {
    return { clients: this.clients.size, ...this.counters }
  }

  /** End every stream (the API is closing). */
  closeAll (): void {
    for (const client of [...this.clients]) {
      this.remove(client)
      client.res.end()
    }
  }

  private broadcast (text: string): void {
    for (const client of this.clients) this.write(client, text, true)
  }

  private write (client: Client, text: string, isEvent: boolean): void {
    if (client.closed) return
    if (client.blocked) {
      client.queue.push(text)
      client.queuedBytes += Buffer.byteLength(text)
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
        // The peer stopped: no more events will come here.
        this.remove(client)
        client.res.end()
      } else if (!client.blocked) {
        client.res.write(': keep-alive\n\n')
      }
    }
  }

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
      for (const off of this.unsubscribe) off()
      this.unsubscribe = []
      clearInterval(this.timer)
      this.timer = undefined
    }
  }
}
