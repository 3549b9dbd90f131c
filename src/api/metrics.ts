/**
 * hearsay's own Prometheus metrics. Every value is read from the parts' stats at scrape time
 * (a `collect()` per metric), so nothing on the write path pays for metrics. They live in a
 * registry of their own per API instance; a scrape serves libp2p's registry (`peer.metrics`)
 * followed by this one.
 */
import { Counter, Gauge, Registry } from 'prom-client'
import type { Peer, PeerStats } from '../peer.js'
import type { ApiLimitStats } from './server.js'
import { STREAM_KINDS } from './stream-budget.js'
import { registerEventMetrics } from './metrics-events.js'

/** What the watch route reports into the metrics. */
export interface WatchMetricsSource {
  clients: () => number
  dropped: () => number
}

type Sample<L extends string> = readonly [labels: Partial<Record<L, string>>, value: number]

/** A counter whose samples are totals some part already keeps (monotonic while the part runs). */
export function counter<L extends string> (registry: Registry, name: string, help: string, labelNames: readonly L[], read: () => ReadonlyArray<Sample<L>>): void {
  new Counter<L>({
    name, help, labelNames, registers: [registry],
    collect () {
      this.reset()
      for (const [labels, value] of read()) if (Number.isFinite(value) && value >= 0) this.inc(labels, value)
    }
  })
}

/** A gauge whose samples are values some part reports now. */
function gauge<L extends string> (registry: Registry, name: string, help: string, labelNames: readonly L[], read: () => ReadonlyArray<Sample<L>>): void {
  new Gauge<L>({
    name, help, labelNames, registers: [registry],
    collect () {
      this.reset()
      for (const [labels, value] of read()) if (Number.isFinite(value)) this.set(labels, value)
    }
  })
}

/** Samples of a counter by `direction`. */
function sentAndReceived (sent: number, received: number): ReadonlyArray<Sample<'direction'>> {
  return [[{ direction: 'sent' }, sent], [{ direction: 'received' }, received]]
}

const MEMBER_STATES = ['alive', 'suspect', 'dead', 'left'] as const
const JOB_OUTCOMES = ['ok', 'error', 'aborted', 'timeout'] as const

/** The metrics of one API instance over one peer. */
export interface ApiMetrics {
  readonly registry: Registry
  /** libp2p's metrics then hearsay's, in the Prometheus text format. */
  scrape: () => Promise<string>
  readonly contentType: string
}

export function createMetrics (peer: Peer, watch: WatchMetricsSource, limits: () => ApiLimitStats): ApiMetrics {
  const registry = new Registry()
  const kv = (): PeerStats['kv'] => peer.diagnostics.stats().kv

  counter(registry, 'hearsay_writes_total', 'Writes applied to this replica: local (made here), remote (received and applied), rejected (refused: bad signature or content).',
    ['origin'], () => {
      const s = kv()
      return [[{ origin: 'local' }, s.writesLocal], [{ origin: 'remote' }, s.writesRemote], [{ origin: 'rejected' }, s.rejected]]
    })
  counter(registry, 'hearsay_gossip_messages_total', 'Gossip batches of writes sent and received.', ['direction'], () => sentAndReceived(kv().gossipMessagesSent, kv().gossipMessagesReceived))
  counter(registry, 'hearsay_gossip_bytes_total', 'Bytes of gossip batches sent and received.', ['direction'], () => sentAndReceived(kv().gossipBytesSent, kv().gossipBytesReceived))
  counter(registry, 'hearsay_gossip_unsent_total', 'Gossip batches that had nobody to go to (anti-entropy repairs them).', [], () => [[{}, kv().gossipUnsent]])
  counter(registry, 'hearsay_anti_entropy_rounds_total', 'Anti-entropy exchanges completed (either side started them).', [], () => [[{}, kv().antiEntropyRounds]])
  counter(registry, 'hearsay_anti_entropy_bytes_total', 'Bytes of anti-entropy frames sent and received.', ['direction'], () => sentAndReceived(kv().antiEntropyBytesSent, kv().antiEntropyBytesReceived))
  counter(registry, 'hearsay_anti_entropy_records_total', 'Write records sent by anti-entropy, and received ones that were new.', ['direction'], () => sentAndReceived(kv().antiEntropyRecordsSent, kv().antiEntropyRecordsReceived))
  counter(registry, 'hearsay_malformed_messages_total', 'Messages from the network dropped because they did not decode or broke a limit, by part.', ['part'], () => [
    [{ part: 'membership' }, peer.diagnostics.stats().membership.malformed],
    [{ part: 'replica' }, kv().malformed],
    [{ part: 'election' }, peer.diagnostics.stats().election.malformed]
  ])
  gauge(registry, 'hearsay_keys', 'Keys with a live value in this replica.', [], () => [[{}, peer.kv.size()]])
  gauge(registry, 'hearsay_members', 'Members in this peer\'s view by state, itself included.', ['state'], () => {
    const counts = countMembers(peer)
    return MEMBER_STATES.map((state) => [{ state }, counts[state]] as const)
  })
  gauge(registry, 'hearsay_leader_term', 'The highest election term this peer has seen (the coordinator\'s fencing token).', [], () => [[{}, peer.election.term()]])
  gauge(registry, 'hearsay_leader', '1 while this peer knows a coordinator, 0 during an election.', [], () => [[{}, peer.leader() === undefined ? 0 : 1]])
  counter(registry, 'hearsay_leader_changes_total', 'Times the coordinator this peer follows changed (none known counts as a change).', [], () => [[{}, peer.diagnostics.stats().election.leaderChanges]])
  counter(registry, 'hearsay_job_runs_total', 'Job runs recorded in the replicated store (by any coordinator) since this API started, by job and outcome.',
    ['job', 'outcome'], jobRunCounter(peer))
  gauge(registry, 'hearsay_storage_fsync_seconds', 'How long the last fsync of the durable log took (0 for an in-memory peer).', [], () => [[{}, (kv().log?.lastFsyncMs ?? 0) / 1000]])
  counter(registry, 'hearsay_storage_fsyncs_total', 'fsyncs of the durable log since it was opened.', [], () => [[{}, kv().log?.fsyncs ?? 0]])
  // Log size against what the replica holds: compaction keeps the one in proportion to the other.
  gauge(registry, 'hearsay_records', 'Write records this replica holds, live or not yet collected: what a compacted log keeps.', [], () => [[{}, peer.kv.recordCount()]])
  gauge(registry, 'hearsay_storage_log_bytes', 'Size of the durable log file (0 for an in-memory peer).', [], () => [[{}, kv().log?.bytes ?? 0]])
  gauge(registry, 'hearsay_storage_log_entries', 'Entries in the durable log: own records and received batches (0 for an in-memory peer).', [], () => [[{}, kv().log?.records ?? 0]])
  counter(registry, 'hearsay_storage_compactions_total', 'Rewrites of the durable log that dropped collected records, since the peer started.', [], () => [[{}, kv().compactions]])
  gauge(registry, 'hearsay_member_lag_entries', 'Writes this peer holds that the member lacks, by the version vectors it learned (an upper bound).',
    ['member'], () => peer.observe.convergence().members.filter((m) => !m.self && m.lagEntries !== null)
      .map((m) => [{ member: m.peerId }, m.lagEntries as number] as const))
  gauge(registry, 'hearsay_member_lag_oldest_seconds', 'Age of the oldest write the member lacks (0 when it lacks none).',
    ['member'], () => peer.observe.convergence().members.filter((m) => !m.self && m.oldestMissingMs !== null)
      .map((m) => [{ member: m.peerId }, (m.oldestMissingMs as number) / 1000] as const))
  gauge(registry, 'hearsay_converged', '1 while this peer believes every member alive or suspect holds the same writes as it does.', [],
    () => [[{}, peer.observe.convergence().converged ? 1 : 0]])
  gauge(registry, 'hearsay_watch_clients', 'Open GET /v1/watch streams.', [], () => [[{}, watch.clients()]])
  counter(registry, 'hearsay_watch_clients_dropped_total', 'Watch streams closed because the client did not keep up.', [], () => [[{}, watch.dropped()]])
  gauge(registry, 'hearsay_api_streams', 'Open event streams by kind (watch, dashboard, events, monitor): they share one budget, hearsay_api_streams_max.', ['kind'],
    () => { const open = limits().streams.byKind; return STREAM_KINDS.map((kind) => [{ kind }, open[kind]] as const) })
  gauge(registry, 'hearsay_api_streams_max', 'Most event streams this API serves at once (maxStreams).', [], () => [[{}, limits().streams.max]])
  counter(registry, 'hearsay_api_streams_refused_total', 'Event streams refused with 503 ERR_TOO_MANY_STREAMS because the budget was spent.', [], () => [[{}, limits().streams.refused]])
  counter(registry, 'hearsay_api_streams_dropped_total', 'Event streams closed because the client did not keep up, by kind (events counts /v1/events and /v1/monitor).', ['kind'],
    () => Object.entries(limits().streams.dropped).map(([kind, n]) => [{ kind }, n] as const))
  counter(registry, 'hearsay_api_rate_limited_total', 'Requests answered 429 ERR_RATE_LIMITED: the client was over its rate.', [], () => [[{}, limits().rateLimited]])
  registerEventMetrics(registry, peer)

  return {
    registry,
    contentType: registry.contentType,
    async scrape () {
      const [libp2p, own] = await Promise.all([peer.metrics.metrics(), registry.metrics()])
      return libp2p === '' ? own : `${libp2p.endsWith('\n') ? libp2p : `${libp2p}\n`}${own}`
    }
  }
}

export function countMembers (peer: Pick<Peer, 'members'>): Record<typeof MEMBER_STATES[number], number> {
  const counts = { alive: 0, suspect: 0, dead: 0, left: 0 }
  for (const member of peer.members()) counts[member.state]++
  return counts
}

/**
 * Runs are kept in the store as the last N per job, not as a total, so the counter adds the
 * runs it has not seen before at each scrape: monotonic, as a counter must be.
 */
function jobRunCounter (peer: Peer): () => Array<Sample<'job' | 'outcome'>> {
  const totals = new Map<string, Map<string, number>>()
  const seen = new Map<string, Set<string>>()
  return () => {
    for (const job of peer.jobs.list()) {
      const before = seen.get(job.name) ?? new Set<string>()
      const now = new Set<string>()
      const byOutcome = totals.get(job.name) ?? new Map<string, number>(JOB_OUTCOMES.map((o) => [o, 0]))
      for (const run of job.runs) {
        const id = `${run.peer}/${run.term}/${run.start}`
        now.add(id)
        if (!before.has(id)) byOutcome.set(run.outcome, (byOutcome.get(run.outcome) ?? 0) + 1)
      }
      seen.set(job.name, now)
      totals.set(job.name, byOutcome)
    }
    const samples: Array<Sample<'job' | 'outcome'>> = []
    for (const [job, byOutcome] of totals) {
      for (const [outcome, value] of byOutcome) samples.push([{ job, outcome }, value])
    }
    return samples
  }
}
