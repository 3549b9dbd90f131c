/** `hearsay monitor` (the peer's log lines) and `hearsay watch --events` (its member, leader and other events). */
import { follow } from './follow.js'
import { formatUserEvent } from './events.js'
import type { UserEvent } from '../events/index.js'
import type { ClientFlags } from './client.js'
import type { LogLevel, Output } from './output.js'

const LEVEL_NAMES: Readonly<Record<number, string>> = { 60: 'FATAL', 50: 'ERROR', 40: 'WARN', 30: 'INFO', 20: 'DEBUG', 10: 'TRACE' }
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg'])

/** One pino JSON line as a person reads it: `12:00:01.234 INFO  membership: member … joined; 3 alive (alive=3)`. */
export function formatLogLine (json: string): string {
  let line: Record<string, unknown>
  try {
    line = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json
  }
  const time = typeof line.time === 'number' ? new Date(line.time).toISOString().slice(11, 23) : '-'
  const level = (LEVEL_NAMES[Number(line.level)] ?? String(line.level)).padEnd(5)
  const component = typeof line.component === 'string' ? `${line.component}: ` : ''
  const extra = Object.entries(line).filter(([k]) => !HIDDEN.has(k)).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
  return `${time} ${level} ${component}${String(line.msg ?? '')}${extra.length === 0 ? '' : `  (${extra.join(' ')})`}`
}

export async function monitorCommand (flags: ClientFlags & { logLevel?: LogLevel }, output: Output): Promise<void> {
  const level = flags.logLevel ?? 'info'
  await follow({
    flags,
    output,
    path: () => `/v1/monitor?level=${level}`,
    onOpen: ({ url, reconnected }) => {
      if (reconnected) output.err(`reconnected to ${url}; lines logged meanwhile are not shown`)
      else if (flags.json !== true) output.err(`following the log of ${url} at ${level} and above; Ctrl-C to stop`)
    },
    onEvent: (event) => {
      if (event.event === 'log') output.out(flags.json === true ? event.data : formatLogLine(event.data))
    }
  })
}

function describeEvent (type: string, data: Record<string, unknown>): string {
  if (type === 'member') {
    const member = data.member as { peerId: string, state: string, incarnation: number }
    return `member ${String(data.change)}: ${member.peerId} is ${member.state} (incarnation ${member.incarnation})`
  }
  if (type === 'leader') {
    const leader = data.leader as { peerId: string, term: number } | null
    return leader === null ? 'leader: none (an election is running)' : `leader: ${leader.peerId} (term ${leader.term})`
  }
  return `${type}: ${JSON.stringify(data)}`
}

export async function eventsCommand (flags: ClientFlags & { type?: string[] }, output: Output): Promise<void> {
  const types = flags.type ?? []
  await follow({
    flags,
    output,
    path: () => `/v1/events${types.length === 0 ? '' : `?${types.map((t: string) => `type=${encodeURIComponent(t)}`).join('&')}`}`,
    onOpen: ({ url, reconnected }) => {
      if (reconnected) output.err(`reconnected to ${url}; events meanwhile are not shown`)
      else if (flags.json !== true) output.err(`following ${types.length === 0 ? 'every event' : types.join(', ') + ' events'} of ${url}; Ctrl-C to stop`)
    },
    onEvent: (event) => {
      const data = JSON.parse(event.data) as Record<string, unknown>
      if (flags.json === true) output.out(JSON.stringify({ type: event.event, ...data }))
      else if (event.event === 'user') output.out(formatUserEvent(data as unknown as UserEvent))
      else output.out(`${new Date().toISOString().slice(11, 23)} ${describeEvent(event.event, data)}`)
    }
  })
}
