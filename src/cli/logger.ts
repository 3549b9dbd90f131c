import { pino, type Logger } from 'pino'
import type { LogLevel, Output } from './output.js'

/**
 * The logger `hearsay start` hands the peer: pino JSON lines on stdout, through the same
 * Output as everything else the command prints (so lines never interleave mid-line), or
 * pino-pretty's colored lines when stdout is a terminal and `--json` was not asked for.
 */
export async function createCliLogger (level: LogLevel, json: boolean, output: Output): Promise<Logger> {
  if (!json && process.stdout.isTTY) {
    // Loaded only for people at a terminal: it is not needed to emit JSON.
    const { default: pretty } = await import('pino-pretty')
    return pino({ level }, pretty({
      colorize: true, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,component', messageFormat: '{if component}{component}: {end}{msg}'
    }))
  }
  return pino({ level }, { write: (line: string) => { output.out(line.endsWith('\n') ? line.slice(0, -1) : line) } })
}
