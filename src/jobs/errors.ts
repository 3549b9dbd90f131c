import { HearsayError } from '../errors.js'

export class InvalidJobError extends HearsayError {
  constructor (detail: string) {
    super('ERR_INVALID_JOB', `invalid job definition: ${detail}`)
  }
}

export class JobExistsError extends HearsayError {
  constructor (name: string) {
    super('ERR_JOB_EXISTS', `a job named ${JSON.stringify(name)} is already defined on this peer`)
  }
}

/** The reason a job's signal aborts with. */
export class LeadershipLostError extends HearsayError {
  constructor (why: string) {
    super('ERR_LEADERSHIP_LOST', `the job was stopped: ${why}`)
  }
}

export class JobTimeoutError extends HearsayError {
  constructor (name: string, ms: number) {
    super('ERR_JOB_TIMEOUT', `job ${JSON.stringify(name)} ran longer than its timeout of ${ms} ms`)
  }
}

/** A maintenance job refused to decide: a current member's version vector is unknown or too old, even after an anti-entropy round. */
export class StaleVectorError extends HearsayError {
  constructor (peerId: string) {
    super('ERR_STALE_VECTOR', `no fresh version vector from member ${peerId}: it did not answer an anti-entropy round; the job retries next period`)
  }
}
