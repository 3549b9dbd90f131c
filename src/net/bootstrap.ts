import { Backoff } from '../backoff.js'

/**
 * Keeps dialling the bootstrap addresses, with backoff, until the node has a connection.
 * libp2p 2's bootstrap module dials once and never retries, so a peer started before its
 * bootstrap peer (or after a restart of it) would stay alone.
 */
export class BootstrapDialer {
  private readonly addresses: string[]
  private readonly dial: (address: string, signal: AbortSignal) => Promise<void>
  private readonly connectionCount: () => number
  private readonly maxDelay: number
  private readonly backoff: Backoff
  private timer: NodeJS.Timeout | undefined
  private controller: AbortController | undefined
  private running = false
  private readonly onFailure: ((errors: unknown[], retryIn: number) => void) | undefined

  constructor (init: {
    addresses: string[]
    dial: (address: string, signal: AbortSignal) => Promise<void>
    connectionCount: () => number
    minDelay: number
    maxDelay: number
    /** Every bootstrap address failed; the next attempt is `retryIn` ms away. */
    onFailure?: (errors: unknown[], retryIn: number) => void
  }) {
    this.addresses = init.addresses
    this.dial = init.dial
    this.connectionCount = init.connectionCount
    this.maxDelay = init.maxDelay
    this.backoff = new Backoff(init.minDelay, init.maxDelay)
    this.onFailure = init.onFailure
  }

  start (): void {
    if (this.running || this.addresses.length === 0) return
    this.running = true
    this.controller = new AbortController()
    this.schedule(0)
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)
    this.controller?.abort()
  }

  private schedule (delay: number): void {
    if (!this.running) return
    this.timer = setTimeout(() => { void this.attempt() }, delay)
    this.timer.unref()
  }

  private async attempt (): Promise<void> {
    if (this.connectionCount() > 0) {
      // Connected: membership and the DHT take it from here. Check again later in case the
      // node ends up alone (every member gone at once).
      this.backoff.reset()
      this.schedule(this.maxDelay)
      return
    }
    const signal = this.controller?.signal ?? AbortSignal.abort()
    const results = await Promise.allSettled(this.addresses.map(async (addr) => this.dial(addr, signal)))
    if (results.some((r) => r.status === 'fulfilled')) {
      this.backoff.reset()
      this.schedule(this.maxDelay)
      return
    }
    const retryIn = this.backoff.next()
    if (this.running) this.onFailure?.(results.map((r) => r.status === 'rejected' ? r.reason : undefined), retryIn)
    this.schedule(retryIn)
  }
}
