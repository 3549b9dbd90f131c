import { LOG_LEVELS, type LogLevel } from '../log.js'
export { LOG_LEVELS, type LogLevel }

/** What the CLI prints for people: stdout for results, stderr for diagnostics. */
export interface Output {
  out (line: string): void
  err (line: string): void
}

export const processOutput: Output = {
  out: (line) => { process.stdout.write(line + '\n') },
  err: (line) => { process.stderr.write(line + '\n') }
}

export function levelEnabled (current: LogLevel, wanted: LogLevel): boolean {
  return LOG_LEVELS.indexOf(wanted) <= LOG_LEVELS.indexOf(current)
}
