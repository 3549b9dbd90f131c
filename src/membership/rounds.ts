/**
 * The protocol's periodic rounds (probe, gossip, push-pull, tick), each on its own jittered
 * timer. A slow round is not overlapped by the next one, but a round that hangs (a stream to a
 * peer that vanished mid-request) must not stop the loop: after `stuckAfter` ms it is
 * abandoned and the loop goes on.
 */
export class Rounds {
  private readonly timers: NodeJS.Timeout[] = []
  private running = false

  start (): void {
    this.running = true
  }

  stop (): void {
    this.running = false
    for (const t of this.timers.splice(0)) clearTimeout(t)
  }

  every (interval: number, stuckAfter: number, task: () => Promise<void>): void {
    const index = this.timers.length
    let startedAt: number | undefined
    const run = (): void => {
      if (!this.running) return
      const now = Date.now()
      if (startedAt === undefined || now - startedAt > stuckAfter) {
        const mine = now
        startedAt = mine
        task().catch(() => {}).finally(() => { if (startedAt === mine) startedAt = undefined })
      }
      this.timers[index] = setTimeout(run, jitter(interval))
    }
    this.timers.push(setTimeout(run, jitter(interval)))
  }
}

/** ±10% so peers started together do not probe in lockstep. */
export function jitter (ms: number): number {
  return Math.max(1, Math.round(ms * (0.9 + Math.random() * 0.2)))
}

/** Fisher–Yates, in place: probe order and gossip targets are random. */
export function shuffle<T> (items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const a = items[i] as T
    items[i] = items[j] as T
    items[j] = a
  }
  return items
}
