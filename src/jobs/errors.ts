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
