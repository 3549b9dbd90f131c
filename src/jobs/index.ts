export { Jobs, jobKey } from './jobs.js'
export type { JobOptions, JobContext, JobOutcome, JobRun, JobInfo, JobsComponents, JobsInit } from './jobs.js'
export * from './errors.js'
