import { Command, CommanderError, Option } from 'commander'
import { HearsayError, errorMessage } from '../errors.js'
import { startCommand } from './start.js'
import { collect, parseInteger, parseLogLevel, parseProfile } from './parse.js'
import { processOutput, type Output } from './output.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export function buildProgram (output: Output = processOutput): Command {
  const program = new Command()
  program
    .name('hearsay')
    .description('A peer-to-peer gossip network: run a peer, or talk to one.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => { process.stdout.write(s) },
      writeErr: (s) => { process.stderr.write(s) }
    })

  program.command('start')
    .description('run a peer until Ctrl-C; it joins through --bootstrap and finds the rest of its network in the DHT')
    .option('--data <dir>', 'data dir for the key and state', process.env.HEARSAY_DATA ?? './.hearsay')
    .option('--memory', 'keep nothing on disk: a fresh identity every start')
    .option('--network <name>', 'network to join', process.env.HEARSAY_NETWORK ?? 'default')
    .option('--listen <multiaddr>', 'address to listen on (repeatable)', collect)
    .option('--bootstrap <multiaddr>', 'address of a peer to join through (repeatable)', collect)
    .option('--priority <n>', 'election priority: the highest alive priority leads', parseInteger('--priority'), 0)
    .addOption(new Option('--profile <profile>', 'timer defaults: lan for real networks, local for peers on one machine').argParser(parseProfile).default('lan'))
    .option('--log-level <level>', 'error, warn, info or debug', parseLogLevel, 'info')
    .option('--json', 'print events as JSON lines')
    .action(async (options) => { await startCommand(options, output) })

  return program
}

/** Runs the CLI; resolves with the exit code. Errors are one line on stderr, never a stack. */
export async function main (argv: string[], output: Output = processOutput): Promise<number> {
  const program = buildProgram(output)
  try {
    await program.parseAsync(argv)
    return EXIT_OK
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK
      return EXIT_USAGE
    }
    const code = err instanceof HearsayError ? ` (${err.code})` : ''
    output.err(`hearsay: ${errorMessage(err)}${code}`)
    if (process.env.HEARSAY_DEBUG === '1') output.err(String((err as Error).stack))
    return EXIT_FAILURE
  }
}
