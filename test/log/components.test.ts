import { describe, it, expect, afterEach } from 'vitest'
import { pino } from 'pino'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { encodeMessage, MEMBERSHIP_PROTOCOL_VERSION } from '../../src/membership/index.js'
import { createNetNode, type NetNode } from '../../src/net/index.js'

interface Line { level: number, component?: string, msg: string, [k: string]: unknown }

/** A real pino logger whose JSON lines land in an array. */
function capture (): { logger: pino.Logger, lines: Line[] } {
  const lines: Line[] = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Line) } })
  return { logger, lines }
}

describe('logs: one pino logger per component', () => {
  let cluster: Cluster | undefined
  let attacker: NetNode | undefined
  afterEach(async () => {
    await attacker?.stop()
    await cluster?.stop()
    cluster = undefined
    attacker = undefined
  })

  it('every part logs under its own component; garbage from the network is a rate-limited warning', async () => {
    const first = capture()
    const second = capture()
    cluster = await createCluster({ size: 2, peers: [{ logger: first.logger }, { logger: second.logger }] })
    await cluster.converged({ timeout: 20_000 })
    const peer = cluster.peers[0]!
    await expect.poll(() => peer.leader(), { timeout: 20_000 }).toBeDefined()
    await expect.poll(() => first.lines.some((l) => l.component === 'election' && /^coordinator /.test(l.msg)), { timeout: 10_000 }).toBe(true)

    const has = (component: string, pattern: RegExp): boolean => first.lines.some((l) => l.component === component && pattern.test(l.msg))
    expect(has('net', /^listening on/)).toBe(true)
    expect(has('replica', /^replayed the log/)).toBe(true)
    expect(has('peer', /^peer started/)).toBe(true)
    expect(has('membership', new RegExp(`^member ${cluster.peers[1]!.peerId} joined`))).toBe(true)
    expect(first.lines.filter((l) => l.component === undefined)).toEqual([])

    attacker = await createNetNode({}, { network: cluster.network, profile: 'local' })
    await attacker.start()
    const protocol = attacker.protocol('membership', MEMBERSHIP_PROTOCOL_VERSION)
    const garbage = 25
    for (let i = 0; i < garbage; i++) {
      const stream = await attacker.openStream(peer.peerId, protocol, { addresses: peer.addresses() })
      stream.send(new Uint8Array([0xff, 0xff, 0xff, i]))
      await stream.next({ timeout: 5_000 }).catch(() => undefined)
      stream.abort()
    }
    await expect.poll(() => peer.diagnostics.stats().membership.malformed, { timeout: 10_000 }).toBeGreaterThanOrEqual(garbage)
    const warnings = first.lines.filter((l) => l.component === 'membership' && l.msg === 'dropped a malformed membership message')
    expect(warnings.length).toBe(10)
    expect(warnings.every((w) => w.level === 40 && w.from === attacker!.peerId && typeof w.reason === 'string')).toBe(true)

    // A graceful stop is an info line on the other peer, with the count of alive members.
    await peer.stop()
    expect(first.lines.some((l) => l.component === 'peer' && l.msg === 'peer stopped')).toBe(true)
    await expect.poll(() => second.lines.some((l) => l.component === 'membership' && l.level === 30 && l.msg === `member ${peer.peerId} left; 1 alive`), { timeout: 10_000 }).toBe(true)
  })
})
