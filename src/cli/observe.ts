/** `hearsay trace KEY`, and the convergence part of `hearsay status`. */
import { clientFor as client, type ClientFlags } from './client.js'
import { table, since } from './table.js'
import type { Output } from './output.js'
import type { ConvergenceReport, TraceReport } from '../observe/index.js'

function time (ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().slice(11, 23)
}

/** Shortens a PeerId for a table: enough to tell peers apart, the whole id is in --json. */
function short (peerId: string | undefined): string {
  return peerId === undefined ? '-' : peerId.length <= 16 ? peerId : `…${peerId.slice(-12)}`
}

export function formatTrace (trace: TraceReport): string {
  const lines = [
    `key:      ${trace.key}`,
    `write:    ${trace.traceId} (${trace.op}) by ${trace.author}`,
    `made at:  ${new Date(trace.writtenAt).toISOString()}`,
    '',
    table(['PEER', 'STATUS', 'PATH', 'FROM', 'APPLIED AT', 'AFTER'], trace.peers.map((p) => [
      p.peerId + (p.peerId === trace.author ? ' (author)' : ''),
      p.status,
      p.path ?? '-',
      p.from === undefined ? '-' : p.from === p.peerId ? 'itself' : short(p.from),
      time(p.appliedAt),
      p.afterMs === undefined ? (p.error ?? '-') : `+${Math.round(p.afterMs)} ms`
    ])),
    ''
  ]
  const asked = trace.peers.length
  if (trace.propagationMs !== null) lines.push(`every peer asked (${asked}) had it ${Math.round(trace.propagationMs)} ms after it was made`)
  else if (trace.complete) lines.push(`every peer asked (${asked}) has it; some no longer remember when it came`)
  else {
    const missing = trace.peers.filter((p) => p.status === 'missing').map((p) => p.peerId)
    if (missing.length > 0) lines.push(`not yet on: ${missing.join(', ')}`)
    if (trace.unanswered.length > 0) lines.push(`did not answer: ${trace.unanswered.join(', ')}`)
  }
  lines.push('(times are each peer\'s own clock: across hosts only as good as their clock sync)')
  return lines.join('\n')
}

export async function traceCommand (key: string, flags: ClientFlags & { timeout?: number }, output: Output): Promise<void> {
  const api = await client(flags)
  const query = flags.timeout === undefined ? '' : `?timeout=${flags.timeout}`
  const trace = await api.request<TraceReport>('GET', `/v1/trace/${encodeURIComponent(key)}${query}`)
  output.out(flags.json === true ? JSON.stringify(trace) : formatTrace(trace))
}

export function formatConvergence (report: ConvergenceReport): string {
  const others = report.members.filter((m) => !m.self)
  const headline = report.converged
    ? `converged: yes (every member alive or suspect last reported digest ${report.digest.slice(0, 12)}… and lacks no write)`
    : 'converged: no (see the members below)'
  if (others.length === 0) return `${headline}\n(no other members)`
  return [headline, table(['MEMBER', 'STATE', 'LAG', 'OLDEST MISSING', 'IN SYNC', 'LAST REPORT'], others.map((m) => [
    m.peerId,
    m.state,
    m.lagEntries === null ? 'unknown' : `${m.lagEntries} writes`,
    m.oldestMissingMs === null ? '-' : m.oldestMissingMs === 0 ? '-' : `${(m.oldestMissingMs / 1000).toFixed(1)} s`,
    m.inSync ? 'yes' : 'no',
    m.reportedAt === null ? 'never' : `${since(m.reportedAt, report.at)} (${m.source ?? '-'})`
  ]))].join('\n')
}
