/**
 * Server-sent events for `GET /v1/watch`: one `change` event per change of a key under the
 * prefix, each with an `id:`. A client that reconnects with `Last-Event-ID` gets the changes it
 * missed from a bounded log (watch-log.ts), or a `reset` event and a snapshot when they are no
 * longer known; `?snapshot=true` sends the current entries first. Each client has a bounded
 * queue: while its socket is full, events wait in the queue, and a client whose queue passes its limit (events or bytes) is disconnected rather
 * than let the peer's memory grow.
 */
import type { ServerResponse } from 'node:http'
import type { DetailEvent } from '../events.js'
import type { Json, KvChange } from '../replica/index.js'
import type { Peer } from '../peer.js'
import {
  DEFAULT_WATCH_KEEP_ALIVE_MS, DEFAULT_WATCH_MAX_QUEUED_BYTES, DEFAULT_WATCH_MAX_QUEUED_EVENTS, DEFAULT_WATCH_REPLAY_BYTES,
  DEFAULT_WATCH_REPLAY_EVENTS, DEFAULT_WATCH_RETAIN_MS
} from './constants.js'
import { requirePositive } from './errors.js'
import { ChangeLog } from './watch-log.js'

export interface WatchOptions {
  /** How often an idle stream gets a keep-alive comment line. @default 15_000 (ms) */
  keepAliveMs?: number
  /** Events one client may have waiting while its socket is full; one more and it is dropped. @default 1_000 (events) */
  maxQueuedEvents?: number
  /** Bytes of events one client may have waiting while its socket is full; more and it is dropped. @default 8 MiB (bytes) */
  maxQueuedBytes?: number
  /** Changes kept for clients that reconnect with Last-Event-ID. @default 10_000 (events) */
  replayEvents?: number
  /** Bytes of change events kept for reconnecting clients. @default 16 MiB (bytes) */
  replayBytes?: number
  /** How long changes are still recorded after the last client left, for it to come back. @default 300_000 (ms) */
  retainMs?: number
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
  /** Change events replayed to clients that reconnected with Last-Event-ID. */
  replayed: number
  /** Reconnects whose Last-Event-ID was no longer known here: they got a reset and a snapshot. */
  resets: number
  /** Changes kept now for reconnecting clients. */
  replayable: number
  /** Changes are being recorded for reconnecting clients (someone watches, or did within retainMs). */
  recording: boolean
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

export function formatChange (change: KvChange, id: string): string {
  const data: WatchEventData = change.value === undefined
    ? { key: change.key, origin: change.origin, deleted: true }
    : { key: change.key, value: change.value, origin: change.origin }
  return `event: change\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`
}

/** How a stream starts: from now, after the current entries, or after the last event a client saw. */
export interface WatchStart {
  /** Send the current entries under the prefix first (`entry` events, then `snapshot-end`). */
  snapshot?: boolean
  /** The `Last-Event-ID` of a reconnecting client: replay what it missed, or reset it to a snapshot. */
  lastEventId?: string
}

interface Client {
  readonly res: ServerResponse
  readonly prefix: string
  readonly queue: string[]
  queuedBytes: number
  blocked: boolean
  /** A snapshot or a replay is being written at the socket's pace: live events wait in the queue. */
  pacing: boolean
  closed: boolean
}

export class WatchHub {
  private readonly peer: Peer
  private readonly keepAliveMs: number
  private readonly maxQueuedEvents: number
  private readonly maxQueuedBytes: number
  private readonly retainMs: number
  private readonly clients = new Set<Client>()
  private readonly log: ChangeLog
  private timer: NodeJS.Timeout | undefined
  private retention: NodeJS.Timeout | undefined
  /** Listening to the store (recording the change log) while anyone watches or did within retainMs. */
  private recording = false
  private readonly counters = { opened: 0, dropped: 0, eventsSent: 0, keepAlivesSent: 0, maxQueuedEventsSeen: 0, replayed: 0, resets: 0 }

  private readonly onChange = (event: DetailEvent<KvChange>): void => {
    const change = event.detail
    const entry = this.log.append(change.key, (id) => formatChange(change, id))
    for (const client of this.clients) {
      if (change.key.startsWith(client.prefix)) this.send(client, entry.text, true)
    }
  }

  constructor (peer: Peer, options: WatchOptions = {}) {
    this.peer = peer
    this.keepAliveMs = options.keepAliveMs ?? DEFAULT_WATCH_KEEP_ALIVE_MS
    this.maxQueuedEvents = options.maxQueuedEvents ?? DEFAULT_WATCH_MAX_QUEUED_EVENTS
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_WATCH_MAX_QUEUED_BYTES
    this.retainMs = options.retainMs ?? DEFAULT_WATCH_RETAIN_MS
    const replayEvents = options.replayEvents ?? DEFAULT_WATCH_REPLAY_EVENTS
    const replayBytes = options.replayBytes ?? DEFAULT_WATCH_REPLAY_BYTES
    requirePositive('watch', {
      keepAliveMs: this.keepAliveMs, maxQueuedEvents: this.maxQueuedEvents, maxQueuedBytes: this.maxQueuedBytes, retainMs: this.retainMs, replayEvents, replayBytes
    })
    this.log = new ChangeLog({ maxEvents: replayEvents, maxBytes: replayBytes })
  }

  /** Start streaming changes under `prefix` to this response (headers not sent yet). */
  add (res: ServerResponse, prefix: string, start: WatchStart = {}): void {
    // The client may have gone between the request and now: nothing to stream to.
    if (res.destroyed) return
    const client: Client = { res, prefix, queue: [], queuedBytes: 0, blocked: false, pacing: false, closed: false }
    res.writeHead(200, SSE_HEADERS)
    // The client went away: let go of its socket too, or it lingers (half-closed) until the
    // other side times it out, and closing the API waits for it.
    res.on('close', () => { this.remove(client); res.destroy() })
    res.on('error', () => { this.remove(client); res.destroy() })
    res.on('drain', () => { if (!client.pacing) this.flush(client) })
    this.record()
    if (this.clients.size === 0) {
      this.timer = setInterval(() => { this.keepAlive() }, this.keepAliveMs)
      this.timer.unref()
    }
    this.clients.add(client)
    this.counters.opened++
    // Sends the headers now, so the client knows it is watching before the first change.
    this.send(client, `: watching ${JSON.stringify(prefix)}\n\n`, false)
    if (start.lastEventId !== undefined) {
      const resume = this.log.since(start.lastEventId, prefix)
      if (resume.kind === 'replay') {
        this.counters.replayed += resume.changes.length
        void this.paced(client, resume.changes.map((c) => c.text), resume.changes.length)
        return
      }
      this.counters.resets++
      const reset = { reason: resume.reason, lastEventId: start.lastEventId }
      this.send(client, `event: reset\ndata: ${JSON.stringify(reset)}\n\n`, false)
      this.snapshot(client)
    } else if (start.snapshot === true) {
      this.snapshot(client)
    }
  }

  stats (): WatchStats {
    let queuedEvents = 0
    for (const client of this.clients) queuedEvents += client.queue.length
    return { clients: this.clients.size, ...this.counters, queuedEvents, replayable: this.log.size(), recording: this.recording }
  }

  /** End every stream and stop recording (the API is closing). */
  closeAll (): void {
    for (const client of [...this.clients]) {
      this.remove(client)
      client.res.end()
    }
    this.stopRecording()
  }

  /**
   * The current entries under the client's prefix, then `snapshot-end` with the id they are
   * current as of: changes after it follow, and a reconnect with that id resumes from there.
   */
  private snapshot (client: Client): void {
    const entries = this.peer.kv.list(client.prefix)
    const texts = entries.map(({ key, value }) => `event: entry\ndata: ${JSON.stringify({ key, value })}\n\n`)
    texts.push(`event: snapshot-end\nid: ${this.log.lastId()}\ndata: ${JSON.stringify({ entries: entries.length })}\n\n`)
    void this.paced(client, texts, 0)
  }

  /**
   * Writes `texts` at the pace the socket takes them (a snapshot or a replay may be far more than
   * the queue allows); live events meanwhile wait in the queue, within its limits, and follow.
   */
  private async paced (client: Client, texts: string[], events: number): Promise<void> {
    client.pacing = true
    client.blocked = true
    for (const text of texts) {
      if (client.closed) return
      if (!client.res.write(text)) {
        await new Promise<void>((resolve) => {
          const done = (): void => { client.res.off('drain', done); client.res.off('close', done); resolve() }
          client.res.on('drain', done)
          client.res.on('close', done)
        })
      }
    }
    this.counters.eventsSent += events
    client.pacing = false
    this.flush(client)
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
      if (text.startsWith('event: change')) this.counters.eventsSent++
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

  /** Record changes from now on (a gap in the log if it had stopped), until retainMs after the last client. */
  private record (): void {
    clearTimeout(this.retention)
    this.retention = undefined
    if (this.recording) return
    this.log.gap()
    this.recording = true
    this.peer.kv.addEventListener('change', this.onChange)
  }

  private stopRecording (): void {
    clearTimeout(this.retention)
    this.retention = undefined
    if (!this.recording) return
    this.recording = false
    this.peer.kv.removeEventListener('change', this.onChange)
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
      clearInterval(this.timer)
      this.timer = undefined
      // Keep recording a while: a client that lost its connection comes back with Last-Event-ID.
      this.retention = setTimeout(() => { this.stopRecording() }, this.retainMs)
      this.retention.unref()
    }
  }
}
