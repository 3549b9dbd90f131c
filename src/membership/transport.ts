import type { NetNode, MessageStream } from '../net/index.js'
import { decodeMessage, encodeMessage, type MembershipMessage } from './codec.js'
import { MEMBERSHIP_LIMITS } from './constants.js'

export type MembershipNet = Pick<NetNode,
'peerId' | 'addresses' | 'protocol' | 'protocols' | 'handle' | 'unhandle' | 'openStream' | 'addEventListener' | 'removeEventListener'>

/** Whom to reach: a PeerId, and addresses to dial when it is not connected. */
export interface Target {
  peerId: string
  addresses: string[]
}

/** Answers one inbound message; what it returns goes back on the same stream. */
export type Answer = (message: MembershipMessage, from: string) => Promise<MembershipMessage | undefined>

/**
 * The membership protocol's streams (`/hearsay/<network>/membership/1.0.0`): one message each
 * way per stream, decoded within MEMBERSHIP_LIMITS. What does not decode is reported through
 * `onMalformed` and dropped.
 */
export class MembershipTransport {
  readonly protocol: string
  private readonly net: MembershipNet
  private readonly onMalformed: (from: string, reason: string, what: 'message' | 'reply') => void

  constructor (net: MembershipNet, onMalformed: (from: string, reason: string, what: 'message' | 'reply') => void) {
    this.net = net
    this.onMalformed = onMalformed
    this.protocol = net.protocol('membership')
  }

  /** Serves inbound streams: reads one message (within `readTimeout` ms), answers it, closes. */
  async listen (answer: Answer, readTimeout: number): Promise<void> {
    await this.net.handle(this.protocol, async (stream) => { await this.onStream(stream, answer, readTimeout) }, {
      maxInboundStreams: 256,
      maxOutboundStreams: 256,
      maxMessageBytes: MEMBERSHIP_LIMITS.maxMessageBytes
    })
  }

  async close (): Promise<void> {
    await this.net.unhandle(this.protocol).catch(() => {})
  }

  /** Sends `message` and waits for the one reply; `undefined` when the remote closed without one. */
  async request (to: Target, message: MembershipMessage, timeout: number): Promise<MembershipMessage | undefined> {
    const stream = await this.net.openStream(to.peerId, this.protocol, {
      addresses: to.addresses, timeout, maxMessageBytes: MEMBERSHIP_LIMITS.maxMessageBytes
    })
    try {
      stream.send(encodeMessage(message))
      const bytes = await stream.next({ timeout })
      if (bytes === undefined) return undefined
      try {
        return decodeMessage(bytes)
      } catch (err) {
        this.onMalformed(to.peerId, (err as Error).message, 'reply')
        throw err
      }
    } finally {
      // The answer is in hand; closing needs the remote's cooperation and must not delay
      // a probe, so it finishes in the background (bounded by the stream's close timeout).
      void stream.close().catch(() => { stream.abort() })
    }
  }

  /** Sends `message` and expects no reply. */
  async send (to: Target, message: MembershipMessage, timeout: number): Promise<void> {
    const stream = await this.net.openStream(to.peerId, this.protocol, { addresses: to.addresses, timeout })
    stream.send(encodeMessage(message))
    await stream.close().catch(() => { stream.abort() })
  }

  private async onStream (stream: MessageStream, answer: Answer, readTimeout: number): Promise<void> {
    try {
      const bytes = await stream.next({ timeout: readTimeout })
      if (bytes === undefined) return
      let message: MembershipMessage
      try {
        message = decodeMessage(bytes)
      } catch (err) {
        this.onMalformed(stream.remotePeer, (err as Error).message, 'message')
        stream.abort()
        return
      }
      const reply = await answer(message, stream.remotePeer)
      if (reply !== undefined) stream.send(encodeMessage(reply))
      await stream.close()
    } catch {
      stream.abort()
    }
  }
}
