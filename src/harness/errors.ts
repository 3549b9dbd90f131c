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
