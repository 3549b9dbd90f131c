import { clientFor as client, keyPath, type ClientFlags } from './client.js'
import { table, since } from './table.js'
import type { Output } from './output.js'
import { ClientKeyNotFoundError } from './errors.js'
import type { ConvergenceReport } from '../observe/index.js'
import { formatConvergence } from './observe.js'

interface Member {
  peerId: string
  addresses: string[]
  state: string
  incarnation: number
  priority: number
  tags: Record<string, string>
  version: string
  protocols: string[]
  lastHeard: number
  self: boolean
}
interface Versioned { value: unknown, author: string, hlc: { wall: number, logical: number }, dot: { replica: string, seq: number } }

function print (output: Output, flags: ClientFlags, json: unknown, human: () => string): void {
  output.out(flags.json === true ? JSON.stringify(json) : human())
}

/** A VALUE on the command line is JSON when it parses as JSON, and a string otherwise. */
export function parseValue (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function show (value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

export async function putCommand (key: string, value: string, flags: ClientFlags & { if?: string, ifAbsent?: boolean }, output: Output): Promise<void> {
  const api = await client(flags)
  const conditions = {
    ...(flags.if === undefined ? {} : { 'if-match': flags.if }),
    ...(flags.ifAbsent === true ? { 'if-none-match': '*' } : {})
  }
  const receipt = await api.request<{ key: string, dot: { replica: string, seq: number } }>('PUT', keyPath(key), parseValue(value), conditions)
  print(output, flags, receipt, () => `ok: ${key} written as ${receipt.dot.replica.slice(-8)}/${receipt.dot.seq} (durable)`)
}

export async function getCommand (key: string, flags: ClientFlags & { versions?: boolean }, output: Output): Promise<void> {
  const api = await client(flags)
  let body: { key: string, value: unknown, type?: string, version?: string, versions?: Versioned[] }
  try {
    body = await api.request('GET', keyPath(key) + (flags.versions === true ? '?versions=true' : ''))
  } catch (err) {
    if ((err as { status?: number }).status === 404) throw new ClientKeyNotFoundError(key)
    throw err
  }
  print(output, flags, body, () => {
    // A register prints its value alone (what scripts read); a counter or a set says what it is.
    if (flags.versions !== true || body.versions === undefined) return body.type === undefined || body.type === 'register' ? show(body.value) : `${show(body.value)}  (${body.type})`
    return table(['VALUE', 'AUTHOR', 'SEQ', 'WRITTEN'], body.versions.map((v) => [
      show(v.value), v.author, String(v.dot.seq), new Date(v.hlc.wall).toISOString()
    ]))
  })
}

interface TypedReply { key: string, type: string | null, value: unknown, changed: boolean, dot?: { replica: string, seq: number } }

function showTyped (reply: TypedReply): string {
  const write = reply.dot === undefined ? 'nothing to change' : `written as ${reply.dot.replica.slice(-8)}/${reply.dot.seq} (durable)`
  return `${reply.key} = ${show(reply.value)} (${reply.type ?? 'empty'}); ${write}`
}

/** `hearsay incr KEY [BY]` and `hearsay decr KEY [BY]`: BY is a positive number, 1 by default. */
export async function counterCommand (key: string, by: number, direction: 1 | -1, flags: ClientFlags, output: Output): Promise<void> {
  const api = await client(flags)
  const reply = await api.request<TypedReply>('POST', `/v1/counter/${encodeURIComponent(key)}`, { by: by * direction })
  print(output, flags, reply, () => showTyped(reply))
}

/** `hearsay set add KEY ELEMENT`, `hearsay set rm KEY ELEMENT`: ELEMENT is JSON, or else a string. */
export async function setCommand (op: 'add' | 'remove', key: string, element: string, flags: ClientFlags, output: Output): Promise<void> {
  const api = await client(flags)
  const reply = await api.request<TypedReply>('POST', `/v1/set/${encodeURIComponent(key)}`, { [op]: parseValue(element) })
  print(output, flags, reply, () => showTyped(reply))
}

export async function delCommand (key: string, flags: ClientFlags, output: Output): Promise<void> {
  const api = await client(flags)
  const body = await api.request<{ key: string, deleted: boolean }>('DELETE', keyPath(key))
  print(output, flags, body, () => body.deleted ? `deleted ${key}` : `${key} had no value`)
}

export async function lsCommand (prefix: string | undefined, flags: ClientFlags & { keys?: boolean, limit?: number, after?: string }, output: Output): Promise<void> {
  const api = await client(flags)
  const query = new URLSearchParams({ prefix: prefix ?? '' })
  if (flags.keys === true) query.set('keys', 'true')
  if (flags.limit !== undefined) query.set('limit', String(flags.limit))
  if (flags.after !== undefined) query.set('after', flags.after)
  const body = await api.request<{ entries?: Array<{ key: string, value: unknown }>, keys?: string[], next?: string }>('GET', `/v1/kv?${query.toString()}`)
  print(output, flags, body, () => {
    const rows = body.keys !== undefined ? body.keys.join('\n') : body.entries?.length === 0 ? '' : table(['KEY', 'VALUE'], (body.entries ?? []).map((e) => [e.key, show(e.value)]))
    const empty = (body.keys ?? body.entries ?? []).length === 0
    // A full page says how to ask for the next one.
    const more = body.next === undefined ? '' : `\n(more: --after ${JSON.stringify(body.next)})`
    return (empty ? '(no keys)' : rows) + more
  })
}

export async function membersCommand (flags: ClientFlags & { state?: string[], tag?: Record<string, string> }, output: Output): Promise<void> {
  const api = await client(flags)
  const query = [
    ...(flags.state ?? []).map((s) => `state=${encodeURIComponent(s)}`),
    ...Object.entries(flags.tag ?? {}).map(([k, v]) => `tag=${encodeURIComponent(`${k}=${v}`)}`)
  ]
  const body = await api.request<Member[] | { members: Member[] }>('GET', `/v1/members${query.length === 0 ? '' : `?${query.join('&')}`}`)
  const members = Array.isArray(body) ? body : body.members
  print(output, flags, members, () => members.length === 0
    ? '(no members match)'
    : table(['PEER ID', 'STATE', 'INC', 'PRIORITY', 'VERSION', 'TAGS', 'LAST HEARD', 'ADDRESS'], members.map((m) => [
      m.peerId + (m.self ? ' (self)' : ''), m.state, String(m.incarnation), String(m.priority), m.version === '' ? '?' : m.version,
      Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(',') || '-', m.self ? '-' : since(m.lastHeard), m.addresses[0] ?? ''
    ])))
}

export async function leaderCommand (flags: ClientFlags, output: Output): Promise<void> {
  const api = await client(flags)
  const body = await api.request<{ peerId: string, term: number }>('GET', '/v1/leader')
  print(output, flags, body, () => `${body.peerId} (term ${body.term})`)
}

export async function statusCommand (flags: ClientFlags, output: Output): Promise<void> {
  const api = await client(flags)
  const [status, convergence] = await Promise.all([
    api.request<Record<string, unknown>>('GET', '/v1/status'),
    api.request<ConvergenceReport>('GET', '/v1/convergence')
  ])
  const body: Record<string, unknown> = { ...status, convergence }
  print(output, flags, body, () => {
    const leader = body.leader as { peerId: string, term: number } | undefined | null
    const members = body.members as Record<string, number> | undefined
    const lines = [
      `peer:      ${String(body.peerId)}`,
      `network:   ${String(body.network)}`,
      `version:   ${String(body.version)} (speaks ${((body.protocols as string[] | undefined) ?? []).join(', ')})`,
      `leader:    ${leader == null ? '(none)' : `${leader.peerId} (term ${leader.term})`}`,
      `members:   ${members === undefined ? '?' : Object.entries(members).map(([s, n]) => `${n} ${s}`).join(', ')}`,
      `keys:      ${String(body.keys)}`,
      `digest:    ${String(body.digest)}`,
      `uptime:    ${Math.round(Number(body.uptimeMs) / 1000)}s`,
      'addresses:',
      ...((body.addresses as string[] | undefined) ?? []).map((a) => `  ${a}`),
      formatConvergence(convergence)
    ]
    return lines.join('\n')
  })
}

export async function jobsCommand (flags: ClientFlags, output: Output): Promise<void> {
  const api = await client(flags)
  const body = await api.request<{ jobs: Array<{ name: string, every: number, quorum: boolean, runs: Array<{ peer: string, term: number, start: number, end: number, outcome: string, error?: string }> }> }>('GET', '/v1/jobs')
  print(output, flags, body, () => body.jobs.length === 0
    ? '(no jobs)'
    : table(['JOB', 'EVERY', 'QUORUM', 'RUNS', 'LAST RUN', 'OUTCOME', 'ON'], body.jobs.map((j) => {
      const last = j.runs.at(-1)
      return [j.name, `${j.every}ms`, j.quorum ? 'yes' : 'no', String(j.runs.length), last === undefined ? '-' : since(last.end),
        last === undefined ? '-' : last.outcome + (last.error === undefined ? '' : `: ${last.error}`), last === undefined ? '-' : `${last.peer} (term ${last.term})`]
    })))
}
