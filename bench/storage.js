// Durable log vs level: appends/s and latency per fsync policy, on the disk under --dir.
//
//   npx tsc -p tsconfig.json            # the bench imports the compiled log from dist/
//   node bench/storage.js [--dir DIR] [--n 5000] [--runs 3] [--record 200] [--level /path/to/node_modules/level]
//
// `level` is not a dependency of hearsay: install it elsewhere (npm i level@10.0.0 in a scratch
// directory) and pass --level that/node_modules/level, or leave it out to measure the log only.
// Every scenario runs once to warm up (discarded), then --runs times; the run with the median
// ops/s is reported. Progress goes to stdout as it runs; the last stdout line is one JSON object
// with every figure.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { openLog } from '../dist/src/storage/index.js'

const { values: args } = parseArgs({
  options: {
    dir: { type: 'string', default: tmpdir() },
    n: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '3' },
    record: { type: 'string', default: '200' },
    level: { type: 'string' },
    replay: { type: 'string', default: '100000' }
  }
})
const N = Number(args.n)
const RECORD = Number(args.record)
const REPLAY = Number(args.replay)
const RUNS = Number(args.runs)
const WRITERS = 100

/** Warm up once, then the median of RUNS runs by ops/s. */
async function median (scenario) {
  await scenario()
  const results = []
  for (let i = 0; i < RUNS; i++) results.push(await scenario())
  results.sort((a, b) => a.opsPerSec - b.opsPerSec)
  return results[Math.floor(results.length / 2)]
}

function record (i) {
  const bytes = new Uint8Array(RECORD)
  bytes.fill(97 + (i % 26))
  return bytes
}

function summary (latencies, ms, count) {
  const sorted = Float64Array.from(latencies).sort()
  const at = q => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return {
    opsPerSec: Math.round(count / (ms / 1000)),
    p50Ms: +at(0.5).toFixed(3),
    p99Ms: +at(0.99).toFixed(3),
    totalMs: +ms.toFixed(1)
  }
}

/** `writers` loops, each awaiting its own `op(i)`, `total` ops in all; latency of every op. */
async function drive (writers, total, op) {
  const latencies = []
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: writers }, async () => {
    while (next < total) {
      const i = next++
      const t0 = performance.now()
      await op(i)
      latencies.push(performance.now() - t0)
    }
  }))
  return summary(latencies, performance.now() - started, total)
}

async function scratch (base) {
  return await mkdtemp(join(resolve(base), 'hearsay-bench-'))
}

async function benchLog (policy, writers) {
  const dir = await scratch(args.dir)
  try {
    const log = await openLog(dir, 'bench', { sync: policy })
    // One warm-up append: file creation and the first journal commit are not steady state.
    await log.append([record(0)])
    const before = log.stats().fsyncs
    const result = await drive(writers, N, async i => { await log.append([record(i)]) })
    const fsyncs = log.stats().fsyncs - before
    await log.close()
    return { ...result, fsyncs, appendsPerFsync: fsyncs > 0 ? +(N / fsyncs).toFixed(1) : null }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function benchReplay () {
  const dir = await scratch(args.dir)
  try {
    const log = await openLog(dir, 'bench', { sync: 'none' })
    const batch = Array.from({ length: 1000 }, (_, i) => record(i))
    for (let i = 0; i < REPLAY; i += 1000) await log.append(batch)
    await log.close()
    const t0 = performance.now()
    const reopened = await openLog(dir, 'bench')
    const openMs = performance.now() - t0
    let count = 0
    for await (const _ of reopened.replay()) count++
    const totalMs = performance.now() - t0
    const bytes = reopened.stats().bytes
    await reopened.close()
    return { records: count, bytes, openMs: +openMs.toFixed(1), openAndReplayMs: +totalMs.toFixed(1) }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function benchLevel (Level) {
  const results = {}
  const value = record(1)
  const once = async (fn) => {
    const dir = await scratch(args.dir)
    const db = new Level(join(dir, 'db'), { valueEncoding: 'view' })
    await db.open()
    try {
      await db.put('warmup', value, { sync: true })
      return await fn(db)
    } finally {
      await db.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
  const run = async (name, fn) => {
    results[name] = await median(() => once(fn))
    console.log(`level ${name}: ${JSON.stringify(results[name])}`)
  }
  const key = i => `key-${String(i).padStart(8, '0')}`
  await run('putSync1Writer', db => drive(1, N, i => db.put(key(i), value, { sync: true })))
  await run(`putSync${WRITERS}Writers`, db => drive(WRITERS, N, i => db.put(key(i), value, { sync: true })))
  await run('putNoSync1Writer', db => drive(1, N, i => db.put(key(i), value)))
  await run(`putNoSync${WRITERS}Writers`, db => drive(WRITERS, N, i => db.put(key(i), value)))
  await run('batchSync10000', async db => {
    const ops = Array.from({ length: 10_000 }, (_, i) => ({ type: 'put', key: key(i), value }))
    const t0 = performance.now()
    await db.batch(ops, { sync: true })
    const ms = performance.now() - t0
    return { records: 10_000, totalMs: +ms.toFixed(1), opsPerSec: Math.round(10_000 / (ms / 1000)) }
  })
  return results
}

const out = { node: process.versions.node, dir: resolve(args.dir), appends: N, runs: RUNS, recordBytes: RECORD, log: {} }
for (const policy of ['always', 'interval', 'none']) {
  for (const writers of [1, WRITERS]) {
    const name = `${policy}${writers === 1 ? '1Writer' : `${writers}Writers`}`
    out.log[name] = await median(() => benchLog(policy, writers))
    console.log(`log ${name}: ${JSON.stringify(out.log[name])}`)
  }
}
out.log.batch10000Always = await median(async () => {
  const dir = await scratch(args.dir)
  try {
    const log = await openLog(dir, 'bench')
    await log.append([record(0)])
    const batch = Array.from({ length: 10_000 }, (_, i) => record(i))
    const t0 = performance.now()
    await log.append(batch)
    const ms = performance.now() - t0
    await log.close()
    return { records: 10_000, totalMs: +ms.toFixed(1), opsPerSec: Math.round(10_000 / (ms / 1000)) }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
console.log(`log batch10000Always: ${JSON.stringify(out.log.batch10000Always)}`)
out.replay = await benchReplay()
console.log(`log replay: ${JSON.stringify(out.replay)}`)
if (args.level !== undefined) {
  const { Level } = await import(pathToFileURL(join(resolve(args.level), 'index.js')).href)
  out.level = await benchLevel(Level)
}
console.log(JSON.stringify(out))
