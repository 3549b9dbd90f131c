#!/usr/bin/env node
// Checked before anything else is loaded: libp2p 2.x fails on older Node with a stack trace.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write(`hearsay needs Node.js 22 or newer, but this is Node ${process.versions.node}: run it as "npx hearsay" or "npm start" in the project, which use the Node 22 that npm install puts in node_modules/.bin\n`)
  process.exit(1)
}

// A peer process (`hearsay start`) runs with a small young generation: V8 grows it to 16 MiB per
// semi-space (32 MiB resident) during start-up and keeps it, which was a fifth of an idle
// peer's memory. And with few malloc arenas: glibc gives each thread its own, which held
// another 7 MiB. Both are read only when a process starts, so the process replaces itself
// (same pid, same stdio) with one that has them. A --max-semi-space-size given in NODE_OPTIONS
// or on the command line, or a MALLOC_ARENA_MAX in the environment, is left alone.
const SEMI_SPACE_MB = 2
const MALLOC_ARENAS = '2'
const command = process.argv.slice(2).find((arg) => !arg.startsWith('-'))
const chosen = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((flag) => flag.startsWith('--max-semi-space-size'))
if (command === 'start' && !chosen && typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, `--max-semi-space-size=${SEMI_SPACE_MB}`, ...process.execArgv, ...process.argv.slice(1)],
    { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? MALLOC_ARENAS })
}

// Compiled code is cached on disk (in the OS temp dir, or $NODE_COMPILE_CACHE): loading the
// modules a peer needs was most of its start-up CPU, and a third of that is compiling.
const { enableCompileCache } = await import('node:module')
enableCompileCache?.()

const { main } = await import('../dist/src/cli/index.js')
process.exitCode = await main(process.argv)
