/**
 * What the dashboard shows, as one snapshot (GET /v1/dashboard), and the live stream of
 * snapshots (GET /v1/dashboard/events, server-sent events): one every interval while anyone
 * watches, and one soon after the members or the leader change. A client whose socket is full
 * skips snapshots until it drains (only the newest matters); it never queues them, and one that
 * stays full for `maxBlockedMs` is dropped.
 */
import { performance } from 'node:perf_hooks'
import { SSE_HEADERS } from './watch.js'
import { VERSION } from '../version.js'
import type { ServerResponse } from 'node:http'
import type { Leader } from '../election/index.js'
import type { Member } from '../membership/index.js'
import type { JobInfo } from '../jobs/index.js'
import type { ConvergenceReport, MeshGraph, TraceReport } from '../observe/index.js'
import type { Peer } from '../peer.js'
import { InvalidApiOptionsError, requirePositive } from './errors.js'

export interface DashboardOptions {
  /** How often a snapshot goes out while anyone watches. @default 1_000 (ms) */
  intervalMs?: number
  /** How often the recent writes are traced across the members again. @default 2_000 (ms) */
  tracesEveryMs?: number
  /** How many of the last writes a snapshot traces. @default 8 */
  recentWrites?: number
  /** How many keys (in key order) a snapshot lists with their values. @default 200 */
  maxKeys?: number
  /** How much of each value's JSON a snapshot shows. @default 160 (characters) */
  previewChars?: number
  /** How long a trace waits for the other members. @default 1_000 (ms) */
  traceTimeoutMs?: number
  /**
   * How long a client's socket may stay full (it skips snapshots meanwhile) before it is
   * dropped: a client that reads nothing for this long is gone or stuck. @default 60_000 (ms)
   */
  maxBlockedMs?: number
}

/** Figures about the dashboard's streams. */
export interface DashboardStats {
  /** Streams open now. */
  clients: number
  /** Streams closed because the client read nothing for `maxBlockedMs`. */
  dropped: number
}

export interface DashboardSnapshot {
  at: number
  peerId: string
  network: string
  /** This peer's hearsay version. */
  version: string
  leader: Leader | null
  term: number
  role: ReturnType<Peer['election']['role']>
  members: Member[]
  convergence: ConvergenceReport
  graph: MeshGraph
  /** The first keys in key order, each with the start of its value's JSON (values may be up to 1 MiB). */
  keys: { total: number, entries: Array<{ key: string, preview: string }> }
  /** The last writes to reach this peer, newest first, each traced across the members. */
  writes: TraceReport[]
  jobs: JobInfo[]
}

interface Client {
  readonly res: ServerResponse
  /** When its socket last filled up (`performance.now()`), while it has not drained since. */
  blockedSince: number | undefined
}

export class DashboardHub {
  private readonly peer: Peer
  private readonly intervalMs: number
  private readonly tracesEveryMs: number
  private readonly recentWrites: number
  private readonly maxKeys: number
  private readonly previewChars: number
  private readonly traceTimeoutMs: number
  private readonly maxBlockedMs: number
  private dropped = 0
  /** The last snapshot sent, as written, and when (`performance.now()`). */
  private last: { text: string, at: number } | undefined
  private readonly clients = new Set<Client>()
  private timer: NodeJS.Timeout | undefined
  private soon: NodeJS.Timeout | undefined
  private building = false
  private again = false
  private traces: TraceReport[] = []
  private tracedAt = 0
  private tracing: Promise<void> | undefined
  private readonly onChange = (): void => {
    if (this.soon !== undefined || this.clients.size === 0) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      this.broadcast()
    }, 100)
  }

  constructor (peer: Peer, options: DashboardOptions = {}) {
    this.peer = peer
    this.intervalMs = options.intervalMs ?? 1_000
    this.tracesEveryMs = options.tracesEveryMs ?? 2_000
    this.recentWrites = options.recentWrites ?? 8
    this.maxKeys = options.maxKeys ?? 200
    this.previewChars = options.previewChars ?? 160
    this.traceTimeoutMs = options.traceTimeoutMs ?? 1_000
    this.maxBlockedMs = options.maxBlockedMs ?? 60_000
    requirePositive('dashboard', { intervalMs: this.intervalMs, tracesEveryMs: this.tracesEveryMs, traceTimeoutMs: this.traceTimeoutMs, maxBlockedMs: this.maxBlockedMs })
    for (const [name, value] of Object.entries({ recentWrites: this.recentWrites, maxKeys: this.maxKeys, previewChars: this.previewChars })) {
      if (!Number.isSafeInteger(value) || value < 0 || value > 100_000) throw new InvalidApiOptionsError(`dashboard.${name} must be an integer from 0, not ${value}`)
    }
  }

  /**
   * Everything the page shows. With `fresh`, the recent writes are traced now; otherwise the
   * last tracing is used and a new one starts in the background when it is due, so a member
   * that does not answer never holds the stream up.
   */
  async snapshot (options: { fresh?: boolean } = {}): Promise<DashboardSnapshot> {
    if (options.fresh === true) {
      // A tracing already under way may have started before the newest writes: wait, then trace again.
      await this.tracing
      await this.retrace()
    } else if (Date.now() - this.tracedAt >= this.tracesEveryMs) void this.retrace()
    const peer = this.peer
    const entries = peer.kv.list('')
    return {
      at: Date.now(),
      peerId: peer.peerId,
      network: peer.network,
      version: VERSION,
      leader: peer.leader() ?? null,
      term: peer.election.term(),
      role: peer.election.role(),
      members: peer.members(),
      convergence: peer.observe.convergence(),
      graph: peer.observe.graph(),
      keys: { total: entries.length, entries: entries.slice(0, this.maxKeys).map(({ key, value }) => ({ key, preview: this.preview(value) })) },
      writes: this.traces,
      jobs: peer.jobs.list()
    }
  }

  /** Start streaming snapshots to this response (headers not sent yet). */
  add (res: ServerResponse): void {
    if (res.destroyed) return
    const client: Client = { res, blockedSince: undefined }
    res.writeHead(200, SSE_HEADERS)
    res.on('close', () => { this.remove(client) })
    res.on('error', () => { this.remove(client) })
    res.on('drain', () => { client.blockedSince = undefined })
    if (this.clients.size === 0) {
      this.timer = setInterval(() => { this.broadcast() }, this.intervalMs)
      this.timer.unref()
      for (const type of ['member:join', 'member:leave', 'member:fail', 'member:update', 'leader'] as const) this.peer.addEventListener(type, this.onChange)
    }
    this.clients.add(client)
    res.write(': dashboard\n\n')
    // A new client gets the last snapshot if it is recent, to itself: a burst of clients
    // would otherwise rebuild and send everyone a snapshot per client that arrives.
    const last = this.last
    if (last !== undefined && performance.now() - last.at < this.intervalMs) {
      if (!res.write(last.text)) client.blockedSince = performance.now()
    } else {
      this.broadcast()
    }
  }

  clientCount (): number {
    return this.clients.size
  }

  stats (): DashboardStats {
    return { clients: this.clients.size, dropped: this.dropped }
  }

  /** End every stream (the API is closing). */
  closeAll (): void {
    for (const client of [...this.clients]) {
      this.remove(client)
      client.res.end()
    }
  }

  private broadcast (): void {
    if (this.building) {
      this.again = true
      return
    }
    if (!this.peer.isRunning()) {
      this.closeAll()
      return
    }
    this.building = true
    this.snapshot().then((snapshot) => {
      const text = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`
      const now = performance.now()
      this.last = { text, at: now }
      for (const client of [...this.clients]) {
        if (client.blockedSince !== undefined) {
          if (now - client.blockedSince > this.maxBlockedMs) this.drop(client)
          continue
        }
        if (!client.res.write(text)) client.blockedSince = now
      }
    }).catch(() => {
      // The peer is stopping: the next tick closes the streams.
    }).finally(() => {
      this.building = false
      if (this.again) {
        this.again = false
        this.broadcast()
      }
    })
  }

  private preview (value: unknown): string {
    const text = JSON.stringify(value)
    return text.length <= this.previewChars ? text : `${text.slice(0, this.previewChars)}…`
  }

  private async retrace (): Promise<void> {
    this.tracing ??= this.peer.observe.recentTraces(this.recentWrites, { timeout: this.traceTimeoutMs })
      .then((traces) => { this.traces = traces }, () => {})
      .finally(() => {
        this.tracedAt = Date.now()
        this.tracing = undefined
      })
    await this.tracing
  }

  /** A client that has read nothing for maxBlockedMs: close its connection (its one buffered snapshot goes with it). */
  private drop (client: Client): void {
    this.dropped++
    this.remove(client)
    client.res.destroy()
  }

  private remove (client: Client): void {
    if (!this.clients.delete(client)) return
    if (this.clients.size === 0) {
      clearInterval(this.timer)
      clearTimeout(this.soon)
      this.timer = undefined
      this.soon = undefined
      this.last = undefined
      for (const type of ['member:join', 'member:leave', 'member:fail', 'member:update', 'leader'] as const) this.peer.removeEventListener(type, this.onChange)
    }
  }
}
