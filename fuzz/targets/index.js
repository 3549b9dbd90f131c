// The fuzz targets, one per decoder of untrusted input (and for the seals and the replica log
// behind the store's), in the order `npm run fuzz` runs them.
// `weight` is a target's share of the time (`--seconds`); `quick` is how many inputs it gets in
// the short pass (`--quick`) that test/fuzz/fuzz.test.ts runs with `npm test`: each about a
// second of work on an idle machine.

export const TARGETS = [
  { name: 'membership', weight: 1, quick: 3000, about: 'membership wire messages (decodeMessage) and the member table they feed' },
  { name: 'gossip', weight: 1, quick: 1000, about: 'gossip messages of sealed batches (decodeSealedBatches), their seals (openSeal, Ed25519), the receive path and the store it feeds' },
  { name: 'anti-entropy', weight: 1, quick: 600, about: 'anti-entropy stream frames (decodeSyncFrame), the sealed batches of RECORDS frames, and a sync session over a store' },
  { name: 'seal', weight: 1, quick: 600, about: 'Merkle proofs of sealed batches (PartialTree) under mutation, and seals relayed over two hops (Provenance.relay, openSeal)' },
  { name: 'replica-log', weight: 1, quick: 300, about: 'a replica log of own records, sealed entries and a checkpoint, damaged in its entries or its file, replayed (replayLog over openLog)' },
  { name: 'framing', weight: 0.5, quick: 3000, about: 'the varint length prefix of stream messages (it-length-prefixed with our limit)' },
  { name: 'election', weight: 0.75, quick: 1500, about: 'election messages (decodeElectionMessage) and the bully state machine' },
  { name: 'observe', weight: 0.75, quick: 1500, about: 'beacons and trace requests and replies (decodeBeacon, decodeTraceRequest, decodeTraceReply) and the convergence core' },
  { name: 'events', weight: 0.5, quick: 1500, about: 'user events, queries and answers (decodeUserMessage, decodeQueryAnswer) and their JSON payloads' },
  { name: 'api', weight: 1, quick: 500, about: 'HTTP API requests (methods, paths, keys, query, headers, bodies) through inject()' },
  { name: 'config', weight: 0.75, quick: 500, about: 'config files (JSON and YAML) and HEARSAY_* environment variables' },
  { name: 'cli', weight: 0.5, quick: 1000, about: 'command-line arguments of every command, and the option parsers' }
]

export function targetModule (name) {
  if (!TARGETS.some((t) => t.name === name)) {
    throw new Error(`no fuzz target ${JSON.stringify(name)}; known: ${TARGETS.map((t) => t.name).join(', ')}`)
  }
  return new URL(`./${name}.js`, import.meta.url).href
}
