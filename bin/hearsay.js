#!/usr/bin/env node
// Checked before anything else is loaded: libp2p 2.x fails on older Node with a stack trace.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write(`hearsay needs Node.js 22 or newer, but this is Node ${process.versions.node}: run it as "npx hearsay" or "npm start" in the project, which use the Node 22 that npm install puts in node_modules/.bin\n`)
  process.exit(1)
}
const { main } = await import('../dist/src/cli/index.js')
process.exitCode = await main(process.argv)
