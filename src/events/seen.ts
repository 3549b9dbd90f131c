/**
 * Which messages this peer has already delivered: each peer emits an event once however many
 * copies reach it. Pure: the caller passes the time.
 *
 * A message is accepted only when its send time is within `maxAge` of this peer's clock, and
 * its id is then remembered for `2 × maxAge`. A copy that comes back later is therefore either
 * still remembered (a duplicate) or too old (stale): no replay is delivered twice, as long as
 * the window holds fewer than `maxEntries` ids (past that the oldest go first, and are counted).
 */
export interface SeenWindowInit {
  /** How far a send time may be from now, either way (ms). */
  maxAge: number
  /** Most ids remembered. */
  maxEntries: number
}

export class SeenWindow {
  readonly maxAge: number
  readonly maxEntries: number
  /** id → when it may be forgotten; insertion order is (nearly) expiry order. */
  private readonly expiries = new Map<string, number>()
  private evictedCount = 0

  constructor (init: SeenWindowInit) {
    if (!Number.isSafeInteger(init.maxAge) || init.maxAge <= 0) throw new TypeError(`maxAge must be a positive whole number of ms, not ${init.maxAge}`)
    if (!Number.isSafeInteger(init.maxEntries) || init.maxEntries <= 0) throw new TypeError(`maxEntries must be a positive whole number, not ${init.maxEntries}`)
    this.maxAge = init.maxAge
    this.maxEntries = init.maxEntries
  }

  /** Whether a message sent at `at` is too far from `now` to be accepted. */
  isStale (at: number, now: number): boolean {
    return Math.abs(now - at) > this.maxAge
  }

  /** Whether `id` was added and is still remembered at `now`. */
  has (id: string, now: number): boolean {
    this.expire(now)
    const expiry = this.expiries.get(id)
    return expiry !== undefined && expiry > now
  }

  /** Remember `id` from `now` on. */
  add (id: string, now: number): void {
    this.expire(now)
    this.expiries.delete(id)
    this.expiries.set(id, now + 2 * this.maxAge)
    while (this.expiries.size > this.maxEntries) {
      const oldest = this.expiries.keys().next().value as string
      this.expiries.delete(oldest)
      this.evictedCount++
    }
  }

  /** Ids remembered now. */
  get size (): number {
    return this.expiries.size
  }

  /** Ids forgotten before their time because the window was full. */
  get evicted (): number {
    return this.evictedCount
  }

  private expire (now: number): void {
    for (const [id, expiry] of this.expiries) {
      if (expiry > now) return
      this.expiries.delete(id)
    }
  }
}
