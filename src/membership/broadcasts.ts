import type { MemberUpdate } from './state.js'

interface Queued {
  update: MemberUpdate
  transmits: number
}

/**
 * Updates waiting to be spread, SWIM style: each is piggybacked on a bounded number of
 * messages (more in larger networks), least-sent first, and a newer update about a member
 * replaces the queued one, so the queue holds at most one entry per member.
 */
export class BroadcastQueue {
  private readonly queue = new Map<string, Queued>()
  private readonly retransmitMult: number

  constructor (retransmitMult: number) {
    this.retransmitMult = retransmitMult
  }

  push (update: MemberUpdate): void {
    this.queue.set(update.peerId, { update, transmits: 0 })
  }

  size (): number {
    return this.queue.size
  }

  /** Takes up to `max` updates to send now, counting the transmission. */
  take (max: number, members: number): MemberUpdate[] {
    if (this.queue.size === 0) return []
    const limit = this.retransmitMult * Math.ceil(Math.log2(members + 1))
    const chosen = [...this.queue.values()].sort((a, b) => a.transmits - b.transmits).slice(0, max)
    for (const entry of chosen) {
      entry.transmits++
      if (entry.transmits >= limit) this.queue.delete(entry.update.peerId)
    }
    return chosen.map((e) => e.update)
  }

  /** The queued update about one member, if any (sent along when probing that member). */
  about (peerId: string): MemberUpdate | undefined {
    return this.queue.get(peerId)?.update
  }

  clear (): void {
    this.queue.clear()
  }
}
