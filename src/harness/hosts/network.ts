import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { HostsUnavailableError, TestNetworkError } from './errors.js'

/**
 * A test network of separate hosts on this machine: one Linux network namespace per host,
 * each joined to one bridge by a veth pair, in a private /24 of 10.77.0.0/16 (10.77.N.0/24:
 * the bridge, on the harness's side, is .1, host i is .(i + 2)). The harness reaches every
 * host through the bridge; the hosts reach nothing else.
 *
 * Everything it creates carries a recognisable name with N in it (bridge `hsbr-N`, veths
 * `hsv-N-i`, namespaces `hearsay-N-i`) and the bridge's alias names the owning process
 * (`hearsay pid=P`), so a network whose owner died without cleaning up is found and removed
 * the next time one is created.
 */
export interface TestNetwork {
  /** The third octet: this network is 10.77.N.0/24. */
  readonly id: number
  readonly subnet: string
  /** The harness's own address on the bridge. */
  readonly gateway: string
  readonly bridge: string
  /** Namespace of host i. */
  readonly namespaces: readonly string[]
  /** Address of host i. */
  readonly addresses: readonly string[]
  /** The command line that runs `file args` inside host i. */
  exec (index: number, file: string, args: string[]): { file: string, args: string[] }
  /** Kill whatever still runs inside the hosts and remove namespaces, veths and bridge. */
  destroy (): Promise<void>
}

export const SUBNET_PREFIX = '10.77'
const MAX_HOSTS = 250
const OWNER_ALIAS = /^hearsay pid=(\d+)$/
const BRIDGE_NAME = /^hsbr-(\d{1,3})$/
const NAMESPACE_NAME = /^hearsay-(\d{1,3})-(\d{1,3})$/
const VETH_NAME = /^hsv-(\d{1,3})-(\d{1,3})$/
const IP_TIMEOUT_MS = 20_000

export const names = {
  bridge: (n: number): string => `hsbr-${n}`,
  namespace: (n: number, i: number): string => `hearsay-${n}-${i}`,
  veth: (n: number, i: number): string => `hsv-${n}-${i}`
}

interface RunResult { code: number | null, stdout: string, stderr: string, error?: NodeJS.ErrnoException }

/** Runs a program; never throws (the caller decides what a failure means). */
export async function run (file: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    // Not spawn's own timeout option: its timer outlives a program that never started.
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, IP_TIMEOUT_MS)
    let stdout = ''
    let stderr = ''
    let error: NodeJS.ErrnoException | undefined
    const finish = (code: number | null): void => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ...(error === undefined ? {} : { error }) })
    }
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
    child.stdin.on('error', () => {})
    child.stdin.end(input ?? '')
    child.on('close', finish)
    // A program that never started (ENOENT) may never close its pipes.
    child.on('error', (err) => {
      error = err
      if (child.pid === undefined) finish(null)
    })
  })
}

async function ip (args: string[], input?: string): Promise<string> {
  const result = await run('ip', args, input)
  if (result.error !== undefined || result.code !== 0) {
    throw new TestNetworkError(`ip ${args.join(' ')}`, (result.error?.message ?? result.stderr.trim()) || `exit ${result.code}`)
  }
  return result.stdout
}

/** CAP_NET_ADMIN (bit 12) and CAP_SYS_ADMIN (bit 21), which namespaces, veths and bridges need. */
const NETWORK_ADMIN_CAPABILITIES = (1n << 12n) | (1n << 21n)

/**
 * Whether this process holds the capabilities hosts need. Asked of the kernel rather than read
 * off the uid: root in a container, or with its capabilities dropped, may not hold them.
 */
function canAdministerNetworks (): boolean {
  let status: string
  try {
    status = readFileSync('/proc/self/status', 'utf8')
  } catch {
    return process.getuid?.() === 0
  }
  const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1]
  if (effective === undefined) return process.getuid?.() === 0
  return (BigInt(`0x${effective}`) & NETWORK_ADMIN_CAPABILITIES) === NETWORK_ADMIN_CAPABILITIES
}

/** Refuses at once, in one line, on a machine where namespaces cannot be made. */
export async function checkHostsSupport (): Promise<void> {
  if (process.platform !== 'linux') throw new HostsUnavailableError(`it needs Linux network namespaces, and this is ${process.platform}`)
  if (!canAdministerNetworks()) throw new HostsUnavailableError('it needs root (it creates network namespaces, veth pairs and a bridge): run as root, or use a process cluster')
  const result = await run('ip', ['netns', 'list'])
  if (result.error?.code === 'ENOENT') throw new HostsUnavailableError('it needs the ip program of iproute2 (ip netns), and there is none on the PATH')
  if (result.error !== undefined || result.code !== 0) throw new HostsUnavailableError(`"ip netns list" failed: ${(result.error?.message ?? result.stderr.trim()) || `exit ${result.code}`}`)
}

interface LinkInfo { ifname: string, ifalias?: string }

interface Inventory {
  bridges: Map<number, number | undefined>
  namespaces: Map<number, string[]>
  veths: Map<number, string[]>
}

async function inventory (): Promise<Inventory> {
  const links = JSON.parse(await ip(['-j', 'link', 'show'])) as LinkInfo[]
  const bridges = new Map<number, number | undefined>()
  const veths = new Map<number, string[]>()
  for (const link of links) {
    const name = link.ifname.split('@')[0] ?? ''
    const bridge = BRIDGE_NAME.exec(name)
    if (bridge !== null) {
      const owner = OWNER_ALIAS.exec(link.ifalias ?? '')
      bridges.set(Number(bridge[1]), owner === null ? undefined : Number(owner[1]))
    }
    const veth = VETH_NAME.exec(name)
    if (veth !== null) veths.set(Number(veth[1]), [...(veths.get(Number(veth[1])) ?? []), name])
  }
  const namespaces = new Map<number, string[]>()
  for (const line of (await ip(['netns', 'list'])).split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const match = NAMESPACE_NAME.exec(name)
    if (match !== null) namespaces.set(Number(match[1]), [...(namespaces.get(Number(match[1])) ?? []), name])
  }
  return { bridges, namespaces, veths }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes the test networks whose owner is gone: a bridge whose owning process no longer
 * runs, and namespaces or veths with no bridge (the bridge is made first and removed last).
 * A bridge without an owner yet is one being made right now, and is left alone.
 */
export async function removeStaleNetworks (): Promise<number[]> {
  const found = await inventory()
  const stale = new Set<number>()
  for (const [n, owner] of found.bridges) if (owner !== undefined && !isAlive(owner)) stale.add(n)
  for (const n of [...found.namespaces.keys(), ...found.veths.keys()]) if (!found.bridges.has(n)) stale.add(n)
  for (const n of stale) {
    await teardown(n, found.namespaces.get(n) ?? [], found.veths.get(n) ?? [], found.bridges.has(n))
  }
  return [...stale].sort((a, b) => a - b)
}

async function teardown (n: number, namespaces: string[], veths: string[], bridge: boolean): Promise<void> {
  await Promise.all(namespaces.map(async (ns) => {
    const pids = await run('ip', ['netns', 'pids', ns])
    killAll(pids.stdout)
  }))
  const commands = [
    ...namespaces.map((ns) => `netns del ${ns}`),
    ...veths.map((v) => `link del ${v}`),
    ...(bridge ? [`link del ${names.bridge(n)}`] : [])
  ]
  // -force: one that is gone already (a veth goes with its namespace) does not stop the rest.
  if (commands.length > 0) await run('ip', ['-force', '-batch', '-'], commands.join('\n') + '\n')
}

function teardownSync (n: number, size: number): void {
  const namespaces = Array.from({ length: size }, (_v, i) => names.namespace(n, i))
  for (const ns of namespaces) killAll(spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '')
  const commands = [
    ...namespaces.map((ns) => `netns del ${ns}`),
    ...namespaces.map((_ns, i) => `link del ${names.veth(n, i)}`),
    `link del ${names.bridge(n)}`
  ]
  spawnSync('ip', ['-force', '-batch', '-'], { input: commands.join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'] })
}

function killAll (pidList: string): void {
  for (const pid of pidList.split(/\s+/).filter((p) => /^\d+$/.test(p)).map(Number)) {
    if (pid === process.pid) continue
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // Gone already.
    }
  }
}

/** Whether 10.77.N.0/24 overlaps an address or route this machine already has. */
function overlaps (n: number, routes: Array<{ dst?: string }>): boolean {
  const ours = toInt(`${SUBNET_PREFIX}.${n}.0`)
  for (const route of routes) {
    if (route.dst === undefined || route.dst === 'default') continue
    const [base, bits] = route.dst.split('/')
    const prefix = bits === undefined ? 32 : Number(bits)
    const other = toInt(base ?? '')
    if (other === undefined || ours === undefined) continue
    const common = Math.min(prefix, 24)
    const mask = common === 0 ? 0 : (~0 << (32 - common)) >>> 0
    if (((ours & mask) >>> 0) === ((other & mask) >>> 0)) return true
  }
  return false
}

function toInt (address: string): number | undefined {
  const parts = address.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
  return (((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0)
}

/** Networks this process owns and has not removed: the exit and signal handlers remove them. */
const owned = new Map<number, number>()

function removeOwnedSync (): void {
  for (const [n, size] of owned) teardownSync(n, size)
  owned.clear()
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

function onSignal (signal: NodeJS.Signals): void {
  // A program that handles the signal itself (the CLI does) stops its clusters itself; the
  // exit handler catches what it leaves. Otherwise the signal would end us without an exit
  // event: clean up, then let it do what it would have done.
  if (process.listenerCount(signal) > 1) return
  removeOwnedSync()
  uninstall()
  process.kill(process.pid, signal)
}

let installed = false

function install (): void {
  if (installed) return
  installed = true
  process.on('exit', removeOwnedSync)
  for (const signal of SIGNALS) process.on(signal, onSignal)
}

function uninstall (): void {
  if (!installed) return
  installed = false
  process.off('exit', removeOwnedSync)
  for (const signal of SIGNALS) process.off(signal, onSignal)
}

/** Creates namespaces, veths and a bridge for `size` hosts in a free 10.77.N.0/24. */
export async function createTestNetwork (size: number): Promise<TestNetwork> {
  if (!Number.isInteger(size) || size < 1 || size > MAX_HOSTS) throw new TestNetworkError('creating the test network', `size must be 1..${MAX_HOSTS}, not ${size}`)
  await checkHostsSupport()
  await removeStaleNetworks()
  const routes = JSON.parse(await ip(['-j', '-4', 'route', 'show', 'table', 'all'])) as Array<{ dst?: string }>
  let id: number | undefined
  for (let n = 1; n < 255 && id === undefined; n++) {
    if (overlaps(n, routes)) continue
    // Creating the bridge is the reservation: a second harness gets "File exists" and moves on.
    const made = await run('ip', ['link', 'add', 'name', names.bridge(n), 'type', 'bridge'])
    if (made.code === 0) id = n
    else if (!/exists/i.test(made.stderr)) throw new TestNetworkError(`ip link add ${names.bridge(n)} type bridge`, made.stderr.trim() || (made.error?.message ?? ''))
  }
  if (id === undefined) throw new TestNetworkError('creating the test network', `no free /24 left in ${SUBNET_PREFIX}.0.0/16`)
  const n = id
  owned.set(n, size)
  install()
  const network = new Network(n, size)
  try {
    await ip(['link', 'set', 'dev', network.bridge, 'alias', `hearsay pid=${process.pid}`])
    await network.build()
  } catch (err) {
    await network.destroy()
    throw err
  }
  return network
}

class Network implements TestNetwork {
  readonly id: number
  readonly subnet: string
  readonly gateway: string
  readonly bridge: string
  readonly namespaces: string[]
  readonly addresses: string[]
  private readonly size: number
  private destroyed = false

  constructor (n: number, size: number) {
    this.id = n
    this.size = size
    this.subnet = `${SUBNET_PREFIX}.${n}.0/24`
    this.gateway = `${SUBNET_PREFIX}.${n}.1`
    this.bridge = names.bridge(n)
    this.namespaces = Array.from({ length: size }, (_v, i) => names.namespace(n, i))
    this.addresses = Array.from({ length: size }, (_v, i) => `${SUBNET_PREFIX}.${n}.${i + 2}`)
  }

  async build (): Promise<void> {
    const n = this.id
    await ip(['-batch', '-'], [
      `addr add ${this.gateway}/24 dev ${this.bridge}`,
      `link set ${this.bridge} up`,
      ...this.namespaces.flatMap((ns, i) => [
        `netns add ${ns}`,
        `link add ${names.veth(n, i)} type veth peer name eth0 netns ${ns}`,
        `link set ${names.veth(n, i)} master ${this.bridge} up`
      ])
    ].join('\n') + '\n')
    await Promise.all(this.namespaces.map(async (ns, i) => ip(['-n', ns, '-batch', '-'], [
      'link set lo up',
      `addr add ${this.addresses[i]}/24 dev eth0`,
      'link set eth0 up'
    ].join('\n') + '\n')))
  }

  exec (index: number, file: string, args: string[]): { file: string, args: string[] } {
    const ns = this.namespaces[index]
    if (ns === undefined) throw new TestNetworkError('running a command on a host', `there is no host ${index} in a network of ${this.size}`)
    return { file: 'ip', args: ['netns', 'exec', ns, file, ...args] }
  }

  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    await teardown(this.id, this.namespaces, this.namespaces.map((_ns, i) => names.veth(this.id, i)), true)
    owned.delete(this.id)
    if (owned.size === 0) uninstall()
  }
}
