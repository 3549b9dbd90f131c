import type { ElectionOptions } from './constants.js'
import { InvalidElectionOptionsError } from './errors.js'

/** Checks a set of election timers before a machine runs on them: each positive, and in the order the protocol needs. */
export function validateElectionOptions (options: ElectionOptions): void {
  for (const key of ['heartbeatInterval', 'heartbeatTimeout', 'answerTimeout', 'coordinatorTimeout'] as const) {
    const value = options[key]
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new InvalidElectionOptionsError(`election option ${key} must be a positive number of ms, got ${String(value)}`)
    }
  }
  if (options.heartbeatTimeout <= options.heartbeatInterval) {
    throw new InvalidElectionOptionsError('election option heartbeatTimeout must be longer than heartbeatInterval, or followers give up between two heartbeats')
  }
  if (options.coordinatorTimeout <= options.answerTimeout) {
    throw new InvalidElectionOptionsError('election option coordinatorTimeout must be longer than answerTimeout, or an answered candidate gives up before the peer that answered can take over')
  }
}
