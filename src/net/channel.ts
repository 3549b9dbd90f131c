import type { DetailEvent } from '../events.js'
import type { MessageStream } from './stream.js'
import type { NetNode } from './types.js'
import { ChannelClosedError, ChannelFrameError, ChannelOverloadError, StreamMessageTooLargeError, StreamTimeoutError } from './errors.js'

export type ChannelNet = Pick<NetNode, 'handle' | 'unhandle' | 'openStream' | 'addEventListener' | 'removeEventListener'>

/** Whom to reach: a PeerId, and addresses to dial when it is not connected. */
export interface ChannelTarget {
  peerId: string
  addresses: string[]
}

/**
 * Handles one inbound message. For a request, what it returns is the reply (`undefined`: done,
 * nothing to say, which the requester also learns); for a one-way message it is ignored.
 */
export type ChannelHandler = (from: string, message: Uint8Array, isRequest: boolean) => Uint8Array | undefined | Promise<Uint8Array | undefined>

export interface ChannelInit {
  /** The stream protocol id, e.g. `/hearsay/<network>/membership/2.0.0`. */
  protocol: string
  /** Largest message either way (bytes); a larger one ends the stream. */
  maxMessageBytes: number
  /** Most requests waiting for a reply on one stream, each way. @default 256 */
  maxPending?: number
  /** A remote that speaks this protocol only in another version (an older hearsay): called once per peer. */
  onIncompatible?: (peerId: string, theirs: string[]) => void
  /** A frame that does not parse ended a stream. */
  onMalformed?: (peerId: string, reason: string) => void
}

/** Frame kinds: the first byte of every frame. Append only. */
export const FRAME_KIND = {
  oneWay: 0,
  request: 1,
  reply: 2,
  /** The reply to a request that the handler answered with nothing. */
  done: 3
} as const
const { oneWay: ONE_WAY, request: REQUEST, reply: REPLY, done: DONE } = FRAME_KIND

/** Kind byte plus a request id (varint, up to 5 bytes for a uint32). */
const MAX_HEADER_BYTES = 6
const DEFAULT_MAX_PENDING = 256
/** Consecutive requests without an answer after which a stream is presumed stuck and replaced. */
const STUCK_AFTER_TIMEOUTS = 3

interface Pending {
  resolve: (reply: Uint8Array | undefined) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

/** One stream to a peer, whoever opened it: both sides may send requests and one-way messages on it. */
interface Link {
  peerId: string
  stream: MessageStream
  pending: Map<number, Pending>
  nextId: number
  /** Requests from the remote that are being answered. */
  serving: number
  timeouts: number
  closed: boolean
}

/**
 * Request/reply and one-way messages to other peers over long-lived streams: one stream per
 * peer (reused for every message, reopened when it fails), instead of a new stream per
 * message. A new stream costs a stream negotiation and a peer-store update, about four times
 * what a message on an open one costs.
 *
 * Whichever side opens a stream first, both use it: a peer with an inbound stream from us sends
 * on it too. Every message is a length-prefixed frame: one kind byte (one-way, request, reply,
 * done), a varint request id for the last three, then the message.
 */
export class StreamChannel {
  readonly protocol: string
  private readonly net: ChannelNet
  private readonly handler: ChannelHandler
  private readonly maxMessageBytes: number
  private readonly maxPending: number
  private readonly init: ChannelInit
  /** The link each peer's messages go out on. */
  private readonly links = new Map<string, Link>()
  /** Every open link, those not used for sending included (a second stream a peer opened meanwhile). */
  private readonly open = new Set<Link>()
  private readonly opening = new Map<string, Promise<Link>>()
  private readonly reported = new Set<string>()
  private readonly counters = { opened: 0, accepted: 0, dropped: 0 }
  private running = false
  private readonly onIdentify = (event: DetailEvent<{ peerId: string, protocols: string[] }>): void => {
    const theirs = olderVersions(event.detail.protocols, this.protocol)
    if (theirs === undefined || this.reported.has(event.detail.peerId)) return
    this.reported.add(event.detail.peerId)
    this.init.onIncompatible?.(event.detail.peerId, theirs)
  }

  constructor (net: ChannelNet, handler: ChannelHandler, init: ChannelInit) {
    this.net = net
    this.handler = handler
    this.init = init
    this.protocol = init.protocol
    this.maxMessageBytes = init.maxMessageBytes
    this.maxPending = init.maxPending ?? DEFAULT_MAX_PENDING
  }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    await this.net.handle(this.protocol, (stream) => { this.adopt(stream, false) }, {
      // One stream per peer each way, and a few more while a failed one is replaced.
      maxInboundStreams: 8,
      maxOutboundStreams: 8,
      maxMessageBytes: this.maxMessageBytes + MAX_HEADER_BYTES
    })
    this.net.addEventListener('peer:identify', this.onIdentify)
  }

  /** Ends every stream; waiting requests fail with ChannelClosedError. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.net.removeEventListener('peer:identify', this.onIdentify)
    for (const link of [...this.open]) this.drop(link, new ChannelClosedError(this.protocol))
    await this.net.unhandle(this.protocol).catch(() => {})
  }

  /**
   * Sends `message` and resolves with the reply, or `undefined` when the remote handled it and
   * had nothing to say. Rejects after `timeout` ms (dial included) with StreamTimeoutError.
   */
  async request (to: ChannelTarget, message: Uint8Array, timeout: number): Promise<Uint8Array | undefined> {
    const started = Date.now()
    const link = await this.link(to, timeout)
    if (link.closed) throw new ChannelClosedError(this.protocol, to.peerId)
    if (link.pending.size >= this.maxPending) throw new ChannelOverloadError(this.protocol, to.peerId, this.maxPending)
    const id = link.nextId
    link.nextId = (link.nextId + 1) >>> 0
    return await new Promise<Uint8Array | undefined>((resolve, reject) => {
      const remaining = Math.max(1, timeout - (Date.now() - started))
      const timer = setTimeout(() => {
        link.pending.delete(id)
        // A stream whose requests all go unanswered may be stuck (a remote that stopped
        // reading): a few in a row and the next message opens a fresh one.
        if (++link.timeouts >= STUCK_AFTER_TIMEOUTS) this.drop(link, new StreamTimeoutError(`a ${this.protocol} reply`, timeout))
        reject(new StreamTimeoutError(`a ${this.protocol} reply from ${to.peerId}`, timeout))
      }, remaining)
      link.pending.set(id, { resolve, reject, timer })
      link.stream.send(encodeFrame(REQUEST, id, message))
    })
  }

  /** Sends `message` with no reply expected; resolves once it is queued on an open stream. */
  async send (to: ChannelTarget, message: Uint8Array, timeout: number): Promise<void> {
    const link = await this.link(to, timeout)
    if (link.closed) throw new ChannelClosedError(this.protocol, to.peerId)
    link.stream.send(encodeFrame(ONE_WAY, undefined, message))
  }

  /** How many peers have a stream open now (diagnostics). */
  size (): number {
    return this.links.size
  }

  /** Streams opened by this peer, accepted from others, and ended (failed, refused or stopped) so far. */
  stats (): { opened: number, accepted: number, dropped: number } {
    return { ...this.counters }
  }

  private async link (to: ChannelTarget, timeout: number): Promise<Link> {
    if (!this.running) throw new ChannelClosedError(this.protocol)
    const existing = this.links.get(to.peerId)
    if (existing !== undefined && !existing.closed) return existing
    let opening = this.opening.get(to.peerId)
    if (opening === undefined) {
      opening = (async () => {
        const stream = await this.net.openStream(to.peerId, this.protocol, {
          addresses: to.addresses, timeout, maxMessageBytes: this.maxMessageBytes + MAX_HEADER_BYTES
        })
        if (!this.running) {
          stream.abort()
          throw new ChannelClosedError(this.protocol)
        }
        return this.adopt(stream, true)
      })().finally(() => { this.opening.delete(to.peerId) })
      this.opening.set(to.peerId, opening)
    }
    return await opening
  }

  /** Starts serving a stream; it becomes the peer's sending link unless one is open already (or it is ours). */
  private adopt (stream: MessageStream, outbound: boolean): Link {
    const link: Link = { peerId: stream.remotePeer, stream, pending: new Map(), nextId: 0, serving: 0, timeouts: 0, closed: false }
    if (outbound) this.counters.opened++
    else this.counters.accepted++
    if (!this.running) {
      stream.abort()
      link.closed = true
      return link
    }
    this.open.add(link)
    const current = this.links.get(link.peerId)
    if (outbound || current === undefined || current.closed) this.links.set(link.peerId, link)
    void this.serve(link)
    return link
  }

  private async serve (link: Link): Promise<void> {
    try {
      for await (const bytes of link.stream) {
        if (link.closed) return
        this.receive(link, bytes)
      }
      this.drop(link, new ChannelClosedError(this.protocol, link.peerId))
    } catch (err) {
      // Over the size limit: refused before it was read, and counted with what did not decode.
      if (err instanceof StreamMessageTooLargeError) this.init.onMalformed?.(link.peerId, err.message)
      this.drop(link, err instanceof Error ? err : new ChannelClosedError(this.protocol, link.peerId))
    }
  }

  private receive (link: Link, bytes: Uint8Array): void {
    let parsed: { kind: number, id: number | undefined, body: Uint8Array }
    try {
      parsed = decodeFrame(bytes, this.maxMessageBytes)
    } catch (err) {
      this.init.onMalformed?.(link.peerId, (err as Error).message)
      this.drop(link, err as Error)
      return
    }
    const { kind, id, body } = parsed
    if (kind === REPLY || kind === DONE) {
      const waiting = link.pending.get(id as number)
      // A reply after its request timed out finds nobody: dropped.
      if (waiting === undefined) return
      link.pending.delete(id as number)
      link.timeouts = 0
      clearTimeout(waiting.timer)
      waiting.resolve(kind === REPLY ? body : undefined)
      return
    }
    if (kind === ONE_WAY) {
      // A message its handler refuses (it did not decode) ends the stream, as garbage should.
      void Promise.resolve().then(() => this.handler(link.peerId, body, false)).catch((err: unknown) => {
        this.drop(link, err instanceof Error ? err : new ChannelClosedError(this.protocol, link.peerId))
      })
      return
    }
    // A request: answered on the same stream, without holding up the frames behind it.
    if (link.serving >= this.maxPending) {
      this.init.onMalformed?.(link.peerId, `more than ${this.maxPending} requests waiting for an answer`)
      this.drop(link, new ChannelOverloadError(this.protocol, link.peerId, this.maxPending))
      return
    }
    link.serving++
    void Promise.resolve().then(() => this.handler(link.peerId, body, true)).then((reply) => {
      if (link.closed) return
      link.stream.send(reply === undefined ? encodeFrame(DONE, id, undefined) : encodeFrame(REPLY, id, reply))
    }, (err: unknown) => {
      // Refused (it did not decode): the stream ends, and the requester learns at once.
      this.drop(link, err instanceof Error ? err : new ChannelClosedError(this.protocol, link.peerId))
    }).finally(() => { link.serving-- })
  }

  private drop (link: Link, reason: Error): void {
    if (link.closed) return
    link.closed = true
    this.counters.dropped++
    this.open.delete(link)
    if (this.links.get(link.peerId) === link) {
      this.links.delete(link.peerId)
      // Another stream from the same peer is still open: send on that one.
      for (const other of this.open) {
        if (other.peerId === link.peerId) {
          this.links.set(link.peerId, other)
          break
        }
      }
    }
    for (const waiting of link.pending.values()) {
      clearTimeout(waiting.timer)
      waiting.reject(reason)
    }
    link.pending.clear()
    link.stream.abort(reason)
  }
}

/** One frame: kind, the request id when the kind has one, the message. */
export function encodeFrame (kind: number, id: number | undefined, body: Uint8Array | undefined): Uint8Array {
  const header: number[] = [kind]
  if (kind !== ONE_WAY) {
    let rest = (id ?? 0) >>> 0
    while (rest >= 0x80) {
      header.push((rest & 0x7f) | 0x80)
      rest >>>= 7
    }
    header.push(rest)
  }
  const out = new Uint8Array(header.length + (body?.byteLength ?? 0))
  out.set(header, 0)
  if (body !== undefined) out.set(body, header.length)
  return out
}

/** Parses a frame; throws ChannelFrameError for an unknown kind, a bad id or an oversized message. */
export function decodeFrame (bytes: Uint8Array, maxMessageBytes: number): { kind: number, id: number | undefined, body: Uint8Array } {
  if (bytes.byteLength === 0) throw new ChannelFrameError('an empty frame')
  const kind = bytes[0] as number
  if (kind > DONE) throw new ChannelFrameError(`unknown frame kind ${kind}`)
  let offset = 1
  let id: number | undefined
  if (kind !== ONE_WAY) {
    let value = 0
    let shift = 0
    while (true) {
      if (offset >= bytes.byteLength) throw new ChannelFrameError('a frame ends inside its request id')
      const byte = bytes[offset++] as number
      if (shift === 28 && byte > 0x0f) throw new ChannelFrameError('a request id above 2^32')
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) break
      shift += 7
    }
    id = value
  }
  const body = bytes.subarray(offset)
  if (body.byteLength > maxMessageBytes) throw new ChannelFrameError(`a message of ${body.byteLength} bytes, over the limit of ${maxMessageBytes}`)
  return { kind, id, body }
}

/**
 * The other versions of `ours` (`/hearsay/<network>/<part>/<version>`) a remote speaks when it
 * does not speak ours; `undefined` when there is nothing to report.
 */
export function olderVersions (protocols: string[], ours: string): string[] | undefined {
  const prefix = ours.slice(0, ours.lastIndexOf('/') + 1)
  if (protocols.includes(ours)) return undefined
  const theirs = protocols.filter((p) => p.startsWith(prefix))
  return theirs.length === 0 ? undefined : theirs
}
