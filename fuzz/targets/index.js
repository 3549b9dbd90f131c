// The fuzz targets, one per decoder of untrusted input, in the order `npm run fuzz` runs them.
// `weight` is a target's share of the time (`--seconds`).

export const TARGETS = [
  { name: 'membership', weight: 1, about: 'membership wire messages (decodeMessage) and the member table they feed' },
  { name: 'gossip', weight: 1, about: 'replica batches and records (decodeBatch, decodeRecord) and the store they feed' },
  { name: 'anti-entropy', weight: 1, about: 'anti-entropy stream frames (decodeSyncFrame) and a sync session over a store' },
  { name: 'framing', weight: 0.5, about: 'the varint length prefix of stream messages (it-length-prefixed with our limit)' },
  { name: 'election', weight: 0.75, about: 'election messages (decodeElectionMessage) and the bully state machine' },
  { name: 'api', weight: 1, about: 'HTTP API requests (methods, paths, keys, query, headers, bodies) through inject()' },
  { name: 'config', weight: 0.75, about: 'config files (JSON and YAML) and HEARSAY_* environment variables' },
  { name: 'cli', weight: 0.5, about: 'command-line arguments of every command, and the option parsers' }
]

export function targetModule (name) {
  if (!TARGETS.some((t) => t.name === name)) {
    throw new Error(`no fuzz target ${JSON.stringify(name)}; known: ${TARGETS.map((t) => t.name).join(', ')}`)
  }
  return new URL(`./${name}.js`, import.meta.url).href
}
