import { describe, it, expect, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseSse } from '../../src/cli/follow.js'
import { follow, run, startPeer, type StartedPeer } from './processes.js'

const dirs: string[] = []
const peers: StartedPeer[] = []
afterAll(async () => {
  for (const p of peers) await p.stop()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

describe('hearsay watch (real processes)', () => {
  it('prints changes; when the peer goes away and comes back, it reconnects by itself, says so, and catches up', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-cli-watch-'))
    dirs.push(dir)
    const data = join(dir, 'p')
    const first = await startPeer(['--data', data])
    peers.push(first)
    expect((await run(['put', 'w/before', '0', '--data', data])).code).toBe(0)
    const watch = follow(['watch', 'w/', '--snapshot', '--json', '--data', data])
    await expect.poll(() => watch.out.length, { timeout: 10_000 }).toBe(1)
    expect(JSON.parse(watch.out[0]!)).toEqual({ key: 'w/before', value: 0, origin: 'snapshot' })
    expect((await run(['put', 'w/1', '"one"', '--data', data])).code).toBe(0)
    expect((await run(['put', 'elsewhere', '1', '--data', data])).code).toBe(0)
    await expect.poll(() => watch.out.length, { timeout: 10_000 }).toBe(2)
    expect(JSON.parse(watch.out[1]!)).toEqual({ key: 'w/1', value: 'one', origin: 'local' })

    // The peer stops; the watch keeps trying, and says so.
    expect(await first.stop()).toBe(0)
    await expect.poll(() => watch.err.some((l) => /lost the stream|ended the stream/.test(l)), { timeout: 10_000 }).toBe(true)
    expect(watch.child.exitCode).toBeNull()
    // Back on the same data dir (another port): a new API cannot replay, so a reset and a snapshot.
    const second = await startPeer(['--data', data])
    peers.push(second)
    await expect.poll(() => watch.err.some((l) => l.startsWith('reconnected to')), { timeout: 20_000 }).toBe(true)
    // It asked to resume after the last event it had seen.
    expect(watch.err.find((l) => l.startsWith('reconnected to'))).toMatch(/resuming after event [0-9a-f]+-\d+$/)
    await expect.poll(() => watch.err.some((l) => l.includes('starting again from a snapshot')), { timeout: 10_000 }).toBe(true)
    expect((await run(['put', 'w/2', '2', '--data', data])).code).toBe(0)
    await expect.poll(() => watch.out.some((l) => JSON.parse(l).key === 'w/2'), { timeout: 10_000 }).toBe(true)
    const seen = watch.out.map((l) => JSON.parse(l) as { key: string, origin: string })
    // The first snapshot, then the one after the reset (in key order).
    expect(seen.filter((c) => c.origin === 'snapshot').map((c) => c.key)).toEqual(['w/before', 'w/1', 'w/before'])
    expect(seen.at(-1)).toEqual({ key: 'w/2', value: 2, origin: 'local' })
    expect(await watch.stop()).toBe(0)
  })

  it('without a peer at all it fails at once with exit 1; a usage error is exit 2', async () => {
    const nowhere = await run(['watch', '--data', join(tmpdir(), 'no-such-hearsay-dir')])
    expect(nowhere.code).toBe(1)
    expect(nowhere.stderr).toMatch(/no peer API found.*ERR_NO_API/)
    expect((await run(['watch', 'a', 'b'])).code).toBe(2)
  })
})

describe('hearsay monitor and hearsay watch --events (real processes)', () => {
  it('follow the peer\'s log at their own level and its member and leader events', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-cli-monitor-'))
    dirs.push(dir)
    const a = await startPeer(['--data', join(dir, 'a'), '--log-level', 'warn', '--priority', '5'])
    peers.push(a)
    const monitor = follow(['monitor', '--log-level', 'debug', '--json', '--data', join(dir, 'a')])
    const events = follow(['watch', '--events', '--data', join(dir, 'a')])
    const human = follow(['monitor', '--data', join(dir, 'a')])
    // Both say so on stderr once their stream is open: only then may the second peer join.
    await expect.poll(() => human.err.some((l) => l.startsWith('following the log of')), { timeout: 10_000 }).toBe(true)
    await expect.poll(() => events.err.some((l) => l.startsWith('following every event of')), { timeout: 10_000 }).toBe(true)
    const b = await startPeer(['--data', join(dir, 'b'), '--bootstrap', a.started.addresses[0]!])
    peers.push(b)
    await expect.poll(() => events.out.some((l) => l.endsWith(`member join: ${b.started.peerId} is alive (incarnation 1)`)), { timeout: 20_000 }).toBe(true)
    await expect.poll(() => events.out.some((l) => / leader: \S+ \(term \d+\)$/.test(l)), { timeout: 20_000 }).toBe(true)
    await expect.poll(() => monitor.out.some((l) => JSON.parse(l).level === 20), { timeout: 10_000 }).toBe(true)
    await expect.poll(() => human.out.some((l) => / INFO  membership: member \S+ joined/.test(l)), { timeout: 10_000 }).toBe(true)
    // The peer itself logs at warn: none of those info or debug lines reached its own output.
    expect(a.lines.filter((l) => typeof l.level === 'number' && (l.level as number) < 40)).toEqual([])
    for (const f of [monitor, events, human]) expect(await f.stop()).toBe(0)
  })

  it('bad levels and kinds are usage errors', async () => {
    expect((await run(['monitor', '--log-level', 'loud'])).code).toBe(2)
    expect((await run(['watch', '--events', 'prefix'])).code).toBe(2)
    expect((await run(['watch', '--type', 'member'])).code).toBe(2)
  })
})

describe('the SSE parser', () => {
  it('reads events, ids, multi-line data and comments, and keeps an incomplete event for later', () => {
    const { events, rest } = parseSse(': hello\n\nevent: change\nid: e-1\ndata: {"a":1}\n\ndata: one\ndata: two\n\nevent: change\nid: e-2\nda')
    expect(events).toEqual([{ event: 'change', id: 'e-1', data: '{"a":1}' }, { event: 'message', data: 'one\ntwo' }])
    expect(rest).toBe('event: change\nid: e-2\nda')
  })
})
