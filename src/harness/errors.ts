import { HearsayError } from '../errors.js'

export class ConvergenceTimeoutError extends HearsayError {
  constructor (timeout: number, detail: string) {
    super('ERR_CONVERGENCE_TIMEOUT', `the cluster did not converge within ${timeout} ms: ${detail}`)
  }
}

export class NoSuchPeerError extends HearsayError {
  constructor (index: number, size: number) {
    super('ERR_NO_SUCH_PEER', `there is no peer ${index} in a cluster of ${size}`)
  }
}

/** A peer process exited, or said nothing, before printing its `started` line. */
export class ProcessStartError extends HearsayError {
  constructor (index: number, detail: string) {
    super('ERR_PROCESS_START', `peer process ${index} did not start: ${detail}`)
  }
}

/** A peer process's API answered with an error, or did not answer. */
export class PeerApiError extends HearsayError {
  /** The HTTP status, or 0 when there was no answer. */
  readonly status: number

  constructor (code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.status = status
  }
}

/** An option the process cluster cannot pass on to `hearsay start`. */
export class UnsupportedOptionError extends HearsayError {
  constructor (option: string) {
    super('ERR_UNSUPPORTED_OPTION', `a process cluster cannot pass the peer option ${JSON.stringify(option)} to hearsay start: use priority, profile or sync, or an in-process cluster`)
  }
}

/** An operation on a peer process in a state that does not allow it (pausing a killed peer, ...). */
export class PeerStateError extends HearsayError {
  constructor (index: number, state: string, operation: string) {
    super('ERR_PEER_STATE', `cannot ${operation} peer ${index}: it is ${state}`)
  }
}
