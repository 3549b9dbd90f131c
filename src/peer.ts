import { mkdir } from 'node:fs/promises'
import { TypedEventTarget } from './events.js'
import { createNetNode, type NetNode } from './net/index.js'
import { Membership, type Member, type MembershipEvents } from './membership/index.js'
import { lockDataDir, type DataDirLock } from './storage/index.js'
import type { PeerOptions } from './options.js'

export type PeerEvents = MembershipEvents

export interface StopOptions {
  /**
   * `true` (the default) tells the other members this peer has left. `false` stops
   * abruptly, like a crash: others find out through failure detection.
   */
  graceful?: boolean
}

export interface Peer extends TypedEventTarget<PeerEvents> {
  readonly peerId: string
  readonly network: string
  readonly dataDir: string | undefined
  /** Listen addresses others can dial, each ending in /p2p/<peerId>. */
  addresses (): string[]
  start (): Promise<void>
  stop (options?: StopOptions): Promise<void>
  isRunning (): boolean
  /** This peer's view of the members, itself included (marked `self`). */
  members (): Member[]
  /** The libp2p side, for the harness and diagnostics: connections, blocks, lookups. */
  readonly net: NetNode
  readonly membership: Membership
}

/**
 * Creates a peer. Its identity is loaded (or created) at once, so `peerId` is known before
 * `start()`; nothing listens until then.
 */
export async function createPeer (options: PeerOptions = {}): Promise<Peer> {
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const net = await createNetNode({
    network: options.network,
    dataDir: options.dataDir,
    listen: options.listen,
    bootstrap: options.bootstrap,
    profile: options.profile,
    discovery: options.discovery,
    psk: options.psk
  })
  return new HearsayPeer(net, options)
}

class HearsayPeer extends TypedEventTarget<PeerEvents> implements Peer {
  readonly net: NetNode
  readonly membership: Membership
  readonly dataDir: string | undefined
  private running = false
  private lock: DataDirLock | undefined
  private transition: Promise<void> = Promise.resolve()

  constructor (net: NetNode, options: PeerOptions) {
    super()
    this.net = net
    this.dataDir = options.dataDir
    this.membership = new Membership({ net }, {
      dataDir: options.dataDir,
      priority: options.priority,
      tags: options.tags,
      profile: options.profile,
      timing: options.membership
    })
    for (const type of ['member:join', 'member:leave', 'member:fail', 'member:update', 'member:reap'] as const) {
      this.membership.addEventListener(type, (event) => { this.emit(type, event.detail) })
    }
  }

  get peerId (): string {
    return this.net.peerId
  }

  get network (): string {
    return this.net.network
  }

  addresses (): string[] {
    return this.net.addresses()
  }

  isRunning (): boolean {
    return this.running
  }

  members (): Member[] {
    return this.membership.members()
  }

  async start (): Promise<void> {
    this.transition = this.transition.then(async () => {
      if (this.running) return
      if (this.dataDir !== undefined) this.lock = await lockDataDir(this.dataDir)
      try {
        await this.net.start()
        await this.membership.start()
      } catch (err) {
        await this.net.stop().catch(() => {})
        await this.lock?.release()
        throw err
      }
      this.running = true
    })
    await this.transition
  }

  async stop (options: StopOptions = {}): Promise<void> {
    this.transition = this.transition.catch(() => {}).then(async () => {
      if (!this.running) return
      this.running = false
      // Reverse order of start: the protocol first (it may announce `left`), then the node.
      await this.membership.stop({ announce: options.graceful !== false })
      await this.net.stop()
      await this.lock?.release()
      this.lock = undefined
    })
    await this.transition
  }
}
