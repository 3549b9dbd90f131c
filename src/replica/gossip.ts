/**
 * Gossip of new writes: this replica's own durable records leave on the store's gossipsub
 * topic, sealed (one signature a message), and messages from others go to the receive path.
 * Publishing coalesces without a timer: while one message is in flight, further durable
 * writes queue and leave together in the next, so a writer faster than the network pays for
 * fewer, larger messages. Gossip is best-effort; anti-entropy repairs whatever it loses.
 */
import type { GossipVerdict, PubsubMessage } from '../net/index.js'
import { KV_PROTOCOL_VERSION } from './constants.js'
import type { Intake } from './intake.js'
import type { Provenance } from './seal.js'
import { encodeSealedBatches } from './seal-codec.js'
import type { ReplicationCounters } from './stats.js'
import type { WriteRecord } from './types.js'
import type { ReplicationNet } from './net.js'

/** Records of one gossip message, at most: well under gossipsub's 1 MiB default with the seal. */
const MAX_GOSSIP_RECORD_BYTES = 480 * 1024

export interface GossipComponents {
  net: Pick<ReplicationNet, 'peerId' | 'protocol' | 'subscribe' | 'unsubscribe' | 'publish' | 'sign' | 'topicPeers'>
  intake: Intake
  provenance: Provenance
  counters: ReplicationCounters
}

export class Gossip {
  private readonly c: GossipComponents
  private readonly topic: string
  private running = false
  private queue: WriteRecord[] = []
  private inFlight = false

  constructor (components: GossipComponents) {
    this.c = components
    this.topic = components.net.protocol('kv', KV_PROTOCOL_VERSION)
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.c.net.subscribe(this.topic, (message) => this.receive(message))
  }

  stop (): void {
    if (!this.running) return
    this.running = false
    this.queue = []
    this.c.net.unsubscribe(this.topic)
  }

  /** Offers one of our own records, once durable. */
  send (record: WriteRecord): void {
    if (!this.running) return
    this.queue.push(record)
    // Writes made durable by one group commit arrive in one turn: let them all queue first.
    if (!this.inFlight) {
      this.inFlight = true
      setImmediate(() => { void this.flush() })
    }
  }

  /** Publishes everything queued, then again while more queued meanwhile. */
  private async flush (): Promise<void> {
    while (this.running && this.queue.length > 0) {
      const records = this.queue
      this.queue = []
      // Nobody to send to (a lone peer, a partition): no seal, no message; anti-entropy
      // seals and carries these records when someone comes.
      if (this.c.net.topicPeers(this.topic).length === 0) {
        this.c.counters.gossipUnsent++
        continue
      }
      for (const { bytes } of this.c.provenance.sealOwn(this.c.net.peerId, records, (b) => this.c.net.sign(b), MAX_GOSSIP_RECORD_BYTES)) {
        const message = encodeSealedBatches([bytes])
        try {
          await this.c.net.publish(this.topic, message)
          this.c.counters.gossipMessagesSent++
          this.c.counters.gossipBytesSent += message.byteLength
        } catch {
          // Nobody subscribed yet, or the node is stopping: anti-entropy carries it later.
          this.c.counters.gossipUnsent++
        }
      }
      // The message is on its way once the streams have written it: until then, it is in flight.
      await new Promise<void>((resolve) => { setImmediate(resolve) })
    }
    this.inFlight = false
  }

  /**
   * Runs before gossipsub forwards the message: one that carries anything refused (garbage, a
   * seal that does not prove its batch, an author not on the writers list) goes no further
   * than this peer, so a member flooding forgeries costs only its own neighbours a check.
   */
  private receive (message: PubsubMessage): GossipVerdict {
    if (!this.running) return 'ignore'
    this.c.counters.gossipMessagesReceived++
    this.c.counters.gossipBytesReceived += message.data.byteLength
    return this.c.intake.receive(message.data, { path: 'gossip', from: message.via, receivedAt: Date.now() }).refused ? 'reject' : 'accept'
  }
}
