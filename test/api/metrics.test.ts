import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { startPeerWithApi, auth, json, body, type Fixture, type ErrorBody } from './helpers.js'

const HEARSAY_METRICS = [
  'hearsay_writes_total', 'hearsay_gossip_messages_total', 'hearsay_gossip_bytes_total', 'hearsay_anti_entropy_rounds_total',
  'hearsay_anti_entropy_bytes_total', 'hearsay_members', 'hearsay_leader_term', 'hearsay_leader_changes_total',
  'hearsay_job_runs_total', 'hearsay_storage_fsync_seconds', 'hearsay_storage_fsyncs_total', 'hearsay_malformed_messages_total',
  'hearsay_records', 'hearsay_storage_log_bytes', 'hearsay_storage_log_entries', 'hearsay_storage_compactions_total'
]

/** The value of one sample in Prometheus text, e.g. sample(text, 'hearsay_writes_total{origin="local"}'). */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('jobs and metrics on a single peer that leads itself', () => {
  let f: Fixture
  let runs = 0
  beforeAll(async () => {
    f = await startPeerWithApi()
    f.peer.jobs.define('tick', { every: 50 }, () => { runs++ })
  })
  afterAll(async () => { await f.close() })

  it('GET /v1/jobs lists defined jobs with their recorded runs', async () => {
    await expect.poll(() => f.peer.jobs.runs('tick').length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2)
    const response = await f.app.inject({ method: 'GET', url: '/v1/jobs', headers: auth })
    expect(response.statusCode).toBe(200)
    const { jobs } = body<{ jobs: Array<{ name: string, every: number, quorum: boolean, timeout: number, runs: Array<Record<string, unknown>> }> }>(response)
    // Built-in maintenance jobs may be listed too; ours is there once.
    expect(jobs.map((j) => j.name)).toEqual(f.peer.jobs.list().map((j) => j.name))
    const tick = jobs.filter((j) => j.name === 'tick')
    expect(tick).toHaveLength(1)
    expect(tick[0]).toMatchObject({ name: 'tick', every: 50, quorum: false, timeout: 50 })
    expect(tick[0]!.runs.length).toBeGreaterThanOrEqual(2)
    expect(tick[0]!.runs[0]).toMatchObject({ name: 'tick', peer: f.peer.peerId, outcome: 'ok' })
    expect(runs).toBeGreaterThanOrEqual(2)
  })

  it('GET /v1/leader names this peer once it has elected itself', async () => {
    await expect.poll(() => f.peer.leader()?.peerId, { timeout: 15_000 }).toBe(f.peer.peerId)
    const response = await f.app.inject({ method: 'GET', url: '/v1/leader', headers: auth })
    expect(response.statusCode).toBe(200)
    expect(body(response)).toEqual(f.peer.leader())
  })

  it('GET /metrics serves libp2p\'s metrics and every hearsay metric, read from the stats', async () => {
    for (let i = 0; i < 3; i++) {
      const put = await f.app.inject({ method: 'PUT', url: `/v1/kv/m${i}`, headers: json, payload: String(i) })
      expect(put.statusCode).toBe(200)
    }
    await expect.poll(() => f.peer.jobs.runs('tick').length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1)
    // The job keeps recording its runs (local writes) while we scrape: the sample must lie
    // between the counts read just before and just after.
    const before = f.peer.diagnostics.stats().kv.writesLocal
    const response = await f.app.inject({ method: 'GET', url: '/metrics', headers: auth })
    const after = f.peer.diagnostics.stats().kv.writesLocal
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = response.body
    expect(text).toMatch(/^libp2p_[a-z_]+/m)
    for (const name of HEARSAY_METRICS) expect(text, name).toContain(`# TYPE ${name} `)
    expect(text).toContain('# TYPE hearsay_writes_total counter')
    expect(text).toContain('# TYPE hearsay_members gauge')
    expect(text).toContain('# TYPE hearsay_storage_fsync_seconds gauge')
    const local = sample(text, 'hearsay_writes_total{origin="local"}')
    expect(local).toBeGreaterThanOrEqual(Math.max(before, 3))
    expect(local).toBeLessThanOrEqual(after)
    expect(sample(text, 'hearsay_writes_total{origin="rejected"}')).toBe(0)
    expect(sample(text, 'hearsay_members{state="alive"}')).toBe(1)
    expect(sample(text, 'hearsay_members{state="dead"}')).toBe(0)
    expect(sample(text, 'hearsay_leader_term')).toBe(f.peer.election.term())
    expect(sample(text, 'hearsay_leader_changes_total')).toBe(f.peer.diagnostics.stats().election.leaderChanges)
    expect(sample(text, 'hearsay_malformed_messages_total{part="membership"}')).toBe(0)
    expect(sample(text, 'hearsay_job_runs_total{job="tick",outcome="ok"}')).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'hearsay_job_runs_total{job="tick",outcome="error"}')).toBe(0)
    // In memory: no log, so no fsyncs and no file.
    expect(sample(text, 'hearsay_storage_fsyncs_total')).toBe(0)
    expect(sample(text, 'hearsay_storage_log_bytes')).toBe(0)
    expect(sample(text, 'hearsay_records')).toBeGreaterThanOrEqual(3)
  })

  it('hearsay_job_runs_total only grows from one scrape to the next', async () => {
    const read = async (): Promise<number> => {
      const response = await f.app.inject({ method: 'GET', url: '/metrics', headers: auth })
      return sample(response.body, 'hearsay_job_runs_total{job="tick",outcome="ok"}') ?? -1
    }
    const first = await read()
    // The job runs every 50 ms: wait for a scrape that differs rather than a fixed time, then check it grew.
    let second = first
    await expect.poll(async () => (second = await read()), { timeout: 10_000 }).not.toBe(first)
    expect(first).toBeGreaterThanOrEqual(1)
    expect(second).toBeGreaterThan(first)
  })

  it('GET /metrics needs the token', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/metrics' })
    expect(response.statusCode).toBe(401)
    expect(body<ErrorBody>(response).error.code).toBe('ERR_UNAUTHORIZED')
  })
})
