/** `hearsay watch [PREFIX]`: every change under a prefix, until Ctrl-C; resumes after a lost connection. */
import { follow } from './follow.js'
import type { ClientFlags } from './client.js'
import type { Output } from './output.js'

export interface WatchFlags extends ClientFlags {
  /** Print the current entries first. */
  snapshot?: boolean
}

function show (value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

export async function watchCommand (prefix: string | undefined, flags: WatchFlags, output: Output): Promise<void> {
  const json = flags.json === true
  const what = prefix === undefined || prefix === '' ? 'every key' : `keys under ${JSON.stringify(prefix)}`
  await follow({
    flags,
    output,
    path: ({ first }) => `/v1/watch?prefix=${encodeURIComponent(prefix ?? '')}${first && flags.snapshot === true ? '&snapshot=true' : ''}`,
    onOpen: ({ url, reconnected, resumeFrom }) => {
      if (reconnected) output.err(`reconnected to ${url}${resumeFrom === undefined ? '' : `, resuming after event ${resumeFrom}`}`)
      else if (!json) output.err(`watching ${what} at ${url}; Ctrl-C to stop`)
    },
    onEvent: (event) => {
      if (event.event === 'change') {
        const change = JSON.parse(event.data) as { key: string, value?: unknown, origin: string }
        output.out(json ? event.data : change.value === undefined ? `${change.key} deleted (${change.origin})` : `${change.key} = ${show(change.value)} (${change.origin})`)
      } else if (event.event === 'entry') {
        const entry = JSON.parse(event.data) as { key: string, value: unknown }
        output.out(json ? JSON.stringify({ ...entry, origin: 'snapshot' }) : `${entry.key} = ${show(entry.value)} (snapshot)`)
      } else if (event.event === 'snapshot-end') {
        const end = JSON.parse(event.data) as { entries: number }
        output.err(`snapshot: ${end.entries} ${end.entries === 1 ? 'entry' : 'entries'}; changes follow`)
      } else if (event.event === 'reset') {
        const reset = JSON.parse(event.data) as { reason: string }
        output.err(`the peer could not replay what was missed (${reset.reason}): starting again from a snapshot`)
      }
    }
  })
}
