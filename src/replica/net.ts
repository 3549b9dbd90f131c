import type { NetNode } from '../net/index.js'

/** What the store needs of the network node: streams, gossip topics, signing and verifying. */
export type ReplicationNet = Pick<NetNode,
'peerId' | 'protocol' | 'handle' | 'unhandle' | 'openStream' | 'subscribe' | 'unsubscribe' | 'publish' |
'addEventListener' | 'removeEventListener' | 'sign' | 'verify' | 'topicPeers'>
