#!/usr/bin/env node
// The Node version check runs first: libp2p 2.x fails on older Node with a stack trace. It has
// no imports that need Node 22, and refuses an older Node with one line that says what to do.
try {
  await import('../dist/src/node-version.js')
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}${err?.code === undefined ? '' : ` (${err.code})`}\n`)
  process.exit(1)
}
const { main } = await import('../dist/src/cli/index.js')
process.exitCode = await main(process.argv)
