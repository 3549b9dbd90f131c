import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { pushable, type Pushable } from 'it-pushable'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { StreamMessageTooLargeError, StreamTimeoutError } from './errors.js'

/**
 * A stream of length-prefixed messages to or from one peer. It hides libp2p's stream type so
 * the parts above `src/net` never depend on it (libp2p 3 replaces `sink`/`source`).
 */
export interface MessageStream extends AsyncIterable<Uint8Array> {
  readonly remotePeer: string
  /** Queue one message; it is framed with a varint length prefix. */
  send (message: Uint8Array): void
  /** Wait for the next message, or `undefined` when the remote closed its side. */
  next (options?: { timeout?: number }): Promise<Uint8Array | undefined>
  /** Finish writing and close the stream gracefully. */
  close (): Promise<void>
  /** Tear the stream down at once. */
  abort (err?: Error): void
}

/** Every message with its varint length prefix, as one chunk each. */
async function * framed (source: AsyncIterable<Uint8Array>, maxMessageBytes: number): AsyncGenerator<Uint8ArrayList> {
  for await (const message of source) yield lp.encode.single(message, { maxDataLength: maxMessageBytes })
}

/** How long a graceful close may take before the stream is aborted. @default 2_000 (ms) */
const CLOSE_TIMEOUT = 2_000

export function wrapStream (stream: Stream, remotePeer: string, maxMessageBytes: number): MessageStream {
  const outbound: Pushable<Uint8Array> = pushable()
  // The same limit both ways: what we send, a peer with our settings can read. Each message
  // leaves as one chunk, its length prefix with it (lp.encode yields the two apart): the muxer
  // makes a frame of every chunk, and the peer answers every frame with a window update, so
  // two chunks cost twice the frames, encryptions and socket writes at both ends.
  const sinkDone = pipe(outbound, (source) => framed(source, maxMessageBytes), stream.sink).catch(() => {
    // The stream was reset or aborted; readers learn of it through the source.
  })
  const decoded = lp.decode(stream.source, { maxDataLength: maxMessageBytes })
  const iterator = decoded[Symbol.asyncIterator]()
  let closed = false

  async function readNext (): Promise<Uint8Array | undefined> {
    try {
      const result = await iterator.next()
      if (result.done === true) return undefined
      return result.value.subarray()
    } catch (err) {
      if ((err as { name?: string }).name === 'InvalidDataLengthError') {
        stream.abort(new StreamMessageTooLargeError(maxMessageBytes))
        throw new StreamMessageTooLargeError(maxMessageBytes)
      }
      throw err
    }
  }

  return {
    remotePeer,
    send (message) {
      if (!closed) outbound.push(message)
    },
    async next (options) {
      const timeout = options?.timeout
      if (timeout === undefined) return readNext()
      let timer: NodeJS.Timeout | undefined
      const expired = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          const err = new StreamTimeoutError('waiting for a reply', timeout)
          stream.abort(err)
          reject(err)
        }, timeout)
      })
      try {
        return await Promise.race([readNext(), expired])
      } finally {
        clearTimeout(timer)
      }
    },
    async close () {
      if (closed) return
      closed = true
      outbound.end()
      // A remote that stops reading (dead, partitioned, or hostile) must not hold us forever.
      const graceful = (async () => {
        await sinkDone
        await stream.close()
      })()
      let timer: NodeJS.Timeout | undefined
      const expired = new Promise<'expired'>((resolve) => { timer = setTimeout(() => { resolve('expired') }, CLOSE_TIMEOUT) })
      try {
        const outcome = await Promise.race([graceful.then(() => 'closed' as const), expired])
        if (outcome === 'expired') stream.abort(new StreamTimeoutError('closing a stream', CLOSE_TIMEOUT))
      } catch {
        stream.abort(new Error('close failed'))
      } finally {
        clearTimeout(timer)
      }
    },
    abort (err) {
      closed = true
      outbound.end()
      stream.abort(err ?? new Error('aborted'))
    },
    async * [Symbol.asyncIterator] () {
      while (true) {
        const message = await readNext()
        if (message === undefined) return
        yield message
      }
    }
  }
}
