import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The addresses a `lan` peer tells others. Listening on 0.0.0.0 expands to every interface,
 * loopback included; but 127.0.0.1 names a different host for every peer that hears it (a
 * dial there reaches the dialer's own machine), so a peer that has any other address
 * announces only those. A peer with nothing but loopback (every peer on one machine) keeps it.
 */
export function lanAnnounceFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
  const reachable = multiaddrs.filter((a) => !isLoopback(a))
  return reachable.length > 0 ? reachable : multiaddrs
}

function isLoopback (address: Multiaddr): boolean {
  let host: string
  try {
    host = address.toOptions().host
  } catch {
    // Not an IP address (a DNS name, a relay): not loopback as far as we can tell.
    return false
  }
  return host.startsWith('127.') || host === '::1' || host === 'localhost'
}
