import { describe, it, expect } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { lanAnnounceFilter } from '../../src/net/announce.js'

const strings = (list: string[]): string[] => lanAnnounceFilter(list.map((a) => multiaddr(a))).map(String)

describe('what a lan peer announces', () => {
  it('drops loopback when it has another address (a 0.0.0.0 listener), keeps it when it is all there is', () => {
    expect(strings(['/ip4/127.0.0.1/tcp/4001', '/ip4/10.77.1.2/tcp/4001', '/ip6/::1/tcp/4001'])).toEqual(['/ip4/10.77.1.2/tcp/4001'])
    expect(strings(['/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/4001'])).toEqual(['/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/4001'])
    expect(strings(['/dns4/example.org/tcp/4001', '/ip4/127.0.0.1/tcp/1'])).toEqual(['/dns4/example.org/tcp/4001'])
  })
})
