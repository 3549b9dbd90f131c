import { Command, CommanderError, Option } from 'commander'
import { HearsayError, errorMessage } from '../errors.js'
import {
  putCommand, getCommand, delCommand, counterCommand, setCommand, lsCommand, membersCommand, leaderCommand, statusCommand, jobsCommand
} from './commands.js'
import type { ClientFlags } from './client.js'
import type { StartConfig } from './config.js'
import { collect, collectChoice, parseTag, parseAmount, parseHttpUrl, parseInteger, parseLogLevel, parseProfile } from './parse.js'
import { processOutput, type Output } from './output.js'
import type { Profile } from '../profile.js'
import { parseQueryTimeout } from './events.js'
import { VERSION } from '../version.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

interface StartOptions {
  data?: string
  memory?: boolean
  network?: string
  listen?: string[]
  bootstrap?: string[]
  api?: string
  priority?: number
  profile?: Profile
  logLevel?: StartConfig['logLevel']
  psk?: string
  writers?: string
  sync?: StartConfig['sync']
  otlp?: string
  config?: string
  tag?: Record<string, string>
  json?: boolean
  testFaults?: boolean
}

/** The options every client command shares: where the peer is, and how to print. */
function clientOptions (command: Command): Command {
  return command
    .option('--api <url>', 'the peer\'s API (default: $HEARSAY_API, or the api.url file in --data)')
    .option('--data <dir>', 'data dir of the peer to talk to (its api.url and api.token)', process.env.HEARSAY_DATA ?? './.hearsay')
    .option('--json', 'machine-readable output')
}

export function buildProgram (output: Output = processOutput): Command {
  const program = new Command()
  program
    .name('hearsay')
    .description('A peer-to-peer gossip network: run a peer, or talk to one.')
    .version(VERSION, '-V, --version', 'print hearsay\'s version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => { process.stdout.write(s) },
      writeErr: (s) => { process.stderr.write(s) }
    })

  program.command('start')
    .description('run a peer and its HTTP API until Ctrl-C; it joins through --bootstrap and finds the rest of its network in the DHT')
    .option('--data <dir>', 'data dir for the key, the log and the API token (default ./.hearsay)')
    .option('--memory', 'keep nothing on disk: a fresh identity every start')
    .option('--network <name>', 'network to join (default "default")')
    .option('--listen <multiaddr>', 'address to listen on (repeatable; default /ip4/127.0.0.1/tcp/0)', collect)
    .option('--bootstrap <multiaddr>', 'address of a peer to join through (repeatable)', collect)
    .option('--api <host:port>', 'where the HTTP API listens (default 127.0.0.1:0, written to DATA/api.url)')
    .option('--priority <n>', 'election priority: the highest alive priority leads (default 0)', parseInteger('--priority'))
    .option('--psk <file>', 'pre-shared key of a private network (see "hearsay key gen-psk")')
    .option('--writers <file>', 'only apply writes from these PeerIds (one a line)')
    .addOption(new Option('--profile <profile>', 'timer defaults: lan for real networks, local for peers on one machine').argParser(parseProfile))
    .addOption(new Option('--sync <policy>', 'when a write is durable: always (fsync), interval, none').choices(['always', 'interval', 'none']))
    .option('--otlp <url>', 'export write traces to this OpenTelemetry collector (OTLP/HTTP, e.g. http://127.0.0.1:4318); off by default', parseHttpUrl('--otlp'))
    .option('--tag <name=value>', 'a label the other members see (repeatable; "hearsay tags" changes them at runtime)', parseTag)
    .option('--config <file>', 'settings file (JSON or YAML); flags and HEARSAY_* win over it; SIGHUP or "hearsay reload" re-reads it')
    .option('--log-level <level>', 'error, warn, info or debug (default info)', parseLogLevel)
    .option('--json', 'print events as JSON lines')
    // For the multi-process harness and the chaos runner only, so not in the help.
    .addOption(new Option('--test-faults', 'serve the fault-injection routes under /v1/test (testing only)').hideHelp())
    .action(async (options: StartOptions) => {
      // Loaded here, not at the top: the config reader brings the YAML parser (80 modules), which
      // a client command does not need.
      const { configFromEnv, loadConfigFile, resolveConfig } = await import('./config.js')
      const file = options.config === undefined ? {} : await loadConfigFile(options.config)
      const { config: path, json, testFaults, tag, ...rest } = options
      const flags = { ...rest, ...(tag === undefined ? {} : { tags: tag }) }
      const env = configFromEnv(process.env)
      const resolved = resolveConfig(flags, env, file)
      // SIGHUP and `hearsay reload`: the file again, under the same flags and environment.
      const reread = path === undefined ? undefined : async () => ({ path, config: resolveConfig(flags, env, await loadConfigFile(path)) })
      // Loaded on demand: client commands should not pay for loading libp2p.
      const { startCommand } = await import('./start.js')
      await startCommand(resolved, {
        ...(json === undefined ? {} : { json }), ...(testFaults === true ? { testFaults } : {}), ...(reread === undefined ? {} : { reread })
      }, output)
    })

  clientOptions(program.command('put').argument('<key>').argument('<value>', 'JSON, or else taken as a string')
    .option('--if <version>', 'write only if the key\'s current version on this peer is this one (as get --json shows it); exit 1 otherwise')
    .option('--if-absent', 'write only if the key has no value on this peer; exit 1 otherwise')
    .description('write a value; returns once it is durable on the peer. Conditions are checked on this peer only: two peers can both accept concurrent conditional writes, which then become siblings'))
    .action(async (key: string, value: string, flags: ClientFlags & { if?: string, ifAbsent?: boolean }) => { await putCommand(key, value, flags, output) })
  clientOptions(program.command('get').argument('<key>').option('--versions', 'every concurrent version, with its author')
    .description('read a value (exit 1 if the key has none)'))
    .action(async (key: string, flags: ClientFlags & { versions?: boolean }) => { await getCommand(key, flags, output) })
  clientOptions(program.command('del').argument('<key>').description('delete a key (the versions this peer has seen)'))
    .action(async (key: string, flags: ClientFlags) => { await delCommand(key, flags, output) })
  clientOptions(program.command('incr').argument('<key>').argument('[by]', 'how much to add (a number above 0)', parseAmount, 1)
    .description('add to a counter (a PN-counter: concurrent additions on different peers all count); prints the total'))
    .action(async (key: string, by: number, flags: ClientFlags) => { await counterCommand(key, by, 1, flags, output) })
  clientOptions(program.command('decr').argument('<key>').argument('[by]', 'how much to subtract (a number above 0)', parseAmount, 1)
    .description('subtract from a counter; prints the total'))
    .action(async (key: string, by: number, flags: ClientFlags) => { await counterCommand(key, by, -1, flags, output) })
  const set = program.command('set').description('sets (add-wins OR-sets): add and remove elements')
  clientOptions(set.command('add').argument('<key>').argument('<element>', 'JSON, or else taken as a string')
    .description('add an element to the set at KEY; prints the members'))
    .action(async (key: string, element: string, flags: ClientFlags) => { await setCommand('add', key, element, flags, output) })
  clientOptions(set.command('rm').argument('<key>').argument('<element>', 'JSON, or else taken as a string')
    .description('remove an element from the set at KEY (an add made concurrently elsewhere survives); prints the members'))
    .action(async (key: string, element: string, flags: ClientFlags) => { await setCommand('remove', key, element, flags, output) })
  clientOptions(program.command('ls').argument('[prefix]')
    .option('--keys', 'names only')
    .option('--limit <n>', 'at most this many keys (one page, in key order)', parseInteger('--limit'))
    .option('--after <key>', 'only keys after this one (the next page)')
    .description('list keys and values under a prefix, in key order'))
    .action(async (prefix: string | undefined, flags: ClientFlags & { keys?: boolean, limit?: number, after?: string }) => { await lsCommand(prefix, flags, output) })
  clientOptions(program.command('watch').argument('[prefix]')
    .option('--snapshot', 'print the current entries first')
    .option('--events', 'print the peer\'s events (members joining, leaving, failing; coordinator changes) instead of key changes')
    .option('--type <type>', 'with --events: only this kind (member, leader, ...; repeatable)', collect)
    .description('print every change under a prefix until Ctrl-C; after a lost connection it reconnects by itself and resumes where it was'))
    .action(async (prefix: string | undefined, flags: ClientFlags & { snapshot?: boolean, events?: boolean, type?: string[] }) => {
      if (flags.events === true) {
        if (prefix !== undefined || flags.snapshot === true) throw new CommanderError(EXIT_USAGE, 'hearsay.usage', 'error: --events takes no prefix and no --snapshot')
        const { eventsCommand } = await import('./streams.js')
        await eventsCommand(flags, output)
        return
      }
      if (flags.type !== undefined) throw new CommanderError(EXIT_USAGE, 'hearsay.usage', 'error: --type goes with --events')
      const { watchCommand } = await import('./watch.js')
      await watchCommand(prefix, flags, output)
    })
  clientOptions(program.command('monitor')
    .option('--log-level <level>', 'the least severe lines to show: error, warn, info or debug (default info), whatever the peer logs at', parseLogLevel)
    .description('follow the running peer\'s log lines until Ctrl-C'))
    .action(async (flags: ClientFlags & { logLevel?: ReturnType<typeof parseLogLevel> }) => {
      const { monitorCommand } = await import('./streams.js')
      await monitorCommand(flags, output)
    })
  clientOptions(program.command('members')
    .addOption(new Option('--state <state>', 'only members in this state (repeatable)').choices(['alive', 'suspect', 'dead', 'left']).argParser(collectChoice(['alive', 'suspect', 'dead', 'left'])))
    .option('--tag <name=value>', 'only members with this tag (repeatable: all must match)', parseTag)
    .description('the peer\'s view of the members'))
    .action(async (flags: ClientFlags & { state?: string[], tag?: Record<string, string> }) => { await membersCommand(flags, output) })
  clientOptions(program.command('join').argument('<multiaddr...>', 'addresses of members to join through')
    .description('join more members while running: dial each address and exchange membership views (exit 1 if none answers)'))
    .action(async (addresses: string[], flags: ClientFlags) => {
      const { joinCommand } = await import('./membership.js')
      await joinCommand(addresses, flags, output)
    })
  clientOptions(program.command('leave')
    .description('make the peer leave the network gracefully (the others see it left at once); then its process exits'))
    .action(async (flags: ClientFlags) => {
      const { leaveCommand } = await import('./membership.js')
      await leaveCommand(flags, output)
    })
  clientOptions(program.command('force-leave').argument('<peer-id>')
    .description('mark another member left everywhere: a dead one stops lingering; a live one refutes it'))
    .action(async (peerId: string, flags: ClientFlags) => {
      const { forceLeaveCommand } = await import('./membership.js')
      await forceLeaveCommand(peerId, flags, output)
    })
  const tags = program.command('tags').description('this peer\'s tags, which every member sees')
  clientOptions(tags.command('set').argument('<name=value...>').description('add or change tags; prints the tags now'))
    .action(async (pairs: string[], flags: ClientFlags) => {
      let set: Record<string, string>
      try {
        set = pairs.reduce<Record<string, string>>((acc, pair) => parseTag(pair, acc), {})
      } catch (err) {
        throw new CommanderError(EXIT_USAGE, 'hearsay.usage', `error: ${(err as Error).message}`)
      }
      const { tagsCommand } = await import('./membership.js')
      await tagsCommand(set, [], flags, output)
    })
  clientOptions(tags.command('delete').argument('<name...>').description('take tags out; prints the tags now'))
    .action(async (names: string[], flags: ClientFlags) => {
      const { tagsCommand } = await import('./membership.js')
      await tagsCommand({}, names, flags, output)
    })
  clientOptions(program.command('leader').description('the current coordinator and its term'))
    .action(async (flags: ClientFlags) => { await leaderCommand(flags, output) })
  clientOptions(program.command('status').description('peer, network, leader, members, keys, digest, and how far behind each member is'))
    .action(async (flags: ClientFlags) => { await statusCommand(flags, output) })
  clientOptions(program.command('jobs').description('coordination jobs and their last runs'))
    .action(async (flags: ClientFlags) => { await jobsCommand(flags, output) })
  clientOptions(program.command('trace').argument('<key>')
    .option('--timeout <ms>', 'how long to wait for the other members (default 2000)', parseInteger('--timeout'))
    .description('when and how each peer applied the last write of a key, and how long until the last one had it'))
    .action(async (key: string, flags: ClientFlags & { timeout?: number }) => {
      const { traceCommand } = await import('./observe.js')
      await traceCommand(key, flags, output)
    })

  clientOptions(program.command('event').argument('<name>', 'letters, digits or "_ . : @ + -"')
    .argument('[payload]', 'JSON, or else taken as a string; none sends null')
    .description('send a user event to every member (each gets it once, as a "user" event; nothing is stored)'))
    .action(async (name: string, payload: string | undefined, flags: ClientFlags) => {
      const { eventCommand } = await import('./events.js')
      await eventCommand(name, payload, flags, output)
    })
  clientOptions(program.command('query').argument('<name>', 'letters, digits or "_ . : @ + -"')
    .argument('[payload]', 'JSON, or else taken as a string; none sends null')
    .option('--timeout <ms>', 'how long to wait for answers, 1-60000 (default 2000)', parseQueryTimeout)
    .description('ask every member; those with a handler for NAME answer; prints the answers and who did not answer'))
    .action(async (name: string, payload: string | undefined, flags: ClientFlags & { timeout?: number }) => {
      const { queryCommand } = await import('./events.js')
      await queryCommand(name, payload, flags, output)
    })
  clientOptions(program.command('reload')
    .description('make the running peer re-read its --config file, as SIGHUP does: log level, tags and the writers list change at once; a bad file is refused and the old settings stay'))
    .action(async (flags: ClientFlags) => {
      const { reloadCommand } = await import('./runtime.js')
      await reloadCommand(flags, output)
    })
  program.command('validate')
    .description('check a config file as "start" would read it: "ok" and exit 0, or one line per problem and exit 1')
    .requiredOption('--config <file>', 'the settings file (JSON or YAML)')
    .option('--json', 'machine-readable output')
    .action(async (flags: { config: string, json?: boolean }) => {
      const { validateCommand } = await import('./runtime.js')
      await validateCommand(flags.config, flags, output)
    })

  program.command('version')
    .description('hearsay\'s version, the Node.js it runs on and the HTTP API version it serves')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }) => {
      const { API_VERSION } = await import('../api/constants.js')
      const info = { version: VERSION, node: process.versions.node, api: API_VERSION }
      output.out(flags.json === true ? JSON.stringify(info) : `hearsay ${info.version} (node ${info.node}, HTTP API ${info.api})`)
    })

  program.command('cluster')
    .description('run N local peers with their APIs and a live status view until Ctrl-C')
    .option('--peers <n>', 'how many peers', parseInteger('--peers'), 3)
    .option('--hosts', 'each peer its own process on its own host: a network namespace with its own address (needs root, ip and python3)')
    .option('--json', 'status as JSON lines')
    .action(async (flags: { peers: number, hosts?: boolean, json?: boolean }) => {
      if (flags.peers < 1 || flags.peers > 50) throw new HearsayError('ERR_BAD_REQUEST', '--peers must be between 1 and 50')
      const { hosts, ...rest } = flags
      if (hosts === true) {
        const { hostsClusterCommand } = await import('./cluster-hosts.js')
        await hostsClusterCommand(rest, output)
        return
      }
      const { clusterCommand } = await import('./cluster.js')
      await clusterCommand(rest, output)
    })

  const key = program.command('key').description('key management')
  key.command('gen-psk').argument('<file>').description('write a new private-network key (mode 0600)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, flags: { json?: boolean }) => {
      const { genPskCommand } = await import('./keys.js')
      await genPskCommand(file, flags, output)
    })

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
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK
      // Help shown because a command group was given no subcommand ("hearsay set") is a usage error.
      if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE
      // Our own usage errors (options that do not go together) have not been printed yet.
      if (err.code === 'hearsay.usage') output.err(`${err.message}\n(run with --help for usage)`)
      return EXIT_USAGE
    }
    const code = err instanceof HearsayError ? ` (${err.code})` : ''
    output.err(`hearsay: ${errorMessage(err)}${code}`)
    if (process.env.HEARSAY_DEBUG === '1') output.err(String((err as Error).stack))
    return EXIT_FAILURE
  }
}
