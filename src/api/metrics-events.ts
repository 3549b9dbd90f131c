/** hearsay_* metrics of user events and queries, read from `peer.events.stats()` at scrape time. */
import type { Registry } from 'prom-client'
import type { Peer, PeerStats } from '../peer.js'
import { counter } from './metrics.js'

/** Why a received event, query or answer was dropped: the stats field behind each `reason` label. */
const DROP_REASONS = [
  ['duplicate', 'duplicates'],
  ['oversized', 'oversized'],
  ['unsigned', 'unsigned'],
  ['bad_signature', 'badSignature'],
  ['malformed', 'malformed'],
  ['stale', 'stale'],
  ['rate_limited', 'rateLimited'],
  ['busy', 'busy']
] as const

export function registerEventMetrics (registry: Registry, peer: Peer): void {
  const stats = (): PeerStats['events'] => peer.diagnostics.stats().events
  counter(registry, 'hearsay_user_events_total', 'User events this peer sent, and received from other members (each once).', ['direction'], () => {
    const s = stats()
    return [[{ direction: 'sent' }, s.eventsSent], [{ direction: 'received' }, s.eventsReceived]]
  })
  counter(registry, 'hearsay_user_queries_total', 'Queries this peer sent, and accepted from other members.', ['direction'], () => {
    const s = stats()
    return [[{ direction: 'sent' }, s.queriesSent], [{ direction: 'received' }, s.queriesReceived]]
  })
  counter(registry, 'hearsay_user_query_answers_total',
    'Answers to queries: sent by this peer, received in time, received late (after the query ended), and failed (this peer could not answer in time or reach the asker).',
    ['outcome'], () => {
      const s = stats()
      return [[{ outcome: 'sent' }, s.answersSent], [{ outcome: 'received' }, s.answersReceived], [{ outcome: 'late' }, s.answersLate], [{ outcome: 'failed' }, s.answersFailed]]
    })
  counter(registry, 'hearsay_user_messages_dropped_total', 'User events, queries and answers dropped on receipt, by reason.', ['reason'], () => {
    const s = stats()
    return DROP_REASONS.map(([reason, field]) => [{ reason }, s[field]] as const)
  })
}
