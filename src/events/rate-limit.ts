/**
 * A token bucket per sender: `burst` messages at once, then `perSecond` sustained. Pure: the
 * caller passes the time. At most `maxKeys` buckets are kept; past that the least recently
 * used goes (a sender forgotten that way starts again with a full bucket).
 */
export interface TokenBucketsInit {
  /** Tokens added per second. */
  perSecond: number
  /** Most tokens a bucket holds (and holds at first). */
  burst: number
  /** Most buckets kept. */
  maxKeys: number
}

interface Bucket { tokens: number, at: number }

export class TokenBuckets {
  readonly perSecond: number
  readonly burst: number
  readonly maxKeys: number
  private readonly buckets = new Map<string, Bucket>()

  constructor (init: TokenBucketsInit) {
    if (!Number.isFinite(init.perSecond) || init.perSecond <= 0) throw new TypeError(`perSecond must be a positive number, not ${init.perSecond}`)
    if (!Number.isSafeInteger(init.burst) || init.burst < 1) throw new TypeError(`burst must be a whole number of at least 1, not ${init.burst}`)
    if (!Number.isSafeInteger(init.maxKeys) || init.maxKeys < 1) throw new TypeError(`maxKeys must be a whole number of at least 1, not ${init.maxKeys}`)
    this.perSecond = init.perSecond
    this.burst = init.burst
    this.maxKeys = init.maxKeys
  }

  /** Takes one token from `key`'s bucket if it has one; false means the message is over the rate. */
  take (key: string, now: number): boolean {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now }
    // A clock that went back adds nothing (and takes nothing back).
    const elapsed = Math.max(0, now - bucket.at)
    bucket.tokens = Math.min(this.burst, bucket.tokens + elapsed * this.perSecond / 1000)
    bucket.at = Math.max(bucket.at, now)
    // Most recently used last, so the first is the one to forget.
    this.buckets.delete(key)
    this.buckets.set(key, bucket)
    while (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Buckets kept now. */
  get size (): number {
    return this.buckets.size
  }
}
