// The command line: every command of `hearsay`, parsed by the real program (buildProgram)
// with its actions replaced by a recorder, so nothing starts or connects. Any argv either
// parses into options of the types the commands expect (`start`'s resolve into a complete
// config) or fails with commander's own typed error (exit code 2 in `main`); never a
// TypeError. The option parsers of src/cli/parse.ts are checked against what they promise.

import { CommanderError, InvalidArgumentError } from 'commander'
import { buildProgram } from '../../dist/src/cli/index.js'
import { resolveConfig } from '../../dist/src/cli/config.js'
import { LOG_LEVELS } from '../../dist/src/cli/output.js'
import { collect, parseInteger, parseLogLevel, parseProfile } from '../../dist/src/cli/parse.js'
import { fc, anyString, check, checkSame, describeError, fail, FuzzFailure, show } from '../lib.js'

const COMMANDS = ['start', 'put', 'get', 'del', 'ls', 'watch', 'members', 'leader', 'status', 'jobs', 'cluster', 'key', 'help']
const OPTIONS = [
  '--data', '--memory', '--network', '--listen', '--bootstrap', '--api', '--priority', '--psk', '--writers', '--profile', '--sync',
  '--config', '--log-level', '--json', '--versions', '--peers', '--help', '-h', '--', '-', '--version', '--no-json', '--unknown'
]
const VALUES = [
  '0', '-1', '42', '2147483647', '2147483648', '-2147483649', '99999999999999999999', '1e3', '0x10', '-0', '1.5', ' 7', '',
  'local', 'lan', 'always', 'interval', 'none', 'debug', 'info', 'warn', 'error', 'trace',
  '/ip4/127.0.0.1/tcp/0', '127.0.0.1:0', 'http://127.0.0.1:1', './.hearsay', 'gen-psk', 'key', '{"a":1}', '__proto__', 'constructor'
]
const token = fc.oneof(
  { arbitrary: fc.constantFrom(...OPTIONS), weight: 4 },
  { arbitrary: fc.constantFrom(...VALUES), weight: 4 },
  { arbitrary: fc.constantFrom(...OPTIONS).chain((o) => fc.constantFrom(...VALUES).map((v) => `${o}=${v}`)), weight: 2 },
  { arbitrary: fc.constantFrom(...COMMANDS), weight: 1 },
  { arbitrary: anyString, weight: 2 }
)
const argv = fc.tuple(fc.oneof({ arbitrary: fc.constantFrom(...COMMANDS), weight: 9 }, { arbitrary: anyString, weight: 1 }), fc.array(token, { maxLength: 8 }))
  .map(([command, rest]) => [command, ...rest])

const parserInput = fc.record({ text: fc.oneof(fc.constantFrom(...VALUES), anyString, fc.integer().map(String), fc.stringMatching(/^-?\d{1,25}$/)) })

const isText = (v) => typeof v === 'string'
const isTextList = (v) => Array.isArray(v) && v.every(isText)
const OPTION_CHECKS = {
  data: isText,
  memory: (v) => v === true,
  network: isText,
  listen: isTextList,
  bootstrap: isTextList,
  api: isText,
  priority: (v) => Number.isSafeInteger(v) && v >= -2_147_483_648 && v <= 2_147_483_647,
  peers: (v) => Number.isSafeInteger(v) && v >= -2_147_483_648 && v <= 2_147_483_647,
  psk: isText,
  writers: isText,
  profile: (v) => v === 'local' || v === 'lan',
  sync: (v) => v === 'always' || v === 'interval' || v === 'none',
  config: isText,
  logLevel: (v) => LOG_LEVELS.includes(v),
  json: (v) => v === true,
  versions: (v) => v === true
}

/** The program, with every command's action replaced by one that records what it was given. */
function recordingProgram () {
  const program = buildProgram({ out: () => {}, err: () => {} })
  const calls = []
  const visit = (command) => {
    command.configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} })
    if (command.commands.length === 0) command.action((...args) => { calls.push({ name: command.name(), args }) })
    for (const sub of command.commands) visit(sub)
  }
  visit(program)
  return { program, calls }
}

function checkCall ({ name, args }) {
  const options = args[args.length - 2] // commander passes (...arguments, options, command)
  check(options !== null && typeof options === 'object', `${name}: no options object`)
  for (const [key, value] of Object.entries(options)) {
    check(Object.hasOwn(OPTION_CHECKS, key), `${name}: unknown option ${key}`)
    check(OPTION_CHECKS[key](value), `${name}: option ${key} = ${show(value)}`)
  }
  for (const positional of args.slice(0, -2)) check(positional === undefined || isText(positional), `${name}: argument ${show(positional)}`)
  if (name === 'start') {
    const { config: _config, json: _json, ...flags } = options
    const resolved = resolveConfig(flags, {}, {})
    check(typeof resolved.network === 'string' && typeof resolved.priority === 'number' && Array.isArray(resolved.bootstrap), 'start resolved to an incomplete config')
  }
}

function checkParsers (text) {
  const expected = /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text)) && Math.abs(Number(text) + 0.5) <= 2_147_483_648
  try {
    const n = parseInteger('--n')(text)
    check(expected && n === Number(text), `parseInteger accepted ${JSON.stringify(text)} as ${n}`)
  } catch (err) {
    if (err instanceof FuzzFailure) throw err
    check(err instanceof InvalidArgumentError, `parseInteger threw ${describeError(err)}`)
    check(!expected, `parseInteger refused ${JSON.stringify(text)}`)
  }
  for (const [parse, allowed] of [[parseLogLevel, LOG_LEVELS], [parseProfile, ['local', 'lan']]]) {
    try {
      check(allowed.includes(parse(text)), `${parse.name} accepted ${JSON.stringify(text)}`)
    } catch (err) {
      if (err instanceof FuzzFailure) throw err
      check(err instanceof InvalidArgumentError && !allowed.includes(text), `${parse.name}(${JSON.stringify(text)}) threw ${describeError(err)}`)
    }
  }
  checkSame(collect(text, ['a']), ['a', text], 'collect')
}

export default {
  name: 'cli',
  async: true,
  input: () => fc.record({ argv, parser: parserInput }),
  async run (_context, input) {
    checkParsers(input.parser.text)
    const { program, calls } = recordingProgram()
    try {
      await program.parseAsync(input.argv, { from: 'user' })
    } catch (err) {
      if (err instanceof FuzzFailure) throw err
      if (!(err instanceof CommanderError) || typeof err.code !== 'string' || !err.code.startsWith('commander.')) {
        fail(`parsing ${show(input.argv)} threw ${describeError(err)}`)
      }
      return
    }
    check(calls.length <= 1, `${calls.length} commands ran for one argv`)
    for (const call of calls) checkCall(call)
  }
}
