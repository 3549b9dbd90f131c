import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'

/**
 * When a yamux stream gives its sender new credit (a window update frame).
 *
 * `@chainsafe/libp2p-yamux` 7 sends a window update after every data frame the reader consumes,
 * so each small message costs a second frame the other way: a second encryption, a second socket
 * write at one end and a second read at the other. On an idle peer that was half of all frames
 * (membership probes and election heartbeats are small messages on long-lived streams). This
 * receiver sends credit once half of its window or more is used, as rust-yamux does (its
 * `WindowUpdateMode::OnRead`, "send WindowUpdate message early"). It is a receiver-side choice
 * the yamux spec leaves to each end, so peers of either policy work together.
 *
 * A sender never waits for credit it would have had: it can only run out once the whole window
 * is used, and then the next message the reader consumes is past half the window and sends the
 * update. Streams that are still opening (SYN/ACK to send) or closing keep the package's policy.
 */
export const WINDOW_UPDATE_AT = 0.5

interface WindowState {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

let installed = false

/** Installs the policy on every yamux stream of this process (once; idempotent). */
export function useHalfWindowUpdates (): void {
  if (installed) return
  installed = true
  const original = YamuxStream.prototype.sendWindowUpdate
  YamuxStream.prototype.sendWindowUpdate = function (this: YamuxStream): void {
    const stream = this as unknown as WindowState
    if (stream.state === StreamState.Established && stream.recvWindowCapacity > stream.recvWindow * WINDOW_UPDATE_AT) return
    original.call(this)
  }
}
