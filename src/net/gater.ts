import type { ConnectionGater, PeerId } from '@libp2p/interface'

/** What the gater asks of the node to cap connections per peer. */
export interface PeerConnectionCap {
  /** Most connections one peer may hold with us at once; an inbound one past it is refused. */
  max: number
  /** Connections now open with `peerId`. */
  count: (peerId: string) => number
  /** Told of each refusal. */
  onRefused: (peerId: string) => void
}

/**
 * The node's connection gater. The harness drives it to cut the network: a blocked peer can
 * neither dial nor be dialled. And it caps the connections one peer may open to us (an honest
 * peer keeps one, two for a moment when both dial at once). PeerIds are only known after
 * encryption, so the encrypted-connection hooks are the ones that catch inbound connections.
 */
export class NetGater implements ConnectionGater {
  private readonly blocked = new Set<string>()
  private readonly cap: PeerConnectionCap | undefined

  constructor (cap?: PeerConnectionCap) {
    this.cap = cap
  }

  block (peerIds: Iterable<string>): void {
    for (const id of peerIds) this.blocked.add(id)
  }

  unblock (peerIds?: Iterable<string>): void {
    if (peerIds === undefined) {
      this.blocked.clear()
      return
    }
    for (const id of peerIds) this.blocked.delete(id)
  }

  isBlocked (peerId: string): boolean {
    return this.blocked.has(peerId)
  }

  blockedPeers (): string[] {
    return [...this.blocked]
  }

  denyDialPeer = (peerId: PeerId): boolean => this.blocked.has(peerId.toString())
  denyInboundEncryptedConnection = (peerId: PeerId): boolean => {
    const id = peerId.toString()
    if (this.blocked.has(id)) return true
    if (this.cap === undefined || this.cap.count(id) < this.cap.max) return false
    this.cap.onRefused(id)
    return true
  }

  denyOutboundEncryptedConnection = (peerId: PeerId): boolean => this.blocked.has(peerId.toString())
  denyInboundUpgradedConnection = (peerId: PeerId): boolean => this.blocked.has(peerId.toString())
  denyOutboundUpgradedConnection = (peerId: PeerId): boolean => this.blocked.has(peerId.toString())
}
