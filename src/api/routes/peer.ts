import { performance } from 'node:perf_hooks'
import { NoLeaderError } from '../errors.js'
import { countMembers } from '../metrics.js'
import { healthSchema, jobsSchema, leaderSchema, membersSchema, statusSchema } from '../schemas.js'
import type { RouteContext } from './context.js'
import { VERSION } from '../../version.js'

/** /health, /v1/status, /v1/members, /v1/leader, /v1/jobs */
export function registerPeerRoutes ({ app, peer, builtAt, limitStats }: RouteContext): void {
  app.get('/health', { schema: healthSchema }, async () => ({ ok: true, peerId: peer.peerId }))

  app.get('/v1/status', { schema: statusSchema }, async () => {
    const kv = peer.kv
    const stats = peer.diagnostics.stats()
    return {
      peerId: peer.peerId,
      network: peer.network,
      version: VERSION,
      protocols: peer.net.protocols(),
      addresses: peer.addresses(),
      connections: peer.net.connections(),
      members: countMembers(peer),
      leader: peer.leader() ?? null,
      term: peer.election.term(),
      keys: kv.size(),
      digest: kv.digest(),
      clock: kv.versionVector(),
      uptimeMs: Math.round(performance.now() - builtAt),
      stats: {
        kv: stats.kv,
        membership: stats.membership,
        election: stats.election,
        events: stats.events,
        observe: stats.observe,
        api: limitStats()
      }
    }
  })

  app.get<{ Querystring: { state?: string[], tag?: string[] } }>('/v1/members', { schema: membersSchema }, async (request) => {
    const { state, tag } = request.query
    const wanted = (tag ?? []).map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)] as const)
    return peer.members().filter((m) => (state === undefined || state.includes(m.state)) &&
      wanted.every(([k, v]) => Object.hasOwn(m.tags, k) && m.tags[k] === v))
  })

  app.get('/v1/leader', { schema: leaderSchema }, async () => {
    const leader = peer.leader()
    if (leader === undefined) throw new NoLeaderError()
    return leader
  })

  app.get('/v1/jobs', { schema: jobsSchema }, async () => ({ jobs: peer.jobs.list() }))
}
