import { readFile, unlink } from 'node:fs/promises'
import { flushCompileCache } from 'node:module'
import { collectDefaultMetrics } from 'prom-client'
import { join } from 'node:path'
import { createPeer, type Peer } from '../peer.js'
import type { Member } from '../membership/index.js'
import { startApi, loadOrCreateToken, createToken, API_TOKEN_FILE } from '../api/index.js'
import { validatePsk } from '../net/index.js'
import { writeFileDurably } from '../storage/index.js'
import { levelEnabled, type Output } from './output.js'
import { createCliLogger, type CliLogger } from './logger.js'
import { validateTags } from '../membership/index.js'
import type { ReloadReport } from '../api/index.js'
import { API_URL_FILE } from './client.js'
import type { StartConfig } from './config.js'
import { ConfigError } from './errors.js'
import { DEFAULT_PROFILE } from '../profile.js'

/** How often the event-loop lag metric samples (ms): `nodejs_eventloop_lag_*` resolution. */
const EVENT_LOOP_SAMPLE_MS = 1_000

export interface StartFlags {
  json?: boolean
  /** Reads the config file again (with the same flags and environment over it): SIGHUP, `hearsay reload`. */
  reread?: () => Promise<{ path: string, config: StartConfig }>
  /** Serve the fault-injection routes under /v1/test (`--test-faults`, for the harness). */
  testFaults?: boolean
}

/** `hearsay start`: run one peer and its API until SIGINT/SIGTERM, then leave gracefully. */
export async function startCommand (config: StartConfig, flags: StartFlags, output: Output): Promise<void> {
  // Installed before anything is printed: whoever reads our output may signal us at once,
  // and a signal with no handler kills the process without a goodbye.
  let leave: () => void = () => {}
  // A signal, or `hearsay leave` (POST /v1/leave): either way the peer leaves gracefully and exits.
  const stopRequested = Promise.race([waitForSignal(), new Promise<void>((resolve) => { leave = resolve })])
  const { host, port } = parseApiListen(config.api)
  validateTags(config.tags)
  const psk = config.psk === undefined ? undefined : validatePsk(await readKeyFile(config.psk))
  const writers = config.writers === undefined ? undefined : await readWriters(config.writers)
  const cliLogger = await createCliLogger(config.logLevel, flags.json === true, output)
  const logger = cliLogger.log
  const peer = await createPeer({
    logger,
    network: config.network,
    ...(config.memory ? {} : { dataDir: config.data }),
    ...(config.listen === undefined ? {} : { listen: config.listen }),
    bootstrap: config.bootstrap,
    priority: config.priority,
    tags: config.tags,
    profile: config.profile,
    sync: config.sync,
    ...(psk === undefined ? {} : { psk }),
    ...(writers === undefined ? {} : { writers }),
    ...(config.otlp === undefined ? {} : { observe: { otlp: { endpoint: config.otlp } } })
  })
  // A peer process is what an operator scrapes: its CPU, memory, event loop and GC belong
  // beside libp2p's figures. Only here, not in createPeer: a host program or a harness with
  // many peers in one process decides about its own process metrics.
  // The event-loop lag histogram samples on a timer: at prom-client's default 10 ms it woke an
  // idle peer 100 times a second, more than everything else together.
  collectDefaultMetrics({ register: peer.metrics, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  // Listen before starting: the first joins happen while the API is still coming up, and
  // they are reported once the banner is out.
  const report = reportMembership(peer, config, flags, output)
  await peer.start()
  const token = config.memory ? createToken() : await loadOrCreateToken(config.data)
  const reload = flags.reread === undefined ? undefined : reloader(peer, config, flags.reread, cliLogger)
  const api = await startApi(peer, {
    host, port, token, logger, logs: cliLogger.source, testFaults: flags.testFaults === true, leave: () => { leave() }, ...(reload === undefined ? {} : { reload }),
    ...(config.apiMaxStreams === undefined ? {} : { maxStreams: config.apiMaxStreams }),
    ...(config.apiRateLimit === 0
      ? { rateLimit: false as const }
      : { rateLimit: { ...(config.apiRateLimit === undefined ? {} : { max: config.apiRateLimit }), ...(config.apiRateWindowMs === undefined ? {} : { windowMs: config.apiRateWindowMs }) } })
  })
  const onHangUp = (): void => {
    const log = logger.child({ component: 'peer' })
    if (reload === undefined) {
      log.warn('SIGHUP: there is no config file to re-read (start with --config FILE)')
      return
    }
    reload().then(
      (report) => { log.info({ ...report }, `reloaded ${report.config}`) },
      (err: unknown) => { log.error({ err: (err as Error).message }, `config reload refused, the old settings stay: ${(err as Error).message}`) }
    )
  }
  process.on('SIGHUP', onHangUp)
  if (!config.memory) await writeFileDurably(join(config.data, API_URL_FILE), new TextEncoder().encode(api.url + '\n'), 0o600)
  printBanner(peer, config, flags, output, api.url, config.memory ? token : undefined)
  report.flush()
  // Save what start-up compiled now (see bin/hearsay.js), not at exit: a peer may be killed.
  flushCompileCache?.()
  await stopRequested
  process.off('SIGHUP', onHangUp)
  if (levelEnabled(config.logLevel, 'info') && flags.json !== true) output.err('stopping: telling the other members this peer leaves')
  await api.close()
  await peer.stop()
  if (!config.memory) await unlink(join(config.data, API_URL_FILE)).catch(() => {})
}

export function parseApiListen (value: string): { host: string, port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(value)
  const port = Number(match?.[2])
  if (match === null || port > 65_535) throw new ConfigError('--api', 'HOST:PORT', `${JSON.stringify(value)} is not HOST:PORT (for example 127.0.0.1:7070)`)
  return { host: (match[1] ?? '').replace(/^\[(.*)\]$/, '$1'), port }
}

async function readKeyFile (path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new ConfigError('--psk', path, `cannot be read: ${(err as Error).message}`)
  }
}

/** One PeerId a line; blank lines and # comments are ignored. */
export async function readWriters (path: string): Promise<string[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError('--writers', path, `cannot be read: ${(err as Error).message}`)
  }
  if (text.length > 1_048_576) throw new ConfigError('--writers', path, 'is over 1 MiB')
  const ids = text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== '')
  for (const [i, id] of ids.entries()) {
    if (!/^[1-9A-HJ-NP-Za-km-z]{40,128}$/.test(id)) throw new ConfigError('--writers', `${path} line ${i + 1}`, `${JSON.stringify(id.slice(0, 80))} is not a PeerId`)
  }
  return ids
}

function printBanner (peer: Peer, config: StartConfig, flags: StartFlags, output: Output, apiUrl: string, memoryToken: string | undefined): void {
  const addresses = peer.addresses()
  if (flags.json === true) {
    output.out(JSON.stringify({ event: 'started', peerId: peer.peerId, network: peer.network, dataDir: peer.dataDir ?? null, addresses, api: apiUrl }))
    return
  }
  output.out(`hearsay peer ${peer.peerId}`)
  output.out(`network:   ${peer.network}`)
  output.out(`data dir:  ${peer.dataDir ?? '(in memory)'}`)
  output.out(`api:       ${apiUrl}` + (memoryToken === undefined ? ` (token in ${join(config.data, API_TOKEN_FILE)})` : ''))
  if (memoryToken !== undefined) output.out(`token:     ${memoryToken}  (export HEARSAY_API=${apiUrl} HEARSAY_TOKEN=${memoryToken})`)
  output.out('listening on:')
  for (const a of addresses) output.out(`  ${a}`)
  const first = addresses[0]
  if (first !== undefined) {
    output.out('join a second peer to it with:')
    const net = peer.network === 'default' ? '' : ` --network ${peer.network}`
    const profile = config.profile === DEFAULT_PROFILE ? '' : ` --profile ${config.profile}`
    output.out(`  npx hearsay start --data ./.hearsay-2${net}${profile} --bootstrap ${first}`)
  }
  output.out('press Ctrl-C to stop')
}

function reportMembership (peer: Peer, config: StartConfig, flags: StartFlags, output: Output): { flush: () => void } {
  let held: string[] | undefined = []
  const print = (line: string): void => {
    if (held === undefined) output.out(line)
    else held.push(line)
  }
  const flush = (): void => {
    for (const line of held ?? []) output.out(line)
    held = undefined
  }
  if (!levelEnabled(config.logLevel, 'info')) return { flush }
  let joined = false
  const alive = (): number => peer.members().filter((m) => m.state === 'alive').length
  const report = (what: string, m: Member): void => {
    if (flags.json === true) {
      print(JSON.stringify({ event: what, peerId: m.peerId, state: m.state, members: alive() }))
      return
    }
    // For people, the membership log says every join, leave and failure; this is the
    // one line that answers "am I in yet?".
    if (!joined && what === 'join') {
      joined = true
      print(`joined the network: ${alive()} members alive`)
    }
  }
  peer.addEventListener('member:join', (e) => { report('join', e.detail) })
  peer.addEventListener('member:leave', (e) => { report('leave', e.detail) })
  peer.addEventListener('member:fail', (e) => { report('fail', e.detail) })
  peer.addEventListener('leader', (e) => {
    const leader = e.detail
    if (leader === undefined) return
    // For people, the election log says it.
    if (flags.json === true) print(JSON.stringify({ event: 'leader', peerId: leader.peerId, term: leader.term }))
  })
  // Every job run, idle ones too: what a check that coordinators never overlap reads (the chaos runner).
  if (flags.json === true) {
    peer.jobs.onRun((run) => { print(JSON.stringify({ event: 'job', name: run.name, peer: run.peer, term: run.term, start: run.start, end: run.end, outcome: run.outcome })) })
  }
  if (levelEnabled(config.logLevel, 'debug')) {
    peer.addEventListener('member:update', (e) => { report('update', e.detail) })
  }
  return { flush }
}

/**
 * Resolves on the first SIGINT/SIGTERM. The handlers stay installed while the peer leaves,
 * so a repeated signal cannot fall through to Node's default (exit by signal, no goodbye).
 */
async function waitForSignal (): Promise<void> {
  await new Promise<void>((resolve) => {
    const onSignal = (): void => { resolve() }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

/** Settings a running peer cannot take: changed in the file, they wait for a restart. */
const RESTART_FIELDS = ['data', 'memory', 'network', 'listen', 'bootstrap', 'api', 'priority', 'profile', 'psk', 'sync', 'otlp', 'apiMaxStreams', 'apiRateLimit', 'apiRateWindowMs'] as const

/**
 * Re-reads the config and applies the log level, the tags and the writers list. Everything is
 * read and checked before anything changes: a bad file, an unreadable writers file or bad tags
 * leave the running settings as they were.
 */
function reloader (peer: Peer, started: StartConfig, reread: () => Promise<{ path: string, config: StartConfig }>, cliLogger: CliLogger): () => Promise<ReloadReport> {
  let pending = Promise.resolve()
  const reload = async (): Promise<ReloadReport> => {
    const { path, config } = await reread()
    const writers = config.writers === undefined ? undefined : await readWriters(config.writers)
    validateTags(config.tags)
    const current = peer.members().find((m) => m.self)?.tags ?? {}
    const removed = Object.keys(current).filter((k) => !Object.hasOwn(config.tags, k))
    cliLogger.setLevel(config.logLevel)
    const tags = await peer.setTags(config.tags, removed)
    peer.setWriters(writers)
    const restartNeeded = RESTART_FIELDS.filter((f) => JSON.stringify(config[f]) !== JSON.stringify(started[f]))
    return { config: path, applied: { logLevel: config.logLevel, tags, writers: writers ?? null }, restartNeeded }
  }
  // One at a time: a SIGHUP during a `hearsay reload` waits for it.
  return async () => {
    const result = pending.then(reload)
    pending = result.then(() => {}, () => {})
    return await result
  }
}
