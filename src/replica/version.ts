/**
 * A write's version as users see it: its dot written `<author>/<seq>` (the trace id), what
 * `get` reports, `If-Match` and `put --if` take, and a conditional write compares.
 */
import { InvalidVersionError } from './errors.js'
import type { Dot } from './types.js'
import { isSeq } from './validate.js'

export function formatVersion (dot: Dot): string {
  return `${dot.replica}/${dot.seq}`
}

/** Parses `<author>/<seq>`; throws InvalidVersionError when it is not one. */
export function parseVersion (version: string): Dot {
  const slash = version.lastIndexOf('/')
  const replica = version.slice(0, slash)
  const seq = Number(version.slice(slash + 1))
  if (slash <= 0 || !/^[0-9]+$/.test(version.slice(slash + 1)) || !isSeq(seq)) {
    throw new InvalidVersionError(`${JSON.stringify(version)} is not a version: write it as <author>/<seq>, as get reports it`)
  }
  return { replica, seq }
}
