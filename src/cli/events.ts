/** `hearsay event`, `hearsay query` and `hearsay watch --events`. */
import { InvalidArgumentError } from 'commander'
import { clientFor as client, type ClientFlags } from './client.js'
import { parseValue } from './commands.js'
import { table } from './table.js'
import type { Output } from './output.js'
import type { EventReceipt, QueryResult, UserEvent } from '../events/index.js'

/** The longest a query may wait (ms); the same bound the peer applies. */
const MAX_QUERY_TIMEOUT = 60_000
/** What the client allows on top of the query's own timeout for the answer to come back (ms). */
const ANSWER_SLACK_MS = 10_000

function show (value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** Shortens a PeerId for a line of text: enough to tell peers apart, the whole id is in --json. */
function short (peerId: string): string {
  return peerId.length <= 16 ? peerId : `…${peerId.slice(-12)}`
}

export function parseQueryTimeout (value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_QUERY_TIMEOUT) {
    throw new InvalidArgumentError(`--timeout must be a whole number of ms from 1 to ${MAX_QUERY_TIMEOUT}, not ${JSON.stringify(value)}`)
  }
  return Number(value)
}

function namePath (route: 'events' | 'queries', name: string): string {
  return `/v1/${route}/${encodeURIComponent(name)}`
}

export async function eventCommand (name: string, payload: string | undefined, flags: ClientFlags, output: Output): Promise<void> {
  const api = await client(flags)
  const receipt = await api.request<EventReceipt>('POST', namePath('events', name), payload === undefined ? undefined : parseValue(payload))
  output.out(flags.json === true
    ? JSON.stringify(receipt)
    : `ok: event ${receipt.name} sent (id ${receipt.id}), handed to ${receipt.recipients} peer${receipt.recipients === 1 ? '' : 's'}; every member gets it once`)
}

export function formatQuery (result: QueryResult): string {
  const lines = [
    result.responses.length === 0
      ? '(no answers)'
      : table(['PEER', 'ANSWER'], result.responses.map((r) => [r.peerId, 'error' in r ? `error: ${r.error}` : show(r.payload)]))
  ]
  lines.push(result.missing.length === 0
    ? `every member answered (${result.responses.length})`
    : `${result.responses.length} answered; no answer from ${result.missing.length}: ${result.missing.join(', ')}`)
  return lines.join('\n')
}

export async function queryCommand (name: string, payload: string | undefined, flags: ClientFlags & { timeout?: number }, output: Output): Promise<void> {
  const api = await client(flags)
  const query = flags.timeout === undefined ? '' : `?timeout=${flags.timeout}`
  const result = await api.request<QueryResult>('POST', namePath('queries', name) + query, payload === undefined ? undefined : parseValue(payload), undefined, {
    timeoutMs: (flags.timeout ?? MAX_QUERY_TIMEOUT) + ANSWER_SLACK_MS
  })
  output.out(flags.json === true ? JSON.stringify(result) : formatQuery(result))
}

export function formatUserEvent (event: UserEvent): string {
  return `${new Date(event.at).toISOString().slice(11, 23)} ${event.name} from ${short(event.from)}: ${show(event.payload)}`
}
