/**
 * Optional export of write traces to an OpenTelemetry collector, over OTLP/HTTP with JSON
 * (`POST <endpoint>/v1/traces`), with nothing but `fetch`: no exporter library, and no network
 * call at all unless an endpoint is configured.
 *
 * Every write is one trace, and every peer that applies it adds one span to it. The ids come
 * from the write's dot, so peers agree on them without telling each other: the trace id and
 * the author's span id are hashes of the dot, and every other peer's span is a child of the
 * author's. A collector therefore shows one trace per write with a span per peer.
 */
import { silentLog, type LogFn } from '../log.js'
import { createHash } from 'node:crypto'
import type { TraceEntry } from './types.js'
import { InvalidObserveOptionsError } from './errors.js'

export interface OtlpOptions {
  /** Base URL of an OTLP/HTTP collector, for example `http://127.0.0.1:4318`; spans go to `<endpoint>/v1/traces`. */
  endpoint: string
  /** Extra request headers (an API key, for instance). */
  headers?: Record<string, string>
  /** The `service.name` resource attribute. @default 'hearsay' */
  serviceName?: string
  /** How often waiting spans are sent. @default 1_000 (ms) */
  flushInterval?: number
  /** Spans that may wait; beyond that new ones are dropped (and counted). @default 2_048 */
  maxQueue?: number
  /** How long one export request may take. @default 5_000 (ms) */
  timeout?: number
}

export interface OtlpStats {
  spansExported: number
  spansDropped: number
  exportFailures: number
}

/** OTLP span kinds (SpanKind in the OTLP protobuf). */
const SPAN_KIND_PRODUCER = 4
const SPAN_KIND_CONSUMER = 5

interface OtlpAttribute { key: string, value: { stringValue: string } }

interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes: OtlpAttribute[]
}

function hex (text: string, bytes: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, bytes * 2)
}

/** The OTLP trace id of a write (16 bytes as hex), the same on every peer of the network. */
export function otlpTraceId (network: string, traceId: string): string {
  return hex(`hearsay/${network}/trace/${traceId}`, 16)
}

/** The span id of the author's own span of a write: the parent of every other peer's span. */
export function otlpRootSpanId (network: string, traceId: string): string {
  return hex(`hearsay/${network}/write/${traceId}`, 8)
}

export function otlpSpanId (network: string, peerId: string, traceId: string): string {
  return hex(`hearsay/${network}/apply/${peerId}/${traceId}`, 8)
}

function nanos (ms: number): string {
  return (BigInt(Math.round(ms)) * 1_000_000n).toString()
}

function attribute (key: string, value: string): OtlpAttribute {
  return { key, value: { stringValue: value } }
}

/** The span one peer contributes for one applied write. */
export function toSpan (network: string, peerId: string, entry: TraceEntry): OtlpSpan {
  const root = entry.path === 'local' && entry.dot.replica === peerId
  const attributes = [
    attribute('hearsay.key', entry.key),
    attribute('hearsay.op', entry.op),
    attribute('hearsay.trace_id', entry.traceId),
    attribute('hearsay.path', entry.path),
    attribute('hearsay.from', entry.from),
    attribute('hearsay.peer', peerId)
  ]
  return {
    traceId: otlpTraceId(network, entry.traceId),
    spanId: root ? otlpRootSpanId(network, entry.traceId) : otlpSpanId(network, peerId, entry.traceId),
    ...(root ? {} : { parentSpanId: otlpRootSpanId(network, entry.traceId) }),
    name: root ? 'hearsay.write' : 'hearsay.apply',
    kind: root ? SPAN_KIND_PRODUCER : SPAN_KIND_CONSUMER,
    startTimeUnixNano: nanos(entry.receivedAt),
    endTimeUnixNano: nanos(Math.max(entry.appliedAt, entry.receivedAt)),
    attributes
  }
}

/** Queues one span per applied write and posts them in batches; a failed batch is dropped, never retried. */
export class OtlpExporter {
  private readonly url: string
  private readonly options: OtlpOptions
  private readonly network: string
  private readonly peerId: string
  private readonly maxQueue: number
  private queue: OtlpSpan[] = []
  private timer: NodeJS.Timeout | undefined
  private sending: Promise<void> = Promise.resolve()
  private readonly counters: OtlpStats = { spansExported: 0, spansDropped: 0, exportFailures: 0 }

  private readonly warn: LogFn

  /** `warn` hears of failed exports (rate-limited by the caller: a collector may be down for long). */
  constructor (peerId: string, network: string, options: OtlpOptions, warn: LogFn = silentLog.warn) {
    this.warn = warn
    let url: URL
    try {
      url = new URL(options.endpoint)
    } catch {
      throw new InvalidObserveOptionsError(`otlp.endpoint ${JSON.stringify(options.endpoint)} is not a URL (for example http://127.0.0.1:4318)`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidObserveOptionsError(`otlp.endpoint must be an http or https URL, not ${url.protocol}`)
    this.url = `${url.href.replace(/\/+$/, '')}/v1/traces`
    this.options = options
    this.network = network
    this.peerId = peerId
    this.maxQueue = options.maxQueue ?? 2_048
  }

  start (): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => { void this.flush() }, this.options.flushInterval ?? 1_000)
    this.timer.unref()
  }

  /** Sends what is waiting, then stops. */
  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.flush()
  }

  record (entry: TraceEntry): void {
    if (this.queue.length >= this.maxQueue) {
      this.counters.spansDropped++
      return
    }
    this.queue.push(toSpan(this.network, this.peerId, entry))
  }

  stats (): OtlpStats {
    return { ...this.counters }
  }

  /** Posts the waiting spans (one request at a time). */
  async flush (): Promise<void> {
    this.sending = this.sending.then(async () => {
      if (this.queue.length === 0) return
      const spans = this.queue
      this.queue = []
      const body = {
        resourceSpans: [{
          resource: {
            attributes: [
              attribute('service.name', this.options.serviceName ?? 'hearsay'),
              attribute('service.instance.id', this.peerId),
              attribute('hearsay.network', this.network)
            ]
          },
          scopeSpans: [{ scope: { name: 'hearsay' }, spans }]
        }]
      }
      let failure: string | undefined
      try {
        const response = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.options.headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.options.timeout ?? 5_000)
        })
        await response.arrayBuffer().catch(() => undefined)
        if (!response.ok) failure = `the collector answered ${response.status}`
      } catch (err) {
        failure = (err as Error).message
      }
      if (failure === undefined) {
        this.counters.spansExported += spans.length
      } else {
        this.counters.exportFailures++
        this.counters.spansDropped += spans.length
        this.warn({ collector: this.url, spans: spans.length, reason: failure }, 'could not export spans to the OpenTelemetry collector; they are dropped')
      }
    })
    await this.sending
  }
}
