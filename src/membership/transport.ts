import { StreamChannel, type NetNode } from '../net/index.js'
import { decodeMessage, encodeMessage, type MembershipMessage } from './codec.js'
import { MEMBERSHIP_LIMITS, MEMBERSHIP_PROTOCOL_VERSION } from './constants.js'

export type MembershipNet = Pick<NetNode,
'peerId' | 'addresses' | 'protocol' | 'protocols' | 'handle' | 'unhandle' | 'openStream' | 'addEventListener' | 'removeEventListener' | 'connections'>

/** Whom to reach: a PeerId, and addresses to dial when it is not connected. */
export interface Target {
  peerId: string
  addresses: string[]
}

/** Answers one inbound message; what it returns goes back as the reply. */
export type Answer = (message: MembershipMessage, from: string) => Promise<MembershipMessage | undefined>

export interface TransportEvents {
  /** A message or reply did not decode (or broke a limit) and was dropped. */
  onMalformed: (from: string, reason: string, what: 'message' | 'reply') => void
  /** A peer speaks only another version of the protocol (an older hearsay): nothing it sends is read. */
  onIncompatible: (peerId: string, theirs: string[]) => void
}

/**
 * The membership protocol's messages (`/hearsay/<network>/membership/2.0.0`) on one long-lived
 * stream per member (a StreamChannel), decoded within MEMBERSHIP_LIMITS. Version 1.0.0 opened a
 * stream per message; the framing differs, so the version moved and a 1.0.0 peer is refused
 * (and reported) rather than misread.
 */
export class MembershipTransport {
  readonly protocol: string
  private readonly channel: StreamChannel
  private readonly events: TransportEvents
  private answer: Answer | undefined

  constructor (net: MembershipNet, events: TransportEvents) {
    this.events = events
    this.protocol = net.protocol('membership', MEMBERSHIP_PROTOCOL_VERSION)
    this.channel = new StreamChannel(net, async (from, bytes, isRequest) => this.onMessage(from, bytes, isRequest), {
      protocol: this.protocol,
      maxMessageBytes: MEMBERSHIP_LIMITS.maxMessageBytes,
      onIncompatible: events.onIncompatible,
      onMalformed: (from, reason) => { events.onMalformed(from, reason, 'message') }
    })
  }

  /** Serves inbound messages with `answer`. */
  async listen (answer: Answer): Promise<void> {
    this.answer = answer
    await this.channel.start()
  }

  async close (): Promise<void> {
    await this.channel.stop()
  }

  /** Sends `message` and waits for the reply; `undefined` when the remote handled it and had no reply. */
  async request (to: Target, message: MembershipMessage, timeout: number): Promise<MembershipMessage | undefined> {
    const bytes = await this.channel.request(to, encodeMessage(message), timeout)
    if (bytes === undefined) return undefined
    try {
      return decodeMessage(bytes)
    } catch (err) {
      this.events.onMalformed(to.peerId, (err as Error).message, 'reply')
      throw err
    }
  }

  /** Sends `message` and expects no reply. */
  async send (to: Target, message: MembershipMessage, timeout: number): Promise<void> {
    await this.channel.send(to, encodeMessage(message), timeout)
  }

  private async onMessage (from: string, bytes: Uint8Array, isRequest: boolean): Promise<Uint8Array | undefined> {
    let message: MembershipMessage
    try {
      message = decodeMessage(bytes)
    } catch (err) {
      this.events.onMalformed(from, (err as Error).message, 'message')
      // Unanswered: the sender's request times out, as a lost message would.
      throw err
    }
    const reply = await this.answer?.(message, from)
    return isRequest && reply !== undefined ? encodeMessage(reply) : undefined
  }
}
