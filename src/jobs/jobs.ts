import { silentLog, type Log } from '../log.js'
import type { Json } from '../replica/index.js'
import { InvalidJobError, JobExistsError, JobTimeoutError, LeadershipLostError } from './errors.js'

export interface JobOptions {
  /** How often the coordinator runs the job (ms). */
  every: number
  /** Run only while the coordinator reaches a majority of the known members. @default false */
  quorum?: boolean
  /** Abort a run that takes longer than this (ms). @default every */
  timeout?: number
}

export interface JobContext {
  /** The coordinator's term: the fencing token to attach to anything the job writes. */
  term: number
  /** Aborts the moment leadership (or the quorum, for quorum jobs) is lost, on timeout, or on stop. */
  signal: AbortSignal
}

export type JobOutcome = 'ok' | 'error' | 'aborted' | 'timeout'

/**
 * What a run may resolve to: `'idle'` says it found nothing to do, and such a run is not
 * recorded (a maintenance job that runs every second must not write every second).
 */
export type JobResult = void | 'idle'

export type JobFunction = (context: JobContext) => Promise<JobResult> | JobResult

export interface JobRun {
  name: string
  peer: string
  term: number
  /** ms since the epoch */
  start: number
  end: number
  outcome: JobOutcome
  error?: string
  /** The run found nothing to do (`'idle'`): reported to `onRun` listeners, never recorded in the store. */
  idle?: true
}

/** What this peer, as coordinator, may run now (the election's job lease, see src/election/lease.ts). */
export interface JobsLease {
  term: number
  /** The handover fence is open: the previous coordinator has stepped down, or cannot be running. */
  plain: boolean
  /** A majority lease is held: quorum jobs may run. */
  quorum: boolean
}

export interface JobInfo {
  name: string
  every: number
  quorum: boolean
  timeout: number
  /** Newest last; merged from every peer's records. */
  runs: JobRun[]
}

export interface JobsComponents {
  selfId: string
  /** The current coordinator, if any. */
  leader: () => { peerId: string, term: number } | undefined
  onLeaderChange: (listener: () => void) => () => void
  /** Membership: every member's state, self included. */
  members: () => Array<{ state: string }>
  onMembersChanged: (listener: () => void) => () => void
  /**
   * The job lease while this peer is coordinator. Without it a coordinator runs as soon as it
   * leads (no fence: for a peer alone, or tests of the scheduling itself).
   */
  lease?: () => JobsLease | undefined
  onLeaseChange?: (listener: () => void) => () => void
  /** Where this part logs (a pino logger, or any with the same methods). @default silent */
  logger?: Log
  /** The replicated store, where runs are recorded. */
  store: {
    put: (key: string, value: Json) => Promise<unknown>
    versions: (key: string) => Array<{ value: Json }>
  }
}

export interface JobsInit {
  /** How many runs to keep per job. @default 20 */
  keepRuns?: number
}

interface Defined {
  name: string
  options: Required<JobOptions>
  run: JobFunction
  timer?: NodeJS.Timeout
  running?: AbortController
  /** Due, but the lease did not allow it: runs as soon as it does. */
  blocked?: boolean
}

/** Where a job's last runs live in the replicated store. */
export function jobKey (name: string): string {
  return `hearsay/jobs/${name}`
}

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,127}$/

/** What a peer's users see of the jobs (`peer.jobs`): defining them and reading their runs. */
export interface JobsView {
  /** Registers a job on this peer; only the coordinator runs it. Throws InvalidJobError or JobExistsError. */
  define (name: string, options: JobOptions, run: JobFunction): void
  list (): JobInfo[]
  /** Recorded runs of a job, from every coordinator that ran it (siblings merged). */
  runs (name: string): JobRun[]
  /** Whether this peer reaches a majority of the members it knows (left members excluded). */
  hasQuorum (): boolean
  /**
   * Calls `listener` after every run this peer makes, idle ones included (`idle: true`), with
   * its peer, term, start and end: what a check that runs never overlap reads. Returns the
   * unsubscribe function.
   */
  onRun (listener: (run: JobRun) => void): () => void
}

/** The part as the peer wires it: the view and its lifecycle. */
export interface Jobs extends JobsView {
  start (): void
  stop (): void
}

export function createJobs (components: JobsComponents, init: JobsInit = {}): Jobs {
  return new LeaderJobs(components, init)
}

/**
 * Leader-only scheduled jobs. Every peer defines the same jobs; only the coordinator runs
 * them, with its term as the fencing token, and a run's signal aborts as soon as this peer
 * stops being coordinator (or loses its quorum, for quorum jobs).
 */
class LeaderJobs implements Jobs {
  private readonly components: JobsComponents
  private readonly keepRuns: number
  private readonly logger: Log
  private readonly jobs = new Map<string, Defined>()
  private term: number | undefined
  private running = false
  private readonly unsubscribe: Array<() => void> = []
  private readonly runListeners = new Set<(run: JobRun) => void>()

  constructor (components: JobsComponents, init: JobsInit = {}) {
    this.components = components
    this.keepRuns = init.keepRuns ?? 20
    this.logger = components.logger ?? silentLog
  }

  define (name: string, options: JobOptions, run: JobFunction): void {
    if (!NAME_PATTERN.test(name)) throw new InvalidJobError(`name ${JSON.stringify(name)} must be 1-128 letters, digits, '.', '_', ':' or '-'`)
    if (this.jobs.has(name)) throw new JobExistsError(name)
    if (!Number.isFinite(options.every) || options.every < 10) throw new InvalidJobError('every must be at least 10 ms')
    const timeout = options.timeout ?? options.every
    if (!Number.isFinite(timeout) || timeout <= 0) throw new InvalidJobError('timeout must be a positive number of ms')
    if (typeof run !== 'function') throw new InvalidJobError('run must be a function')
    const job: Defined = { name, options: { every: options.every, quorum: options.quorum ?? false, timeout }, run }
    this.jobs.set(name, job)
    if (this.term !== undefined) this.schedule(job)
  }

  list (): JobInfo[] {
    return [...this.jobs.values()].map((job) => ({
      name: job.name,
      every: job.options.every,
      quorum: job.options.quorum,
      timeout: job.options.timeout,
      runs: this.runs(job.name)
    }))
  }

  /** Recorded runs of a job, from every coordinator that ran it (siblings merged). */
  runs (name: string): JobRun[] {
    const seen = new Map<string, JobRun>()
    for (const version of this.components.store.versions(jobKey(name))) {
      if (!Array.isArray(version.value)) continue
      for (const item of version.value) {
        const run = item as unknown as JobRun
        if (typeof run?.peer !== 'string' || typeof run.start !== 'number') continue
        seen.set(`${run.peer}/${run.start}`, run)
      }
    }
    return [...seen.values()].sort((a, b) => a.start - b.start).slice(-this.keepRuns)
  }

  /** Whether this peer reaches a majority of the members it knows (left members excluded). */
  hasQuorum (): boolean {
    const known = this.components.members().filter((m) => m.state !== 'left')
    const reachable = known.filter((m) => m.state === 'alive')
    return reachable.length * 2 > known.length
  }

  onRun (listener: (run: JobRun) => void): () => void {
    this.runListeners.add(listener)
    return () => { this.runListeners.delete(listener) }
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.unsubscribe.push(this.components.onLeaderChange(() => { this.reconsider('this peer is no longer the coordinator') }))
    this.unsubscribe.push(this.components.onMembersChanged(() => { this.checkQuorum() }))
    if (this.components.onLeaseChange !== undefined) this.unsubscribe.push(this.components.onLeaseChange(() => { this.checkLease() }))
    this.reconsider('this peer is no longer the coordinator')
  }

  stop (): void {
    if (!this.running) return
    this.running = false
    for (const off of this.unsubscribe.splice(0)) off()
    this.halt('the peer is stopping')
  }

  private reconsider (why: string): void {
    const leader = this.components.leader()
    const term = leader?.peerId === this.components.selfId ? leader.term : undefined
    if (term === this.term) return
    this.halt(why)
    this.term = term
    // The first run goes as soon as the lease allows: the fence, not a guessed delay, keeps it
    // from overlapping the previous coordinator's last one.
    if (term !== undefined) for (const job of this.jobs.values()) this.schedule(job, 0)
  }

  /** Whether the lease lets `job` run in `term` now. */
  private allowed (job: Defined, term: number): boolean {
    if (this.components.lease === undefined) return true
    const lease = this.components.lease()
    if (lease?.term !== term) return false
    return job.options.quorum ? lease.quorum : lease.plain
  }

  /** The lease changed: abort what it no longer allows, start what was waiting for it. */
  private checkLease (): void {
    this.reconsider('this peer is no longer the coordinator')
    const term = this.term
    if (term === undefined) return
    for (const job of this.jobs.values()) {
      if (this.allowed(job, term)) {
        if (job.blocked === true) {
          job.blocked = false
          this.schedule(job, 0)
        }
      } else {
        job.running?.abort(new LeadershipLostError(job.options.quorum ? 'the coordinator lost its majority lease' : 'the coordinator\'s lease ran out'))
      }
    }
  }

  private checkQuorum (): void {
    if (this.term === undefined || this.hasQuorum()) return
    for (const job of this.jobs.values()) {
      if (job.options.quorum) job.running?.abort(new LeadershipLostError('the coordinator lost its quorum'))
    }
  }

  private halt (why: string): void {
    this.term = undefined
    for (const job of this.jobs.values()) {
      clearTimeout(job.timer)
      job.timer = undefined
      job.blocked = false
      job.running?.abort(new LeadershipLostError(why))
    }
  }

  /** Next run of `job` in `delay` ms (one period when not given); a run the lease does not allow waits for it. */
  private schedule (job: Defined, delay = job.options.every): void {
    clearTimeout(job.timer)
    const term = this.term
    if (term === undefined) return
    job.timer = setTimeout(() => {
      job.timer = undefined
      if (!this.allowed(job, term)) {
        if (this.term === term) job.blocked = true
        return
      }
      void this.runOnce(job, term).finally(() => {
        if (this.term === term && this.running) this.schedule(job)
      })
    }, delay)
  }

  private async runOnce (job: Defined, term: number): Promise<void> {
    if (this.term !== term || job.running !== undefined) return
    if (job.options.quorum && !this.hasQuorum()) return
    if (!this.allowed(job, term)) return
    const controller = new AbortController()
    job.running = controller
    const timer = setTimeout(() => { controller.abort(new JobTimeoutError(job.name, job.options.timeout)) }, job.options.timeout)
    const start = Date.now()
    let outcome: JobOutcome = 'ok'
    let error: string | undefined
    let result: JobResult | undefined
    try {
      result = await Promise.race([
        Promise.resolve(job.run({ term, signal: controller.signal })),
        new Promise<never>((_resolve, reject) => {
          controller.signal.addEventListener('abort', () => { reject(controller.signal.reason) }, { once: true })
        })
      ])
    } catch (err) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err
      outcome = reason instanceof JobTimeoutError ? 'timeout' : controller.signal.aborted ? 'aborted' : 'error'
      error = reason instanceof Error ? reason.message : String(reason)
    } finally {
      clearTimeout(timer)
      job.running = undefined
    }
    const end = Date.now()
    const run: JobRun = { name: job.name, peer: this.components.selfId, term, start, end, outcome, ...(error === undefined ? {} : { error }) }
    for (const listener of this.runListeners) {
      try {
        listener(outcome === 'ok' && result === 'idle' ? { ...run, idle: true } : run)
      } catch (err) {
        this.logger.warn({ err, job: job.name }, 'a job run listener threw')
      }
    }
    if (outcome === 'ok' && result === 'idle') return
    const fields = { job: job.name, term, outcome, ms: Date.now() - start, ...(error === undefined ? {} : { error }) }
    if (outcome === 'ok') this.logger.debug(fields, `job ${job.name} ran`)
    else this.logger.warn(fields, `job ${job.name} ${outcome === 'error' ? `failed: ${error ?? ''}` : outcome === 'timeout' ? 'timed out' : 'was aborted'}`)
    await this.record(run)
  }

  private async record (run: JobRun): Promise<void> {
    const runs = [...this.runs(run.name), run].slice(-this.keepRuns)
    try {
      await this.components.store.put(jobKey(run.name), runs as unknown as Json)
    } catch (err) {
      // The store refused (stopping): the run happened but is not on record.
      this.logger.debug({ err, job: run.name }, 'a job run could not be recorded')
    }
  }
}
