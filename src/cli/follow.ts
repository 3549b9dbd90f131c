/**
 * Following a server-sent-events stream of the peer's API until Ctrl-C (`watch`, `monitor`,
 * `events`). A stream that breaks after it was open is reopened by itself, with backoff, and says
 * so on stderr; when the stream carries ids, the reopened one resumes after the last event seen
 * (`Last-Event-ID`). The peer's address and token are read again for each attempt, so a peer
 * that restarted on another port is found again. A stream that cannot be opened at all, or a
 * refusal (a bad token, a bad request), ends the command with exit 1.
 */
import { connect } from './client.js'
import { ClientApiError } from './errors.js'
import type { ClientFlags } from './client.js'
import type { Output } from './output.js'

/** One server-sent event. */
export interface SseEvent {
  event: string
  id?: string
  data: string
}

export interface FollowOptions {
  flags: ClientFlags
  output: Output
  /** The path to ask for; `resumeFrom` is the id of the last event seen, if any. */
  path: (attempt: { first: boolean, resumeFrom: string | undefined }) => string
  /** Called once the stream is open (again). */
  onOpen?: (info: { url: string, reconnected: boolean, resumeFrom: string | undefined }) => void
  onEvent: (event: SseEvent) => void
  /** First and longest wait between attempts to reopen. @default 250, 10_000 (ms) */
  minDelayMs?: number
  maxDelayMs?: number
}

/** Splits SSE text into events; returns them and the incomplete rest. */
export function parseSse (text: string): { events: SseEvent[], rest: string } {
  const events: SseEvent[] = []
  let rest = text
  let end
  while ((end = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, end)
    rest = rest.slice(end + 2)
    let event = 'message'
    let id: string | undefined
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'event') event = value
      else if (field === 'id') id = value
      else if (field === 'data') data.push(value)
    }
    if (data.length === 0 && id === undefined) continue
    events.push({ event, ...(id === undefined ? {} : { id }), data: data.join('\n') })
  }
  return { events, rest }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
async function pause (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

/** A refusal that reconnecting cannot fix. */
function isFinal (err: unknown): boolean {
  return err instanceof ClientApiError && err.status >= 400 && err.status < 500
}

export async function follow (options: FollowOptions): Promise<void> {
  const { flags, output } = options
  const minDelay = options.minDelayMs ?? 250
  const maxDelay = options.maxDelayMs ?? 10_000
  const controller = new AbortController()
  const stop = (): void => { controller.abort() }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let lastId: string | undefined
  let opened = false
  let delay = minDelay
  try {
    while (!controller.signal.aborted) {
      try {
        const api = await connect({ ...(flags.api === undefined ? {} : { api: flags.api }), data: flags.data, env: process.env })
        const path = options.path({ first: !opened, resumeFrom: lastId })
        const response = await api.stream(path, controller.signal, lastId === undefined ? {} : { 'last-event-id': lastId })
        options.onOpen?.({ url: api.url, reconnected: opened, resumeFrom: lastId })
        opened = true
        delay = minDelay
        const decoder = new TextDecoder()
        let buffer = ''
        for await (const chunk of response.body ?? []) {
          const parsed = parseSse(buffer + decoder.decode(chunk as Uint8Array, { stream: true }))
          buffer = parsed.rest
          for (const event of parsed.events) {
            if (event.id !== undefined) lastId = event.id
            options.onEvent(event)
          }
        }
        if (controller.signal.aborted) break
        output.err(`the peer ended the stream; reopening in ${delay} ms`)
      } catch (err) {
        if (controller.signal.aborted) break
        if (!opened || isFinal(err)) throw err
        output.err(`lost the stream (${(err as Error).message}); reopening in ${delay} ms`)
      }
      await pause(delay, controller.signal)
      delay = Math.min(delay * 2, maxDelay)
    }
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}
