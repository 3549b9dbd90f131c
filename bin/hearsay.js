#!/usr/bin/env node
// The Node version check runs first: libp2p 2.x fails on older Node with a stack trace. It has
// no imports that need Node 22, and refuses an older Node with one line that says what to do.
try {
  await import('../dist/src/node-version.js')
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}${err?.code === undefined ? '' : ` (${err.code})`}\n`)
  process.exit(1)
}

// A peer process (`hearsay start`) runs with a small young generation: V8 grows it to 16 MiB per
// semi-space (32 MiB resident) during start-up and keeps it, which was a fifth of an idle
// peer's memory. It optimizes for size: otherwise every burst of work (a catch-up after a heal
// or a restart) left the old generation's pages resident for good, and a peer under a steady
// load grew in steps, 20-40 % in 20 minutes of faults. With it, V8's major collections compact
// and give pages back. And it runs with few malloc arenas: glibc gives each thread its own,
// which held another 7 MiB. All are read only when a process starts, so the process replaces
// itself (same pid, same stdio) with one that has them. A flag given in NODE_OPTIONS or on the
// command line, or a MALLOC_ARENA_MAX in the environment, is left alone.
const V8_FLAGS = ['--max-semi-space-size=2', '--optimize-for-size']
const MALLOC_ARENAS = '2'
const command = process.argv.slice(2).find((arg) => !arg.startsWith('-'))
const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
const named = (flag) => flag.split('=')[0].replace(/^--(no-)?/, '')
const added = V8_FLAGS.filter((flag) => !given.some((g) => g.startsWith('--') && named(g) === named(flag)))
// The replaced process has them all in its execArgv, so it never replaces itself again.
if (command === 'start' && added.length > 0 && typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, ...added, ...process.execArgv, ...process.argv.slice(1)],
    { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? MALLOC_ARENAS })
}

// Compiled code is cached on disk (in the OS temp dir, or $NODE_COMPILE_CACHE): loading the
// modules a peer needs was most of its start-up CPU, and a third of that is compiling.
const { enableCompileCache } = await import('node:module')
enableCompileCache?.()

const { main } = await import('../dist/src/cli/index.js')
process.exitCode = await main(process.argv)
