import { describe, expect, it } from 'vitest'
import { LOCAL_ELECTION_OPTIONS } from '../../src/election/constants.js'
import { Rng, Simulation } from './simulator.js'
import type { SimNode } from './simulator.js'

/*
 * Replay one failing run with full trace:
 *   ELECTION_SIM_SEED=<seed> npx vitest run test/election/simulation.test.ts
 * Change the number of runs with ELECTION_SIM_RUNS.
 */
const onlySeed = process.env.ELECTION_SIM_SEED === undefined ? undefined : Number(process.env.ELECTION_SIM_SEED)
const runs = Number(process.env.ELECTION_SIM_RUNS ?? 200)
const seeds = (count: number): number[] => onlySeed !== undefined ? [onlySeed] : Array.from({ length: count }, (_, i) => i + 1)

const options = LOCAL_ELECTION_OPTIONS
/** Long enough for a membership lag, a heartbeat timeout and a chain of answer/coordinator timeouts. */
const SETTLE = 8_000
/** After settling, nothing may change for this long. */
const QUIET = 5_000
/** Upper bound on the time from the end of faults to the last leader change. */
const CONVERGENCE_BOUND = 5_000
const settled = { dropRate: 0, minDelay: 1, maxDelay: 20 }

/** Check the settled state; returns what is wrong, or undefined. */
function checkAgreement (sim: Simulation): string | undefined {
  for (const component of sim.components()) {
    const best = Simulation.best(component)
    if (best?.election === undefined) continue
    const coordinators = component.filter((node) => node.election?.role() === 'coordinator')
    if (coordinators.length !== 1 || coordinators[0] !== best) {
      return `component [${component.map((n) => n.peerId).join(',')}] has coordinators [${coordinators.map((n) => n.peerId).join(',')}], expected ${best.peerId}`
    }
    const term = best.election.term()
    for (const node of component) {
      const leader = node.election?.leader()
      if (leader?.peerId !== best.peerId || leader.term !== term) {
        return `${node.peerId} follows ${leader === undefined ? 'nobody' : `${leader.peerId}@${leader.term}`}, expected ${best.peerId}@${term}`
      }
      // Once settled nobody knows a term above its coordinator's: the fencing token is the newest.
      if (node.election?.term() !== term) return `${node.peerId} knows term ${String(node.election?.term())} above its coordinator's ${term}`
    }
  }
  return undefined
}

function changeCounts (sim: Simulation): number[] {
  return sim.nodes.map((node) => node.leaderChanges + node.termChanges)
}

/**
 * Let the network settle, then check agreement and a quiet period. Returns a failure description,
 * or undefined; `convergence` gets the time from settling to the last leader change.
 */
function settleAndCheck (sim: Simulation, label: string, convergence: number[]): string | undefined {
  sim.setConditions(settled)
  const from = sim.now
  sim.runUntil(from + SETTLE)
  const problem = checkAgreement(sim)
  if (problem !== undefined) return `${label}: not settled after ${SETTLE} ms: ${problem}`
  const took = Math.max(0, sim.lastLeaderChangeAt - from)
  convergence.push(took)
  if (took > CONVERGENCE_BOUND) return `${label}: last leader change ${took} ms after faults ended (bound ${CONVERGENCE_BOUND} ms)`
  const before = changeCounts(sim)
  sim.runUntil(sim.now + QUIET)
  const after = changeCounts(sim)
  const noisy = sim.nodes.filter((node) => after[node.index] !== before[node.index])
  if (noisy.length > 0) return `${label}: leader or term changed during the quiet period on ${noisy.map((n) => n.peerId).join(',')}`
  const again = checkAgreement(sim)
  if (again !== undefined) return `${label}: agreement lost during the quiet period: ${again}`
  if (sim.violations.length > 0) return `${label}: ${sim.violations.slice(0, 3).join('; ')}`
  return undefined
}

/** One random fault, chosen so at least one node stays up. */
function randomFault (sim: Simulation, rng: Rng): void {
  const up = sim.upNodes()
  const down = sim.nodes.filter((node) => node.election === undefined)
  const roll = rng.float()
  if (roll < 0.2 && up.length > 1) {
    sim.crash(rng.pick(up).index)
  } else if (roll < 0.3 && up.length > 1) {
    sim.stop(rng.pick(up).index)
  } else if (roll < 0.55 && down.length > 0) {
    sim.restart(rng.pick(down).index, rng.chance(0.5))
  } else if (roll < 0.75) {
    const sides = rng.int(2, 3)
    sim.partition(sim.nodes.map(() => rng.int(0, sides - 1)))
  } else if (roll < 0.9) {
    sim.heal()
  } else {
    sim.setConditions({ dropRate: rng.float() * 0.4, minDelay: 1, maxDelay: rng.int(5, 400) })
  }
}

function failureReport (seed: number, problem: string, sim: Simulation): string {
  return `seed ${seed}: ${problem}\n` +
    `replay: ELECTION_SIM_SEED=${seed} npx vitest run test/election/simulation.test.ts\n` +
    `${sim.describe()}\n` +
    (onlySeed !== undefined ? `trace:\n${sim.trace().join('\n')}` : '')
}

function runRandomFaults (seed: number, convergence: number[]): string | undefined {
  const rng = new Rng(seed * 7919 + 1)
  // Up to 2 s of membership lag: longer than the heartbeat timeout, so followers also find a
  // dead coordinator by silence, and candidates ask members that are already gone.
  const sim = new Simulation(seed, { size: rng.int(3, 7), options, membershipLag: rng.int(20, 2_000) })
  sim.startAll()
  const problem0 = settleAndCheck(sim, 'after start', convergence)
  if (problem0 !== undefined) return failureReport(seed, problem0, sim)
  for (let round = 1; round <= 3; round++) {
    sim.setConditions({ dropRate: rng.float() * 0.3, minDelay: 1, maxDelay: rng.int(5, 400) })
    const end = sim.now + rng.int(2_000, 8_000)
    while (sim.now < end) {
      sim.runUntil(Math.min(end, sim.now + rng.int(50, 1_500)))
      if (sim.now < end) randomFault(sim, rng)
    }
    const problem = settleAndCheck(sim, `round ${round}`, convergence)
    if (problem !== undefined) return failureReport(seed, problem, sim)
  }
  return undefined
}

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0
}

describe('election simulation (seeded)', () => {
  it(`random delays, drops, crashes, restarts and partitions: one coordinator per component, the highest ranked, then quiet (${runs} seeds)`, () => {
    const convergence: number[] = []
    const failures: string[] = []
    for (const seed of seeds(runs)) {
      const failure = runRandomFaults(seed, convergence)
      if (failure !== undefined) failures.push(failure)
    }
    if (onlySeed !== undefined && failures[0] !== undefined) console.log(failures[0])
    expect(failures.length, `${failures.length} failing seeds; first:\n${failures[0] ?? ''}`).toBe(0)
    expect(percentile(convergence, 1)).toBeLessThanOrEqual(CONVERGENCE_BOUND)
  })

  it('a high-priority peer that leaves and returns causes one leader change each way', () => {
    const failures: string[] = []
    for (const seed of seeds(50)) {
      const convergence: number[] = []
      // Distinct priorities so the next in line is unambiguous; random PeerIds.
      const sim = new Simulation(seed, { size: 5, options, priorities: [5, 4, 3, 2, 1] })
      const [high, next] = [sim.nodes[0], sim.nodes[1]] as [SimNode, SimNode]
      const graceful = seed % 2 === 0
      sim.startAll()
      let problem = settleAndCheck(sim, 'after start', convergence)
      const others = sim.nodes.filter((node) => node !== high && node !== next)
      const mark = (): number[] => sim.nodes.map((node) => node.leaderHistory.length)
      let before = mark()
      if (problem === undefined) {
        if (graceful) sim.stop(high.index)
        else sim.crash(high.index)
        problem = settleAndCheck(sim, 'after the leave', convergence)
      }
      if (problem === undefined) {
        for (const node of [...others, next]) {
          const changes = node.leaderHistory.slice(before[node.index])
          if (JSON.stringify(changes) !== JSON.stringify([next.peerId])) problem = `${node.peerId} went through [${changes.join(',')}] after the leave, expected [${next.peerId}]`
        }
      }
      if (problem === undefined) {
        before = mark()
        sim.restart(high.index, seed % 3 === 0)
        problem = settleAndCheck(sim, 'after the return', convergence)
      }
      if (problem === undefined) {
        for (const node of [...others, next]) {
          const changes = node.leaderHistory.slice(before[node.index])
          if (JSON.stringify(changes) !== JSON.stringify([high.peerId])) problem = `${node.peerId} went through [${changes.join(',')}] after the return, expected [${high.peerId}]`
        }
      }
      if (problem !== undefined) failures.push(failureReport(seed, problem, sim))
    }
    expect(failures.length, `${failures.length} failing seeds; first:\n${failures[0] ?? ''}`).toBe(0)
  })

  it('after a partition heals exactly one coordinator remains, the highest ranked, within bounded time', () => {
    const failures: string[] = []
    const healTimes: number[] = []
    for (const seed of seeds(100)) {
      const rng = new Rng(seed)
      const size = rng.int(4, 7)
      const sim = new Simulation(seed, { size, options })
      const convergence: number[] = []
      sim.startAll()
      let problem = settleAndCheck(sim, 'after start', convergence)
      if (problem === undefined) {
        const cut = rng.int(1, size - 1)
        sim.partition(sim.nodes.map((node) => node.index < cut ? 0 : 1))
        problem = settleAndCheck(sim, 'during the partition', convergence)
        if (problem === undefined && sim.components().length !== 2) problem = 'partition did not make two sides'
      }
      if (problem === undefined) {
        sim.heal()
        const healedAt = sim.now
        problem = settleAndCheck(sim, 'after the heal', convergence)
        healTimes.push(Math.max(0, sim.lastLeaderChangeAt - healedAt))
      }
      if (problem !== undefined) failures.push(failureReport(seed, problem, sim))
    }
    expect(failures.length, `${failures.length} failing seeds; first:\n${failures[0] ?? ''}`).toBe(0)
    // Membership lag (≤ 300 ms) plus a round or two of claims: well under one heartbeat timeout.
    expect(percentile(healTimes, 1)).toBeLessThan(options.heartbeatTimeout + 300)
  })
})
