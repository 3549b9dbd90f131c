import { DEFAULT_MAX_CLOCK_DRIFT, MAX_HLC_LOGICAL } from './constants.js'
import type { Hlc } from './types.js'

export interface HybridClockInit {
  /**
   * A remote wall time more than this far ahead of `now()` is not adopted: one peer with
   * a clock set years ahead must not drag every other peer's clock along.
   * @default 60_000 (ms)
   */
  maxDrift?: number
}

/** Orders HLC readings: wall time first, then the logical counter. */
export function compareHlc (a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1
  return 0
}

/**
 * Hybrid logical clock (Kulkarni et al.): readings stay close to wall time but never go
 * backwards, and every reading is above every remote reading observed before it, so a write
 * made after seeing another write sorts after it even when the wall clocks disagree.
 */
export class HybridClock {
  private readonly now: () => number
  private readonly maxDrift: number
  private last: Hlc = { wall: 0, logical: 0 }

  constructor (now: () => number = Date.now, init: HybridClockInit = {}) {
    this.now = now
    this.maxDrift = init.maxDrift ?? DEFAULT_MAX_CLOCK_DRIFT
  }

  /** A new reading, strictly greater than every reading returned or observed before. */
  tick (): Hlc {
    const physical = this.physical()
    let next: Hlc
    if (physical > this.last.wall) {
      next = { wall: physical, logical: 0 }
    } else if (this.last.logical < MAX_HLC_LOGICAL) {
      next = { wall: this.last.wall, logical: this.last.logical + 1 }
    } else {
      // The counter must fit a uint32 on the wire; borrowing 1 ms keeps readings unique.
      next = { wall: this.last.wall + 1, logical: 0 }
    }
    this.last = next
    return next
  }

  /** Takes a remote reading into account so the next `tick()` is above it (unless it is too far ahead). */
  observe (remote: Hlc): void {
    if (!Number.isSafeInteger(remote.wall) || !Number.isSafeInteger(remote.logical)) return
    if (remote.wall > this.physical() + this.maxDrift) return
    if (compareHlc(remote, this.last) > 0) {
      this.last = { wall: remote.wall, logical: Math.min(remote.logical, MAX_HLC_LOGICAL) }
    }
  }

  /** The last reading returned or adopted (for tests and status pages). */
  peek (): Hlc {
    return this.last
  }

  private physical (): number {
    const now = Math.floor(this.now())
    return Number.isSafeInteger(now) && now > 0 ? now : 0
  }
}
