import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HostsUnavailableError, TestNetworkError } from './errors.js'
import { run, type TestNetwork } from './network.js'

/** One packet-filter rule of a host: drop `percent` % of its outgoing packets to `daddr`. */
export interface DropRule {
  daddr: string
  percent: number
}

/**
 * What the kernel should do to the traffic between hosts: partitions (groups that cannot
 * reach each other) and random loss, on every link or on single links. Pure: it only
 * computes each host's rules.
 */
export class FaultPlan {
  private groups: number[][] = []
  private everywhere = 0
  private readonly links = new Map<string, number>()

  constructor (private readonly size: number) {}

  partition (groups: number[][]): void {
    this.groups = groups.map((g) => [...g])
  }

  heal (): void {
    this.groups = []
  }

  /** `percent` loss on the link a–b (both directions), or on every link when none is given. */
  loss (percent: number, link?: readonly [number, number]): void {
    if (link === undefined) {
      this.everywhere = percent
      this.links.clear()
    } else {
      this.links.set(linkKey(link[0], link[1]), percent)
    }
  }

  /** Whether packets from host a to host b are all dropped. */
  cut (a: number, b: number): boolean {
    const own = this.groups.find((g) => g.includes(a))
    return own !== undefined && !own.includes(b) && this.groups.some((g) => g !== own && g.includes(b))
  }

  lossOf (a: number, b: number): number {
    return this.links.get(linkKey(a, b)) ?? this.everywhere
  }

  /** The rules host i needs: one per other host it drops packets to. */
  rules (index: number, addresses: readonly string[]): DropRule[] {
    const rules: DropRule[] = []
    for (let other = 0; other < this.size; other++) {
      if (other === index) continue
      const percent = this.cut(index, other) ? 100 : this.lossOf(index, other)
      const daddr = addresses[other]
      if (percent > 0 && daddr !== undefined) rules.push({ daddr, percent })
    }
    return rules
  }
}

function linkKey (a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`
}

/** nft.py, beside this module in src/, or in src/ of the package when this runs from dist/. */
function scriptPath (): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [join(here, 'nft.py'), join(here, '..', '..', '..', '..', 'src', 'harness', 'hosts', 'nft.py')]
  const found = candidates.find((c) => existsSync(c))
  if (found === undefined) throw new HostsUnavailableError(`the packet-filter helper nft.py is missing (looked in ${candidates.join(', ')})`)
  return found
}

/**
 * Programs the hosts' packet filters: an nf_tables table in each namespace, replaced as a
 * whole (one netlink batch, so a host never runs half a rule set).
 */
export class PacketFilter {
  private readonly script = scriptPath()

  constructor (private readonly network: TestNetwork) {}

  /** Proves, on host 0, that python3 runs and the kernel takes our kind of rules. */
  async check (): Promise<void> {
    const result = await this.python(0, ['check'])
    if (result.error?.code === 'ENOENT') throw new HostsUnavailableError('it needs the ip program of iproute2, and there is none on the PATH')
    if (result.code !== 0) {
      const why = result.stderr.trim().split('\n').at(-1) ?? `exit ${result.code}`
      throw new HostsUnavailableError(`the packet filter cannot be programmed (python3 and nf_tables with numgen are needed): ${why}`)
    }
  }

  async apply (index: number, rules: DropRule[]): Promise<void> {
    const args = rules.length === 0 ? ['clear'] : ['apply', JSON.stringify(rules)]
    const result = await this.python(index, args)
    if (result.code !== 0) throw new TestNetworkError(`the packet filter of host ${index}`, (result.stderr.trim() || result.error?.message) ?? `exit ${result.code}`)
  }

  private async python (index: number, args: string[]): ReturnType<typeof run> {
    const command = this.network.exec(index, 'python3', [this.script, ...args])
    return run(command.file, command.args)
  }
}
