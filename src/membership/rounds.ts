/**
 * The protocol's timers. Probing and push-pull run every interval (jittered); gossip runs only
 * while there is something to spread; the table's deadlines (suspicion, reaping, redials) get
 * one timer at the earliest. So an idle peer wakes for its probe and little else.
 *
 * Every timer reports how late it fired: that is how this peer tells a stalled event loop
 * (when every timeout is a lie) without a watchdog timer of its own.
 */
export class Rounds {
  private readonly timers = new Set<NodeJS.Timeout>()
  /** What on-demand rounds and deadlines forget when the timers are cleared. */
  private readonly resets: Array<() => void> = []
  private running = false
  private readonly lag = new LagMeter()

  start (): void {
    this.running = true
  }

  stop (): void {
    this.running = false
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const reset of this.resets) reset()
  }

  /** The longest a timer of ours fired late within the last `window` ms. */
  recentLag (window = LAG_WINDOW): number {
    return this.lag.recent(window)
  }

  /** Records a lateness measured elsewhere (a request's timeout that fired late). */
  noteLag (ms: number): void {
    this.lag.note(ms)
  }

  /**
   * Runs `task` every `interval` ms (±10%). A slow round is not overlapped by the next one, but
   * a round that hangs (a stream to a peer that vanished mid-request) must not stop the loop:
   * after `stuckAfter` ms it is abandoned and the loop goes on. The task is told how late its
   * timer fired.
   */
  every (interval: number, stuckAfter: number, task: (lateBy: number) => Promise<void>): void {
    let startedAt: number | undefined
    const run = (lateBy: number): void => {
      if (!this.running) return
      const now = Date.now()
      if (startedAt === undefined || now - startedAt > stuckAfter) {
        const mine = now
        startedAt = mine
        task(lateBy).catch(() => {}).finally(() => { if (startedAt === mine) startedAt = undefined })
      }
      this.after(jitter(interval), run)
    }
    this.after(jitter(interval), run)
  }

  /**
   * A round that runs only when woken: `wake()` runs `task` within `interval` ms (±10%) unless a
   * run is already due, and the round keeps running every interval while `task` resolves true
   * (more to do).
   */
  onDemand (interval: number, task: () => Promise<boolean>): { wake: () => void } {
    let armed = false
    this.resets.push(() => { armed = false })
    const run = (): void => {
      if (!this.running) {
        armed = false
        return
      }
      task().catch(() => false).then((more) => {
        if (more && this.running) this.after(jitter(interval), run)
        else armed = false
      }, () => { armed = false })
    }
    return {
      wake: () => {
        if (armed || !this.running) return
        armed = true
        this.after(jitter(interval), run)
      }
    }
  }

  /**
   * One timer for the earliest of the deadlines it is given: `at(time)` makes `task` run at
   * `time` (ms since the epoch) unless it already runs earlier; `at(undefined)` changes nothing.
   */
  deadline (task: () => void, now: () => number = Date.now): { at: (time: number | undefined) => void } {
    let timer: NodeJS.Timeout | undefined
    let due = Number.POSITIVE_INFINITY
    this.resets.push(() => {
      timer = undefined
      due = Number.POSITIVE_INFINITY
    })
    return {
      at: (time) => {
        if (time === undefined || !this.running || time >= due) return
        if (timer !== undefined) {
          clearTimeout(timer)
          this.timers.delete(timer)
        }
        due = time
        timer = this.after(Math.max(MIN_DEADLINE_DELAY, Math.min(time - now(), MAX_TIMER_DELAY)), () => {
          timer = undefined
          due = Number.POSITIVE_INFINITY
          if (this.running) task()
        })
      }
    }
  }

  private after (delay: number, fn: (lateBy: number) => void): NodeJS.Timeout {
    const due = Date.now() + delay
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      const lateBy = Math.max(0, Date.now() - due)
      this.lag.note(lateBy)
      fn(lateBy)
    }, delay)
    this.timers.add(timer)
    return timer
  }
}

/** How far back `recentLag` looks by default (ms): about what the old 100 ms watchdog's ten samples covered. */
const LAG_WINDOW = 1_000
/** A deadline that is due (or past) runs this soon (ms), so a burst of changes makes one tick. */
const MIN_DEADLINE_DELAY = 10
/** setTimeout cannot wait longer than this (ms); a later deadline is re-armed when this one fires. */
const MAX_TIMER_DELAY = 2_147_483_647

/** The largest lateness noted in a recent window, from a few timestamped samples. */
class LagMeter {
  private samples: Array<{ at: number, ms: number }> = []

  note (ms: number): void {
    const at = Date.now()
    this.samples.push({ at, ms })
    if (this.samples.length > 32) this.samples = this.samples.slice(-16)
  }

  recent (window: number): number {
    const since = Date.now() - window
    let max = 0
    for (const s of this.samples) if (s.at >= since && s.ms > max) max = s.ms
    return max
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

/** Up to `count` of `members`, at random, those whose PeerId is in `connected` first. */
export function connectedFirst<T extends { peerId: string }> (members: readonly T[], connected: ReadonlySet<string>, count: number): T[] {
  const near = shuffle(members.filter((m) => connected.has(m.peerId)))
  const far = near.length >= count ? [] : shuffle(members.filter((m) => !connected.has(m.peerId)))
  return [...near, ...far].slice(0, count)
}
