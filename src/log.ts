/**
 * The logger every part takes: the subset of pino's that hearsay uses, so a pino logger
 * (or any logger with the same shape) can be passed in, and a library user who passes
 * none pays nothing. Each part logs through a child bound to `{ component }`.
 */
export interface Log {
  error: LogFn
  warn: LogFn
  info: LogFn
  debug: LogFn
  child: (bindings: Record<string, unknown>) => Log
}

export interface LogFn {
  (message: string): void
  (fields: Record<string, unknown>, message: string): void
}

export type Component = 'net' | 'membership' | 'replica' | 'election' | 'jobs' | 'storage' | 'observe' | 'events' | 'api' | 'peer'

const noop: LogFn = () => {}

/** Logs nothing: the default for an embedded peer. */
export const silentLog: Log = { error: noop, warn: noop, info: noop, debug: noop, child: () => silentLog }

/**
 * At most `limit` calls per `windowMs` go through; the rest are counted and summed up in
 * the first message of the next window. Garbage from the network arrives as fast as a
 * sender likes, and a log must not become the way to fill a disk.
 */
export function rateLimited (log: Log, level: 'error' | 'warn' | 'info' | 'debug', limit = 10, windowMs = 60_000, now: () => number = Date.now): LogFn {
  let windowStart = -Infinity
  let used = 0
  let suppressed = 0
  return ((first: string | Record<string, unknown>, second?: string) => {
    const t = now()
    if (t - windowStart >= windowMs) {
      windowStart = t
      used = 0
    }
    if (used >= limit) {
      suppressed++
      return
    }
    used++
    const fields = typeof first === 'string' ? {} : first
    const message = typeof first === 'string' ? first : second ?? ''
    if (suppressed > 0) {
      log[level]({ ...fields, suppressed }, `${message} (${suppressed} similar messages suppressed before this one)`)
      suppressed = 0
    } else {
      log[level](fields, message)
    }
  }) as LogFn
}

/** The levels hearsay logs at, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug'
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug']

/**
 * A running peer's log lines, for those who follow them (`GET /v1/monitor`): `subscribe` calls
 * `onLine` with each line (pino's JSON, without the newline) at `level` or more severe, whatever
 * level the peer itself logs at, until the returned function is called.
 */
export interface LogSource {
  subscribe: (level: LogLevel, onLine: (line: string) => void) => () => void
}
