import type { ConnectionGater, PeerId } from '@libp2p/interface'

/**
 * A connection gater the harness drives to cut the network: a blocked peer can neither dial
 * nor be dialled. PeerIds are only known after encryption, so the encrypted-connection hooks
 * are the ones that catch inbound connections.
 */
export class PartitionGater implements ConnectionGater {
  private readonly blocked = new Set<string>()

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
  denyInboundEncryptedConnection = (peerId: PeerId): boolean => this.blocked.has(peerId.toString())
  denyOutboundEncryptedConnection = (peerId: PeerId): boolean => this.blocked.has(peerId.toString())
  denyInboundUpgradedConnection = (peerId: PeerId): boolean => this.blocked.has(peerId.toString())
  denyOutboundUpgradedConnection = (peerId: PeerId): boolean => this.blocked.has(peerId.toString())
}
