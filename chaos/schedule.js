// The seeded side of the chaos runner: a PRNG, the fault schedule and the writers' operations.
// Nothing here does I/O or reads the clock, so one seed always gives the same schedule.

/** mulberry32: a small, fast 32-bit PRNG; `next()` is uniform in [0, 1). */
export function createRng (seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    /** An integer in [min, max]. */
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    /** One element of a non-empty array. */
    pick: (items) => items[Math.floor(next() * items.length)],
    /** An independent generator derived from this one. */
    fork: () => createRng(Math.floor(next() * 4294967296))
  }
}

/** A seed given as text: a 32-bit integer as it is, anything else hashed (FNV-1a). */
export function seedOf (text) {
  if (/^\d+$/.test(String(text)) && Number(text) <= 0xFFFFFFFF) return Number(text) >>> 0
  let h = 0x811C9DC5
  for (const ch of String(text)) {
    h ^= ch.codePointAt(0)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/**
 * The fault schedule: `{ at, action, ... }` in ms from the start, decided against a model of
 * the cluster (who is killed, paused, partitioned) so every action makes sense when it runs.
 * At most `maxDown` peers are killed or paused at once, so most of the cluster keeps running.
 */
export function faultSchedule (rng, { peers, durationMs, minGapMs = 1_000, maxGapMs = 4_000, maxDown = Math.floor((peers - 1) / 2) }) {
  const schedule = []
  const down = new Map() // index → 'killed' | 'paused'
  let partitioned = false
  let at = rng.int(minGapMs, maxGapMs)
  while (at < durationMs) {
    const up = range(peers).filter((i) => !down.has(i))
    const killed = [...down].filter(([, how]) => how === 'killed').map(([i]) => i)
    const paused = [...down].filter(([, how]) => how === 'paused').map(([i]) => i)
    const choices = []
    const offer = (weight, make) => { choices.push({ weight, make }) }
    if (peers >= 2) offer(partitioned ? 1 : 3, () => ({ action: 'partition', groups: randomGroups(rng, peers) }))
    if (partitioned) offer(2, () => ({ action: 'heal' }))
    if (down.size < maxDown && up.length > 1) {
      offer(2, () => ({ action: 'kill', peer: rng.pick(up) }))
      offer(1.5, () => ({ action: 'pause', peer: rng.pick(up) }))
    }
    if (killed.length > 0) offer(3, () => ({ action: 'restart', peer: rng.pick(killed) }))
    if (paused.length > 0) offer(3, () => ({ action: 'resume', peer: rng.pick(paused) }))
    const total = choices.reduce((sum, c) => sum + c.weight, 0)
    let roll = rng.next() * total
    const choice = choices.find((c) => (roll -= c.weight) < 0) ?? choices[choices.length - 1]
    const step = { at, ...choice.make() }
    schedule.push(step)
    if (step.action === 'partition') partitioned = true
    if (step.action === 'heal') partitioned = false
    if (step.action === 'kill') down.set(step.peer, 'killed')
    if (step.action === 'pause') down.set(step.peer, 'paused')
    if (step.action === 'restart' || step.action === 'resume') down.delete(step.peer)
    at += rng.int(minGapMs, maxGapMs)
  }
  return schedule
}

/** Splits 0..peers-1 into 2 or 3 non-empty groups at random. */
function randomGroups (rng, peers) {
  const count = Math.min(peers, rng.int(2, 3))
  const order = range(peers)
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i)
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  const groups = order.slice(0, count).map((i) => [i])
  for (const i of order.slice(count)) rng.pick(groups).push(i)
  return groups.map((g) => g.sort((a, b) => a - b))
}

/**
 * The operations of one writer, endlessly: registers (keys rewritten by everyone, each value
 * unique), counter increments, and set adds of unique elements. Key pools are disjoint per type.
 *
 * With `keepElements`, the writer also removes what it added: once more than that many of its
 * adds are acknowledged and not yet removed, a set operation removes the oldest of them whose
 * peer is live (`next(live)`), through the peer that acknowledged the add (`op.peer`), so the
 * sets stay bounded over a long run. The runner reports each acknowledged add with
 * `acknowledged(op, peer)`. Without it the stream of operations is what it always was.
 */
export function createWriter (rng, id, { registerKeys = 16, counterKeys = 4, setKeys = 4, keepElements } = {}) {
  let n = 0
  // This writer's acknowledged adds not yet removed, oldest first.
  const held = []
  return {
    next (live) {
      n++
      const roll = rng.next()
      if (roll < 0.5) return { type: 'put', key: `reg/${rng.int(0, registerKeys - 1)}`, value: { w: id, n } }
      if (roll < 0.75) return { type: 'counter', key: `cnt/${rng.int(0, counterKeys - 1)}`, by: rng.int(1, 3) }
      if (keepElements !== undefined && held.length > keepElements) {
        const i = held.findIndex((h) => live === undefined || live.includes(h.peer))
        if (i >= 0) {
          const [h] = held.splice(i, 1)
          return { type: 'set-remove', key: h.key, element: h.element, peer: h.peer }
        }
      }
      return { type: 'set', key: `set/${rng.int(0, setKeys - 1)}`, element: `${id}-${n}` }
    },
    /** The add `op` was acknowledged by peer `peer`. */
    acknowledged (op, peer) {
      if (keepElements !== undefined && op.type === 'set') held.push({ key: op.key, element: op.element, peer })
    },
    /** Which of the live peers to send the next operation to. */
    target: (live) => live[Math.floor(rng.next() * live.length)]
  }
}

/**
 * The soak's faults: one episode every `everyMs` (± a quarter), each lasting `downMs`, kinds
 * taking turns (the first chosen at random): a SIGKILL of a random peer and its restart, or a
 * partition into 2 or 3 groups and the heal. Episodes never overlap and all end before
 * `durationMs`.
 */
export function soakSchedule (rng, { peers, durationMs, everyMs, downMs }) {
  if (!(downMs < everyMs * 0.75)) throw new Error('a soak fault must end before the next can start: downMs < 0.75 × everyMs')
  const schedule = []
  let kill = rng.next() < 0.5
  let at = rng.int(Math.round(everyMs * 0.75), Math.round(everyMs * 1.25))
  while (at + downMs < durationMs) {
    if (kill) {
      const peer = rng.int(0, peers - 1)
      schedule.push({ at, action: 'kill', peer }, { at: at + downMs, action: 'restart', peer })
    } else {
      schedule.push({ at, action: 'partition', groups: randomGroups(rng, peers) }, { at: at + downMs, action: 'heal' })
    }
    kill = !kill
    at += rng.int(Math.round(everyMs * 0.75), Math.round(everyMs * 1.25))
  }
  return schedule
}

/** A short, stable name for a schedule, so two runs can be compared at a glance. */
export function scheduleDigest (schedule) {
  return seedOf(JSON.stringify(schedule)).toString(16).padStart(8, '0')
}

function range (n) {
  return Array.from({ length: n }, (_, i) => i)
}
