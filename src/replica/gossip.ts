/**
 * Gossip of new writes: this replica's own durable records leave in batches on the store's
 * gossipsub topic, and batches from others go to the receive path. Gossip is best-effort;
 * anti-entropy repairs whatever it loses.
 */
import type { PubsubMessage } from '../net/index.js'
import { encodeBatches } from './codec.js'
import type { Intake } from './intake.js'
import type { ReplicationCounters } from './stats.js'
import type { WriteRecord } from './types.js'
import type { ReplicationNet } from './service.js'

/** Largest gossip message: well under gossipsub's 1 MiB default. */
const MAX_GOSSIP_BYTES = 512 * 1024

export interface GossipComponents {
  net: Pick<ReplicationNet, 'protocol' | 'subscribe' | 'unsubscribe' | 'publish'>
  intake: Intake
  counters: ReplicationCounters
}

export class Gossip {
  private readonly c: GossipComponents
  private readonly topic: string
  private running = false
  private queue: WriteRecord[] = []
  private scheduled = false

  constructor (components: GossipComponents) {
    this.c = components
    this.topic = components.net.protocol('kv')
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.c.net.subscribe(this.topic, (message) => { this.receive(message) })
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
    if (this.scheduled) return
    this.scheduled = true
    // Writes that become durable together (one group commit) leave in one batch.
    setImmediate(() => {
      this.scheduled = false
      const records = this.queue
      this.queue = []
      void this.publish(records)
    })
  }

  private async publish (records: WriteRecord[]): Promise<void> {
    for (const batch of encodeBatches(records, { maxBytes: MAX_GOSSIP_BYTES })) {
      try {
        await this.c.net.publish(this.topic, batch)
        this.c.counters.gossipMessagesSent++
        this.c.counters.gossipBytesSent += batch.byteLength
      } catch {
        // Nobody subscribed yet, or the node is stopping: anti-entropy carries it later.
        this.c.counters.gossipUnsent++
      }
    }
  }

  private receive (message: PubsubMessage): void {
    if (!this.running) return
    this.c.counters.gossipMessagesReceived++
    this.c.counters.gossipBytesReceived += message.data.byteLength
    this.c.intake.receive(message.data, { path: 'gossip', from: message.via, receivedAt: Date.now() })
  }
}
