import { HearsayError } from '../errors.js'

export class InvalidNetworkNameError extends HearsayError {
  constructor (name: string) {
    super('ERR_INVALID_NETWORK_NAME', `network name ${JSON.stringify(name)} is not valid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  }
}

export class InvalidMultiaddrError extends HearsayError {
  constructor (addr: string, cause?: unknown) {
    super('ERR_INVALID_MULTIADDR', `${JSON.stringify(addr)} is not a valid multiaddr (for example /ip4/127.0.0.1/tcp/4001/p2p/<peer id>)`, { cause })
  }
}

export class KeyFileError extends HearsayError {
  constructor (path: string, detail: string, cause?: unknown) {
    super('ERR_KEY_FILE', `cannot use the key file ${path}: ${detail}`, { cause })
  }
}

export class InvalidPeerIdError extends HearsayError {
  constructor (peerId: string, cause?: unknown) {
    super('ERR_INVALID_PEER_ID', `${JSON.stringify(peerId.slice(0, 80))} is not a valid PeerId`, { cause })
  }
}

/** A message on a hearsay stream protocol is over that protocol's limit. */
export class StreamMessageTooLargeError extends HearsayError {
  constructor (limit: number) {
    super('ERR_MESSAGE_TOO_LARGE', `a stream message exceeded the limit of ${limit} bytes`)
  }
}

export class UnsupportedKeyTypeError extends HearsayError {
  constructor (type: string) {
    super('ERR_UNSUPPORTED_KEY_TYPE', `a ${type} key signs asynchronously; hearsay needs an Ed25519 key: move the key file away to start with a new identity`)
  }
}

export class StreamTimeoutError extends HearsayError {
  constructor (what: string, ms: number) {
    super('ERR_STREAM_TIMEOUT', `${what} did not complete within ${ms} ms`)
  }
}

export class NotStartedError extends HearsayError {
  constructor () {
    super('ERR_NOT_STARTED', 'the network node is not started: call start() first')
  }
}

/** A channel was stopped, or the stream to a peer ended while a request waited for its reply. */
export class ChannelClosedError extends HearsayError {
  constructor (protocol: string, peerId?: string) {
    super('ERR_CHANNEL_CLOSED', peerId === undefined ? `the ${protocol} channel is stopped` : `the ${protocol} stream to ${peerId} ended`)
  }
}

/** A frame on a channel stream did not parse: the stream is ended. */
export class ChannelFrameError extends HearsayError {
  constructor (detail: string) {
    super('ERR_CHANNEL_FRAME', `malformed channel frame: ${detail}`)
  }
}

/** Too many requests wait for an answer on one stream. */
export class ChannelOverloadError extends HearsayError {
  constructor (protocol: string, peerId: string, limit: number) {
    super('ERR_CHANNEL_OVERLOAD', `more than ${limit} ${protocol} requests to or from ${peerId} wait for an answer`)
  }
}
