// Start-up of a replica from its log: replayLog over a log of --batches sealed batches (as the
// receive path persists them, --records records each, from --authors writers), then the
// time to open the log and replay it. Replay opens every batch's seal (one Ed25519 verify per
// batch), so this is mostly what those verifies cost at start.
//
//   npx tsc -p tsconfig.json      # the bench imports the compiled library from dist/
//   node bench/replay.js [--batches 10000] [--records 4] [--authors 4] [--runs 5] [--dir DIR]
//
// One warm-up replay (discarded), then --runs replays; the median is reported. Progress on
// stderr; the last stdout line is one JSON object.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { SignatureVerifier, withCachedSigner } from '../dist/src/net/identity.js'
import { Provenance, replayLog, ReplicaState, sealedEntry } from '../dist/src/replica/index.js'
import { openLog } from '../dist/src/storage/index.js'
import { machine, ms, now, parseArgs, percentile } from './lib.js'

const args = parseArgs({ batches: 10_000, records: 4, authors: 4, runs: 5, dir: existsSync('/dev/shm') ? '/dev/shm' : tmpdir() })

const writers = []
for (let a = 0; a < args.authors; a++) {
  const key = withCachedSigner(await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(a + 1)))
  const id = peerIdFromPrivateKey(key).toString()
  writers.push({ id, sign: (bytes) => key.sign(bytes), state: new ReplicaState(id), provenance: new Provenance() })
}

const dir = await mkdtemp(join(args.dir, 'hearsay-bench-replay-'))
try {
  const entries = []
  for (let b = 0; b < args.batches; b++) {
    const w = writers[b % writers.length]
    const records = []
    for (let r = 0; r < args.records; r++) records.push(w.state.put(`key-${b}-${r}`, { batch: b, record: r, text: 'some value of a realistic size' }))
    for (const sealed of w.provenance.sealOwn(w.id, records, w.sign, 1 << 20)) entries.push(sealedEntry(sealed.bytes))
  }
  const log = await openLog(dir, 'replica', { sync: 'none' })
  await log.append(entries)
  const bytes = log.stats().bytes
  await log.close()
  process.stderr.write(`log of ${entries.length} sealed batches, ${args.batches * args.records} records, ${bytes} bytes\n`)

  const verifier = new SignatureVerifier()
  const verify = (author, data, signature) => verifier.verify(author, data, signature)
  const replay = async () => {
    const started = now()
    const reopened = await openLog(dir, 'replica', { sync: 'none' })
    const state = new ReplicaState('12D3KooWBenchReplayingReplica')
    const result = await replayLog(reopened, state, new Provenance(), verify)
    await reopened.close()
    const elapsed = now() - started
    if (state.recordCount() !== args.batches * args.records) throw new Error(`replayed ${state.recordCount()} records of ${args.batches * args.records}`)
    return { elapsed, result }
  }
  await replay()
  const times = []
  let last
  for (let i = 0; i < args.runs; i++) {
    last = await replay()
    times.push(last.elapsed)
    process.stderr.write(`replay ${i + 1}: ${ms(last.elapsed)} ms\n`)
  }
  const median = percentile(times, 50)
  process.stdout.write(JSON.stringify({
    benchmark: 'replay',
    batches: args.batches,
    recordsPerBatch: args.records,
    authors: args.authors,
    logBytes: bytes,
    runs: args.runs,
    replayMs: ms(median),
    replayMsMin: ms(Math.min(...times)),
    replayMsMax: ms(Math.max(...times)),
    perBatchUs: Math.round((median * 1000) / args.batches),
    result: last.result,
    ...machine()
  }) + '\n')
} finally {
  await rm(dir, { recursive: true, force: true })
}
