import { describe, it, expect, afterEach } from 'vitest'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createCluster, type Cluster } from '../../src/harness/index.js'
import { InvalidObserveOptionsError, otlpRootSpanId, otlpTraceId, toSpan, traceId, type TraceEntry } from '../../src/observe/index.js'
import { OtlpExporter } from '../../src/observe/otlp.js'

interface Span { traceId: string, spanId: string, parentSpanId?: string, name: string, kind: number, startTimeUnixNano: string, endTimeUnixNano: string, attributes: Array<{ key: string, value: { stringValue: string } }> }
interface Export { resourceSpans: Array<{ resource: { attributes: Array<{ key: string, value: { stringValue: string } }> }, scopeSpans: Array<{ spans: Span[] }> }> }

/** A stand-in OpenTelemetry collector on 127.0.0.1: keeps every OTLP/HTTP JSON export it gets. */
async function collector (status = 200): Promise<{ url: string, exports: Export[], paths: string[], server: Server }> {
  const exports: Export[] = []
  const paths: string[] = []
  const server = createServer((req: IncomingMessage, res) => {
    let text = ''
    req.on('data', (chunk: Buffer) => { text += chunk.toString() })
    req.on('end', () => {
      paths.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers['content-type'] ?? ''}`)
      if (status === 200) exports.push(JSON.parse(text) as Export)
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports, paths, server }
}

const servers: Server[] = []
let cluster: Cluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve))
})

function entry (replica: string, path: TraceEntry['path'], at: number): TraceEntry {
  const dot = { replica, seq: 7 }
  return { traceId: traceId(dot), key: 'k', dot, hlc: { wall: at, logical: 0 }, op: 'put', path, from: replica, receivedAt: at, appliedAt: at + 2 }
}

describe('OpenTelemetry export', () => {
  it('the author\'s span is the root; every other peer\'s is its child, in the same trace', () => {
    const root = toSpan('net', 'A', entry('A', 'local', 1_000))
    const child = toSpan('net', 'B', { ...entry('A', 'gossip', 1_010) })
    expect(root.traceId).toBe(child.traceId)
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(root.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(root).toMatchObject({ name: 'hearsay.write', spanId: otlpRootSpanId('net', 'A/7'), startTimeUnixNano: '1000000000', endTimeUnixNano: '1002000000' })
    expect(root.parentSpanId).toBeUndefined()
    expect(child).toMatchObject({ name: 'hearsay.apply', parentSpanId: root.spanId })
    expect(child.spanId).not.toBe(root.spanId)
    // Another network, another trace: ids never collide across networks.
    expect(otlpTraceId('other', 'A/7')).not.toBe(root.traceId)
  })

  it('a refused endpoint is a clear error; a collector that fails is counted, and the spans are dropped', async () => {
    expect(() => new OtlpExporter('A', 'net', { endpoint: 'not a url' })).toThrow(/not a URL/)
    expect(() => new OtlpExporter('A', 'net', { endpoint: 'ftp://127.0.0.1' })).toThrow(/http or https/)
    expect(() => new OtlpExporter('A', 'net', { endpoint: 'not a url' })).toThrow(InvalidObserveOptionsError)
    const failing = await collector(500)
    servers.push(failing.server)
    const exporter = new OtlpExporter('A', 'net', { endpoint: failing.url })
    exporter.record(entry('A', 'local', 1_000))
    await exporter.flush()
    expect(exporter.stats()).toEqual({ spansExported: 0, spansDropped: 1, exportFailures: 1 })
    const small = new OtlpExporter('A', 'net', { endpoint: failing.url, maxQueue: 1 })
    small.record(entry('A', 'local', 1_000))
    small.record(entry('A', 'local', 1_001))
    expect(small.stats().spansDropped).toBe(1)
  })

  it('a three-peer cluster exports one trace per write with a span from every peer', async () => {
    const sink = await collector()
    servers.push(sink.server)
    cluster = await createCluster({ size: 3, peer: { observe: { otlp: { endpoint: `${sink.url}/`, flushInterval: 100, serviceName: 'test' } } } })
    await cluster.converged({ timeout: 30_000 })
    const receipt = await cluster.peers[1]!.kv.put('otlp/key', 'traced')
    await cluster.converged({ timeout: 15_000 })
    const wanted = otlpTraceId(cluster.network, traceId(receipt.dot))
    const spans = (): Array<{ peer: string, span: Span }> => sink.exports.flatMap((e) => e.resourceSpans.flatMap((r) => {
      const peer = r.resource.attributes.find((a) => a.key === 'service.instance.id')?.value.stringValue ?? ''
      return r.scopeSpans.flatMap((s) => s.spans.filter((span) => span.traceId === wanted).map((span) => ({ peer, span })))
    }))
    await expect.poll(() => spans().length, { timeout: 15_000 }).toBe(3)
    expect(sink.paths.every((p) => p === 'POST /v1/traces application/json')).toBe(true)
    const byPeer = new Map(spans().map((s) => [s.peer, s.span]))
    expect([...byPeer.keys()].sort()).toEqual(cluster.peers.map((p) => p.peerId).sort())
    const root = byPeer.get(cluster.peers[1]!.peerId)!
    expect(root).toMatchObject({ name: 'hearsay.write', spanId: otlpRootSpanId(cluster.network, traceId(receipt.dot)) })
    for (const peer of [cluster.peers[0]!, cluster.peers[2]!]) {
      const span = byPeer.get(peer.peerId)!
      expect(span).toMatchObject({ name: 'hearsay.apply', parentSpanId: root.spanId })
      expect(span.attributes).toContainEqual({ key: 'hearsay.key', value: { stringValue: 'otlp/key' } })
      expect(BigInt(span.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(root.startTimeUnixNano))
    }
    const resource = sink.exports[0]!.resourceSpans[0]!.resource.attributes
    expect(resource).toContainEqual({ key: 'service.name', value: { stringValue: 'test' } })
    expect(cluster.peers[0]!.diagnostics.stats().observe.otlp?.exportFailures).toBe(0)
  }, 90_000)

  it('without an endpoint nothing is exported', async () => {
    cluster = await createCluster({ size: 1, durable: false })
    await cluster.peers[0]!.kv.put('k', 1)
    expect(cluster.peers[0]!.diagnostics.stats().observe.otlp).toBeUndefined()
  })
})
