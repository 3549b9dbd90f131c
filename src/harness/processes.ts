import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { API_TOKEN_FILE } from '../api/constants.js'
import type { Member } from '../membership/index.js'
import type { ClusterControl, ConvergedOptions } from './types.js'
import { ConvergenceTimeoutError, NoSuchPeerError, PeerApiError, PeerStateError, ProcessStartError } from './errors.js'
import type { Profile } from '../profile.js'

/** What `hearsay start` takes per peer in a process cluster. */
export interface ProcessPeerOptions {
  /** @default 0 */
  priority?: number
  /** @default 'local' */
  profile?: Profile
  /** @default 'always' */
  sync?: 'always' | 'interval' | 'none'
}

export interface ProcessClusterOptions {
  /** How many peer processes to start. */
  size: number
  /** @default a fresh name per cluster */
  network?: string
  /** Options every peer gets. */
  peer?: ProcessPeerOptions
  /** Per-peer options by index. */
  peers?: ProcessPeerOptions[]
  /** Parent directory of the data dirs. @default a new temporary directory, removed by stop() */
  baseDir?: string
  /** How long a process may take to print its `started` line. @default 60_000 (ms) */
  startTimeout?: number
  /** Path of `bin/hearsay.js`. @default the one of this package */
  bin?: string
  /** Where each peer runs and listens. @default this host, on 127.0.0.1 */
  placement?: ProcessPlacement
  /**
   * Called with every JSON line of every process from its first, so lines printed while the
   * cluster starts are seen too (a listener added with `onLine` later misses them).
   */
  onLine?: (index: number, line: ProcessLine) => void
}

/**
 * Where the peers of a process cluster run: the hosts harness puts each in its own network
 * namespace, on its own address. Without one, every peer runs here on 127.0.0.1.
 */
export interface ProcessPlacement {
  /** The `--listen` multiaddr of peer i; `port` is its last port (0 the first time). */
  listen (index: number, port: number): string
  /** The `--api` HOST:PORT of peer i. */
  api (index: number): string
  /** The command line that runs `file args` where peer i lives. */
  command (index: number, file: string, args: string[]): { file: string, args: string[] }
}

/** `running` answers; `paused` is SIGSTOPped; `killed` was SIGKILLed by the harness; `exited` ended by itself. */
export type ProcessState = 'starting' | 'running' | 'paused' | 'killed' | 'exited' | 'stopped'

/** One peer process, as the harness knows it. Identity and data dir survive restarts. */
export interface ProcessPeer {
  readonly index: number
  readonly peerId: string
  readonly dataDir: string
  readonly state: ProcessState
  /** OS process id of the current (or last) process. */
  readonly pid: number | undefined
  /** Listen addresses from the last `started` line, each ending in /p2p/<peerId>. */
  readonly addresses: string[]
  /** The API of the current process, e.g. `http://127.0.0.1:41234`. */
  readonly apiUrl: string
  /** Bearer token (from DATA/api.token). */
  readonly token: string
  /** How many times the process was started. */
  readonly starts: number
}

/** A JSON line a peer process printed on stdout (`started`, `join`, `leader`, ...). */
export interface ProcessLine {
  event: string
  [field: string]: unknown
}

/** A process that ended without the harness asking it to. */
export interface UnexpectedExit {
  index: number
  code: number | null
  signal: string | null
  /** The last lines it printed (stdout and stderr). */
  tail: string[]
}

export interface ApiCallOptions {
  /** @default 5_000 (ms) */
  timeout?: number
}

/**
 * N peers, each its own `hearsay start` process, driven over their HTTP APIs. A kill is
 * SIGKILL, a pause is SIGSTOP; a partition is a rule in each peer's connection gater, set
 * through the `--test-faults` routes.
 */
export interface ProcessCluster extends ClusterControl {
  readonly peers: readonly ProcessPeer[]
  /** Peers whose process runs and is not paused: the ones that answer. */
  live (): number[]
  /** SIGKILL peer i and wait until it is gone. */
  kill (index: number): Promise<void>
  /** Start peer i again with the same data dir (and so the same identity). */
  restart (index: number): Promise<ProcessPeer>
  /** SIGSTOP peer i: it keeps its connections but answers nothing. */
  pause (index: number): Promise<void>
  /** SIGCONT peer i, and give it the partition rules decided while it slept. */
  resume (index: number): Promise<void>
  /** Stop every process gracefully (SIGTERM; SIGKILL after a while) and remove temporary dirs. */
  stop (): Promise<void>
  /** Why the live peers have not converged yet, or undefined if they have. */
  divergence (): Promise<string | undefined>
  /** Call peer i's API with its token; errors are `PeerApiError` with the API's code. */
  api<T = unknown> (index: number, method: string, path: string, body?: unknown, options?: ApiCallOptions): Promise<T>
  /** Every JSON line any peer prints; returns the unsubscribe function. */
  onLine (listener: (index: number, line: ProcessLine) => void): () => void
  /** Processes that ended without being asked to (crashes). */
  unexpectedExits (): UnexpectedExit[]
}

interface Slot {
  index: number
  peerId: string
  dataDir: string
  state: ProcessState
  pid: number | undefined
  addresses: string[]
  apiUrl: string
  token: string
  starts: number
  options: ProcessPeerOptions
  child: ChildProcess | undefined
  exited: Promise<void>
  port: number | undefined
  tail: string[]
}

const TAIL_LINES = 40
const STOP_GRACE_MS = 10_000

let clusterCounter = 0

/** Start a cluster of peer processes; the first is everyone's bootstrap. */
export async function createProcessCluster (options: ProcessClusterOptions): Promise<ProcessCluster> {
  const cluster = new Processes(options)
  try {
    await cluster.init()
  } catch (err) {
    await cluster.stop().catch(() => {})
    throw err
  }
  return cluster
}

/** `bin/hearsay.js` of this package: the nearest one above this module (src/ or dist/src/). */
export function findBin (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'bin', 'hearsay.js')
    if (existsSync(candidate) && existsSync(join(dir, 'package.json'))) return candidate
    dir = dirname(dir)
  }
  throw new ProcessStartError(-1, 'bin/hearsay.js was not found above the harness module: pass the bin option')
}

class Processes implements ProcessCluster {
  readonly network: string
  private readonly slots: Slot[] = []
  private readonly options: ProcessClusterOptions
  private readonly bin: string
  private readonly listeners = new Set<(index: number, line: ProcessLine) => void>()
  private readonly crashes: UnexpectedExit[] = []
  private groups: number[][] = []
  private baseDir = ''
  private ownsBaseDir = false
  private readonly onParentExit = (): void => {
    // The harness's process is going away: no peer may outlive it.
    for (const slot of this.slots) if (slot.child?.exitCode === null && slot.child.signalCode === null) slot.child.kill('SIGKILL')
  }

  constructor (options: ProcessClusterOptions) {
    this.options = options
    this.network = options.network ?? `processes-${process.pid}-${++clusterCounter}`
    this.bin = options.bin ?? findBin()
    if (options.onLine !== undefined) this.listeners.add(options.onLine)
  }

  get peers (): readonly ProcessPeer[] {
    return this.slots
  }

  get size (): number {
    return this.slots.length
  }

  async init (): Promise<void> {
    process.on('exit', this.onParentExit)
    if (this.options.baseDir === undefined) {
      this.baseDir = await mkdtemp(join(tmpdir(), 'hearsay-processes-'))
      this.ownsBaseDir = true
    } else {
      this.baseDir = this.options.baseDir
    }
    for (let i = 0; i < this.options.size; i++) {
      this.slots.push({
        index: i,
        peerId: '',
        dataDir: join(this.baseDir, `peer-${i}`),
        state: 'stopped',
        pid: undefined,
        addresses: [],
        apiUrl: '',
        token: '',
        starts: 0,
        options: { ...this.options.peer, ...this.options.peers?.[i] },
        child: undefined,
        exited: Promise.resolve(),
        port: undefined,
        tail: []
      })
    }
    if (this.slots.length > 0) await this.launch(0)
    await Promise.all(this.slots.slice(1).map(async (s) => this.launch(s.index)))
  }

  live (): number[] {
    return this.slots.filter((s) => s.state === 'running').map((s) => s.index)
  }

  async partition (...groups: number[][]): Promise<void> {
    for (const i of groups.flat()) this.slot(i)
    this.groups = groups.map((g) => [...g])
    await Promise.all(this.live().map(async (i) => this.applyRules(i)))
  }

  async heal (): Promise<void> {
    this.groups = []
    await Promise.all(this.live().map(async (i) => this.applyRules(i)))
  }

  async kill (index: number): Promise<void> {
    const slot = this.slot(index)
    if (slot.child === undefined || !isAlive(slot.child)) throw new PeerStateError(index, slot.state, 'kill')
    slot.state = 'killed'
    slot.child.kill('SIGKILL')
    await slot.exited
  }

  async restart (index: number): Promise<ProcessPeer> {
    const slot = this.slot(index)
    if (slot.child !== undefined && isAlive(slot.child)) await this.kill(index)
    await this.launch(index)
    return slot
  }

  async pause (index: number): Promise<void> {
    const slot = this.slot(index)
    if (slot.state !== 'running' || slot.child === undefined) throw new PeerStateError(index, slot.state, 'pause')
    slot.child.kill('SIGSTOP')
    slot.state = 'paused'
  }

  async resume (index: number): Promise<void> {
    const slot = this.slot(index)
    if (slot.state !== 'paused' || slot.child === undefined) throw new PeerStateError(index, slot.state, 'resume')
    slot.child.kill('SIGCONT')
    slot.state = 'running'
    await this.applyRules(index)
  }

  async stop (): Promise<void> {
    await Promise.all(this.slots.map(async (slot) => {
      const child = slot.child
      if (child === undefined || !isAlive(child)) return
      if (slot.state === 'paused') child.kill('SIGCONT')
      slot.state = 'stopped'
      child.kill('SIGTERM')
      const timer = setTimeout(() => { if (isAlive(child)) child.kill('SIGKILL') }, STOP_GRACE_MS)
      await slot.exited
      clearTimeout(timer)
    }))
    process.off('exit', this.onParentExit)
    if (this.ownsBaseDir) await rm(this.baseDir, { recursive: true, force: true })
  }

  onLine (listener: (index: number, line: ProcessLine) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  unexpectedExits (): UnexpectedExit[] {
    return this.crashes.map((c) => ({ ...c, tail: [...c.tail] }))
  }

  async api<T = unknown> (index: number, method: string, path: string, body?: unknown, options: ApiCallOptions = {}): Promise<T> {
    const slot = this.slot(index)
    if (slot.apiUrl === '') throw new PeerStateError(index, slot.state, 'call the API of')
    const headers: Record<string, string> = { authorization: `Bearer ${slot.token}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    try {
      response = await fetch(`${slot.apiUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(options.timeout ?? 5_000)
      })
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError'
      throw new PeerApiError(timedOut ? 'ERR_API_TIMEOUT' : 'ERR_API_UNREACHABLE', 0,
        `peer ${index}: ${method} ${path} ${timedOut ? 'timed out' : `failed: ${(err as Error).message}`}`, { cause: err })
    }
    const text = await response.text().catch(() => '')
    let parsed: unknown
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      parsed = text
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string, message?: string } } | undefined)?.error
      throw new PeerApiError(error?.code ?? 'ERR_API_STATUS', response.status, `peer ${index}: ${method} ${path} answered ${response.status}: ${error?.message ?? text.slice(0, 200)}`)
    }
    return parsed as T
  }

  async divergence (): Promise<string | undefined> {
    const live = this.live()
    let views: Array<{ index: number, digest: string, members: Member[] }>
    try {
      views = await Promise.all(live.map(async (index) => {
        const [status, members] = await Promise.all([
          this.api<{ digest: string }>(index, 'GET', '/v1/status'),
          this.api<Member[]>(index, 'GET', '/v1/members')
        ])
        return { index, digest: status.digest, members }
      }))
    } catch (err) {
      return (err as Error).message
    }
    const liveIds = new Set(views.map((v) => this.slot(v.index).peerId))
    const incarnations = new Map(views.map((v) => [this.slot(v.index).peerId, v.members.find((m) => m.self)?.incarnation]))
    for (const { index, members } of views) {
      const alive = new Set(members.filter((m) => m.state === 'alive').map((m) => m.peerId))
      for (const id of liveIds) {
        const seen = members.find((m) => m.peerId === id)
        if (!alive.has(id)) return `peer ${index} does not see ${this.describe(id)} as alive (${seen?.state ?? 'unknown'})`
        if (seen?.incarnation !== incarnations.get(id)) return `peer ${index} has ${this.describe(id)} at incarnation ${seen?.incarnation}, not its current ${incarnations.get(id)}`
      }
      for (const id of alive) {
        if (!liveIds.has(id)) return `peer ${index} still sees ${this.describe(id)} as alive`
      }
    }
    const first = views[0]
    for (const view of views) {
      if (first !== undefined && view.digest !== first.digest) return `peer ${view.index}'s replica differs from peer ${first.index}'s`
    }
    return undefined
  }

  async converged (options: ConvergedOptions = {}): Promise<void> {
    const timeout = options.timeout ?? 10_000
    const deadline = Date.now() + timeout
    while (true) {
      const why = await this.divergence()
      if (why === undefined) return
      if (Date.now() >= deadline) throw new ConvergenceTimeoutError(timeout, why)
      // The state lives in other processes: polling is the only way to see it.
      await new Promise<void>((resolve) => { setTimeout(resolve, 100) })
    }
  }

  private slot (index: number): Slot {
    const slot = this.slots[index]
    if (slot === undefined) throw new NoSuchPeerError(index, this.slots.length)
    return slot
  }

  private describe (peerId: string): string {
    const index = this.slots.findIndex((s) => s.peerId === peerId)
    return index >= 0 ? `peer ${index}` : peerId
  }

  /** The PeerIds peer i must refuse under the current partition. */
  private denyList (index: number): string[] {
    const own = this.groups.find((g) => g.includes(index))
    if (own === undefined) return []
    return this.groups.filter((g) => g !== own).flat().map((i) => this.slot(i).peerId).filter((id) => id !== '')
  }

  private async applyRules (index: number): Promise<void> {
    const deny = this.denyList(index)
    if (deny.length === 0) await this.api(index, 'POST', '/v1/test/heal', {})
    else await this.api(index, 'POST', '/v1/test/partition', { deny })
  }

  private async launch (index: number): Promise<void> {
    const slot = this.slot(index)
    // Everyone else it has heard of: the bootstrap dialer keeps trying until one answers.
    const bootstrap = this.slots.filter((s) => s.index !== index && s.addresses.length > 0).flatMap((s) => s.addresses.slice(0, 1))
    try {
      await this.spawn(slot, bootstrap, slot.port ?? 0)
    } catch (err) {
      // The old listen port may be taken by now: any port will do, the others learn it.
      if (slot.port === undefined || slot.port === 0) throw err
      await this.spawn(slot, bootstrap, 0)
    }
    if (this.denyList(index).length > 0) await this.applyRules(index)
  }

  private async spawn (slot: Slot, bootstrap: string[], port: number): Promise<void> {
    const o = slot.options
    const args = [
      this.bin, 'start', '--json', '--test-faults',
      '--profile', o.profile ?? 'local',
      '--data', slot.dataDir,
      '--network', this.network,
      '--api', this.options.placement?.api(slot.index) ?? '127.0.0.1:0',
      '--listen', this.options.placement?.listen(slot.index, port) ?? `/ip4/127.0.0.1/tcp/${port}`,
      ...bootstrap.flatMap((a) => ['--bootstrap', a]),
      ...(o.priority === undefined ? [] : ['--priority', String(o.priority)]),
      ...(o.sync === undefined ? [] : ['--sync', o.sync])
    ]
    // The parent's HEARSAY_* settings are not this cluster's.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARSAY_')))
    const command = this.options.placement?.command(slot.index, process.execPath, args) ?? { file: process.execPath, args }
    const child = spawn(command.file, command.args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    slot.child = child
    slot.pid = child.pid
    slot.state = 'starting'
    slot.starts++
    slot.apiUrl = ''
    slot.tail = []
    const note = (line: string): void => {
      slot.tail.push(line)
      if (slot.tail.length > TAIL_LINES) slot.tail.shift()
    }
    slot.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        // A process that fails to start is reported by launch(); one that dies later is a crash.
        if (slot.state === 'running' || slot.state === 'paused') this.crashes.push({ index: slot.index, code, signal, tail: [...slot.tail] })
        if (slot.state !== 'killed' && slot.state !== 'stopped') slot.state = 'exited'
        resolve()
      })
    })
    createInterface({ input: child.stderr! }).on('line', note)
    const started = new Promise<ProcessLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new ProcessStartError(slot.index, `no started line within ${this.options.startTimeout ?? 60_000} ms; last output: ${slot.tail.join(' | ')}`))
      }, this.options.startTimeout ?? 60_000)
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new ProcessStartError(slot.index, `it exited (${code ?? signal}): ${slot.tail.join(' | ')}`))
      })
      createInterface({ input: child.stdout! }).on('line', (text) => {
        note(text)
        let line: ProcessLine
        try {
          line = JSON.parse(text) as ProcessLine
        } catch {
          return
        }
        if (line.event === 'started') {
          clearTimeout(timer)
          resolve(line)
        }
        for (const listener of this.listeners) listener(slot.index, line)
      })
    })
    const line = await started
    slot.peerId = String(line.peerId)
    slot.addresses = (line.addresses as string[]).filter((a) => a.includes('/p2p/'))
    slot.apiUrl = String(line.api)
    slot.token = (await readFile(join(slot.dataDir, API_TOKEN_FILE), 'utf8')).trim()
    slot.port = Number(/\/tcp\/(\d+)\//.exec(slot.addresses[0] ?? '')?.[1] ?? 0)
    if (slot.state === 'starting') slot.state = 'running'
  }
}

function isAlive (child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}
