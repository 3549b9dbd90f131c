// CLI start-up: how long a client command takes from spawn to exit, against a running peer.
// `hearsay get k` is what a script calls in a loop; the figure beside it is the floor, a bare
// `node -e ''` on the same Node, so the command's own cost reads as the difference.
//   node bench/cli.js --rounds 30
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createPeer } from '../dist/src/index.js'
import { startApi, createToken } from '../dist/src/api/index.js'
import { runBenchmark, parseArgs, summary, now, uniqueNetwork } from './lib.js'

const args = parseArgs({ rounds: 30, warmup: 3 })
const BIN = fileURLToPath(new URL('../bin/hearsay.js', import.meta.url))

/** Wall time of one child process from spawn to exit (ms); rejects on a non-zero exit. */
function timed (argv, env) {
  return new Promise((resolve, reject) => {
    const t0 = now()
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let stderr = ''
    child.stdout.resume()
    child.stderr.on('data', (d) => { stderr += d })
    child.on('close', (code) => {
      const elapsed = now() - t0
      if (code === 0) resolve(elapsed)
      else reject(new Error(`${argv.slice(1).join(' ')} exited ${code}: ${stderr.trim()}`))
    })
  })
}

async function measure (label, argv, env, log) {
  for (let i = 0; i < args.warmup; i++) await timed(argv, env)
  const times = []
  for (let i = 0; i < args.rounds; i++) times.push(await timed(argv, env))
  const result = summary(times)
  log(`${label}: p50 ${result.p50} ms, p90 ${result.p90} ms`)
  return result
}

await runBenchmark('cli', async ({ log, defer }) => {
  const peer = await createPeer({ network: uniqueNetwork('bench-cli'), profile: 'local' })
  await peer.start()
  defer(async () => peer.stop())
  const token = createToken()
  const api = await startApi(peer, { token, logger: false })
  defer(async () => api.close())
  await peer.kv.put('k', { hello: 'world' })
  const env = { HEARSAY_API: api.url, HEARSAY_TOKEN: token }
  const floor = await measure('node -e ""', ['-e', ''], {}, log)
  const version = await measure('hearsay --version', [BIN, '--version'], {}, log)
  const get = await measure('hearsay get k', [BIN, 'get', 'k'], env, log)
  return {
    rounds: args.rounds,
    get_ms: get,
    version_ms: version,
    node_floor_ms: floor,
    get_over_floor_ms: Math.round((get.p50 - floor.p50) * 10) / 10
  }
})
