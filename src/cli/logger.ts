/**
 * The logger `hearsay start` hands the peer: pino JSON lines on stdout, through the same Output
 * as everything else the command prints (so lines never interleave mid-line), or pino-pretty's
 * colored lines when stdout is a terminal and `--json` was not asked for.
 *
 * Its level changes while the peer runs (SIGHUP / `hearsay reload`), and `hearsay monitor`
 * follows its lines at a level of its own, even below the peer's. pino fixes a child logger's
 * level when the child is made, and every part holds children made at start-up, so the level
 * is not pino's: pino logs everything it is given, and this wrapper decides, per call, whether
 * the output and the monitor tap want the line. A disabled level costs one comparison.
 */
import { pino, type Logger } from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import type { Log, LogLevel, LogSource } from '../log.js'
import type { Output } from './output.js'

/** pino's numbers for the levels (fatal and trace too: fastify calls them). */
const VALUE = { fatal: 60, error: 50, warn: 40, info: 30, debug: 20, trace: 10 } as const
type Method = keyof typeof VALUE

interface Shared {
  /** Lines at or above this value go to the output. */
  output: number
  /** Lines at or above this value go to the tap (Infinity while nobody follows). */
  tap: number
}

type Args = [string] | [Record<string, unknown>, string] | [Record<string, unknown>]

/** Our Log, and enough of pino's shape for fastify (`loggerInstance`). */
class LevelledLog implements Log {
  private readonly out: Logger
  private readonly tapped: Logger
  private readonly shared: Shared

  constructor (out: Logger, tapped: Logger, shared: Shared) {
    this.out = out
    this.tapped = tapped
    this.shared = shared
  }

  readonly fatal = (...args: Args): void => { this.emit('fatal', args) }
  readonly error = (...args: Args): void => { this.emit('error', args) }
  readonly warn = (...args: Args): void => { this.emit('warn', args) }
  readonly info = (...args: Args): void => { this.emit('info', args) }
  readonly debug = (...args: Args): void => { this.emit('debug', args) }
  readonly trace = (...args: Args): void => { this.emit('trace', args) }
  readonly silent = (): void => {}

  /** What fastify reads; the real level is the output's. */
  get level (): string {
    return (Object.keys(VALUE) as Method[]).find((m) => VALUE[m] === this.shared.output) ?? 'info'
  }

  set level (_value: string) {
    // fastify may set a child's level per route; hearsay's level is set for the whole peer only.
  }

  child (bindings: Record<string, unknown>): LevelledLog {
    return new LevelledLog(this.out.child(bindings), this.tapped.child(bindings), this.shared)
  }

  private emit (method: Method, args: Args): void {
    const value = VALUE[method]
    if (value >= this.shared.output) (this.out[method] as (...a: unknown[]) => void)(...args)
    if (value >= this.shared.tap) (this.tapped[method] as (...a: unknown[]) => void)(...args)
  }
}

export interface CliLogger {
  /** What the peer and its API log through. */
  readonly log: Log & FastifyBaseLogger
  /** The level of the output now. */
  level: () => LogLevel
  /** Changes the output's level at once, for every part. */
  setLevel: (level: LogLevel) => void
  /** The log lines for `GET /v1/monitor`. */
  readonly source: LogSource
}

/** Most subscribers one peer's log tap serves at once. */
const MAX_TAP_SUBSCRIBERS = 64

export async function createCliLogger (level: LogLevel, json: boolean, output: Output): Promise<CliLogger> {
  let out: Logger
  if (!json && process.stdout.isTTY) {
    // Loaded only for people at a terminal: it is not needed to emit JSON.
    const { default: pretty } = await import('pino-pretty')
    out = pino({ level: 'trace' }, pretty({
      colorize: true, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,component', messageFormat: '{if component}{component}: {end}{msg}'
    }))
  } else {
    out = pino({ level: 'trace' }, { write: (line: string) => { output.out(line.endsWith('\n') ? line.slice(0, -1) : line) } })
  }
  const subscribers = new Set<{ min: number, onLine: (line: string) => void }>()
  const shared: Shared = { output: VALUE[level], tap: Infinity }
  const retap = (): void => { shared.tap = Math.min(Infinity, ...[...subscribers].map((s) => s.min)) }
  const tapped = pino({ level: 'trace' }, {
    write: (text: string) => {
      const line = text.endsWith('\n') ? text.slice(0, -1) : text
      // pino writes `{"level":N,` first: enough to route the line without parsing it.
      const value = Number(/^\{"level":(\d+)/.exec(line)?.[1] ?? 0)
      for (const s of subscribers) if (value >= s.min) s.onLine(line)
    }
  })
  const log = new LevelledLog(out, tapped, shared)
  return {
    log: log as unknown as Log & FastifyBaseLogger,
    level: () => (Object.keys(VALUE) as Method[]).find((m) => VALUE[m] === shared.output) as LogLevel,
    setLevel: (next) => { shared.output = VALUE[next] },
    source: {
      subscribe (min, onLine) {
        if (subscribers.size >= MAX_TAP_SUBSCRIBERS) throw new Error(`at most ${MAX_TAP_SUBSCRIBERS} followers of the log at once`)
        const subscriber = { min: VALUE[min], onLine }
        subscribers.add(subscriber)
        retap()
        return () => {
          subscribers.delete(subscriber)
          retap()
        }
      }
    }
  }
}
