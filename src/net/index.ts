export { createNetNode, parseMultiaddr, parsePeerId } from './node.js'
export type {
  NetNode, NetComponents, NetInit, NetEvents, StreamHandlerOptions, OpenStreamOptions, ConnectionInfo, GossipVerdict, PubsubMessage, TopicMesh, TopicOptions
} from './types.js'
export type { MessageStream } from './stream.js'
export type { DiscoveredPeer } from './discovery.js'
export { protocolId, NETWORK_NAME_PATTERN, DEFAULT_MAX_MESSAGE_BYTES } from './constants.js'
export type { DiscoveryTiming } from './constants.js'
export * from './errors.js'
export { generatePsk, validatePsk, InvalidPskError } from './pnet.js'
export { decodeEnvelope, encodeEnvelope, openEnvelope, seal, signingInput, MalformedEnvelopeError } from './envelope.js'
export type { Envelope } from './envelope.js'
export { StreamChannel, olderVersions, encodeFrame, decodeFrame, FRAME_KIND } from './channel.js'
export type { ChannelHandler, ChannelInit, ChannelNet, ChannelTarget } from './channel.js'
