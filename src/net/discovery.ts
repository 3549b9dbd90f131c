import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { ContentRouting } from '@libp2p/interface'
import type { DiscoveryTiming } from './constants.js'

export interface DiscoveredPeer {
  peerId: string
  addresses: string[]
}

export interface DhtDiscoveryComponents {
  contentRouting: ContentRouting
  selfId: string
  onFound: (peer: DiscoveredPeer) => void
  onError: (err: unknown) => void
}

/** The key every member of a network advertises itself under. */
export async function networkKey (network: string): Promise<CID> {
  const digest = await sha256.digest(new TextEncoder().encode(`hearsay/${network}/members`))
  return CID.createV1(raw.code, digest)
}

/**
 * Members find one another through the DHT, not only through whoever the bootstrap peer is
 * connected to: each member provides the network key and looks up its providers, quickly at
 * first and then ever less often (the wait doubles up to `interval`), so a member that joined
 * through anyone is found while an idle network is not kept busy by its own lookups.
 */
export class DhtDiscovery {
  private readonly components: DhtDiscoveryComponents
  private readonly timing: DiscoveryTiming
  private readonly key: CID
  private timer: NodeJS.Timeout | undefined
  private controller: AbortController | undefined
  private running = false
  private rounds = 0
  private wait = 0
  /** When this peer's provider record was last announced (ms since the epoch); 0 = not yet. */
  private providedAt = 0
  private inFlight: Promise<void> | undefined

  constructor (components: DhtDiscoveryComponents, init: { key: CID, timing: DiscoveryTiming }) {
    this.components = components
    this.timing = init.timing
    this.key = init.key
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.rounds = 0
    this.wait = this.timing.initialInterval
    this.providedAt = 0
    this.controller = new AbortController()
    this.schedule(0)
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.timer)
    this.controller?.abort()
    await this.inFlight
  }

  /** One lookup now, outside the schedule: every provider found within `timeout` ms. */
  async lookup (timeout: number): Promise<DiscoveredPeer[]> {
    const found = new Map<string, DiscoveredPeer>()
    const signal = this.roundSignal(timeout)
    try {
      for await (const provider of this.components.contentRouting.findProviders(this.key, { signal })) {
        const peerId = provider.id.toString()
        if (peerId === this.components.selfId) continue
        const peer = { peerId, addresses: provider.multiaddrs.map(String) }
        found.set(peerId, peer)
        this.components.onFound(peer)
      }
    } catch (err) {
      if (!signal.aborted) throw err
    }
    return [...found.values()]
  }

  private schedule (delay: number): void {
    if (!this.running) return
    this.timer = setTimeout(() => {
      this.inFlight = this.round().finally(() => {
        this.inFlight = undefined
        this.rounds++
        if (this.rounds >= this.timing.initialRounds) this.wait = Math.min(this.wait * 2, this.timing.interval)
        this.schedule(Math.round(this.wait * (0.9 + Math.random() * 0.2)))
      })
    }, delay)
    this.timer.unref()
  }

  private async round (): Promise<void> {
    const budget = Math.max(this.timing.initialInterval * 4, 2_000)
    // Announce in each of the fast rounds (the peers closest to the key change while a network
    // forms), until it worked once, and then only when the record is due again. Each announce
    // is a DHT query and a record sent to up to k peers, and every one of them reads k peers
    // from its peer store to answer: in a network of twenty that announced in four more rounds,
    // each peer served about 100 peer-store reads a second for the DHT in its first minute,
    // while membership had already spread every join.
    const settling = this.rounds < this.timing.initialRounds
    if (this.providedAt === 0 || settling || Date.now() - this.providedAt >= this.timing.reprovideInterval) {
      try {
        // Providing must reach the peers closest to the key, or lookups miss us: give it longer.
        await this.components.contentRouting.provide(this.key, { signal: this.roundSignal(budget * 3) })
        this.providedAt = Date.now()
      } catch (err) {
        if (this.running) this.components.onError(err)
      }
    }
    if (!this.running) return
    try {
      await this.lookup(budget)
    } catch (err) {
      if (this.running) this.components.onError(err)
    }
  }

  private roundSignal (timeout: number): AbortSignal {
    const signals = [AbortSignal.timeout(timeout)]
    if (this.controller !== undefined) signals.push(this.controller.signal)
    return AbortSignal.any(signals)
  }
}
