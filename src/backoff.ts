/**
 * Exponential backoff between retries of something that keeps failing (a redial, a bootstrap
 * round): `min` first, each wait twice the one before, never more than `max`; `reset()` once it works.
 */
export class Backoff {
  private readonly min: number
  private readonly max: number
  private delay: number

  constructor (min: number, max: number) {
    this.min = min
    this.max = max
    this.delay = min
  }

  /** How long to wait before the next try (ms); the wait after that one doubles. */
  next (): number {
    const delay = this.delay
    this.delay = Math.min(this.delay * 2, this.max)
    return delay
  }

  reset (): void {
    this.delay = this.min
  }
}
