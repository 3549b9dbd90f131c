/** `hearsay join`, `leave`, `force-leave`, `tags set|delete`: membership while the peer runs. */
import { clientFor, type ClientFlags } from './client.js'
import type { Output } from './output.js'
import { HearsayError } from '../errors.js'

export class JoinFailedError extends HearsayError {
  constructor (count: number) {
    super('ERR_JOIN_FAILED', `none of the ${count} address(es) answered: check them (hearsay status on that peer prints its addresses)`)
  }
}

export async function joinCommand (addresses: string[], flags: ClientFlags, output: Output): Promise<void> {
  const api = await clientFor(flags)
  const body = await api.request<{ joined: number, results: Array<{ address: string, peerId?: string, error?: string }> }>('POST', '/v1/join', { addresses })
  if (flags.json === true) output.out(JSON.stringify(body))
  else {
    for (const r of body.results) output.out(r.peerId === undefined ? `${r.address}: failed (${r.error ?? 'no answer'})` : `${r.address}: joined through ${r.peerId}`)
    output.out(`joined through ${body.joined} of ${body.results.length}`)
  }
  if (body.joined === 0) throw new JoinFailedError(body.results.length)
}

export async function leaveCommand (flags: ClientFlags, output: Output): Promise<void> {
  const api = await clientFor(flags)
  const body = await api.request<{ leaving: boolean, peerId: string }>('POST', '/v1/leave')
  output.out(flags.json === true ? JSON.stringify(body) : `${body.peerId} is leaving: it tells the other members, then stops`)
}

export async function forceLeaveCommand (peerId: string, flags: ClientFlags, output: Output): Promise<void> {
  const api = await clientFor(flags)
  const member = await api.request<{ peerId: string, state: string, incarnation: number }>('POST', `/v1/members/${encodeURIComponent(peerId)}/force-leave`)
  output.out(flags.json === true ? JSON.stringify(member) : `${member.peerId} is ${member.state} here now (incarnation ${member.incarnation}); the other members hear it next (a live member refutes it)`)
}

export async function tagsCommand (set: Record<string, string>, remove: string[], flags: ClientFlags, output: Output): Promise<void> {
  const api = await clientFor(flags)
  const body = await api.request<{ tags: Record<string, string> }>('PUT', '/v1/tags', { set, delete: remove })
  const text = Object.entries(body.tags).map(([k, v]) => `${k}=${v}`).join(' ')
  output.out(flags.json === true ? JSON.stringify(body) : `tags: ${text === '' ? '(none)' : text}`)
}
