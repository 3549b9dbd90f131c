// What Linux says about a process: CPU time, resident memory, wake-ups. For benchmarks of
// peers that run as their own processes (`hearsay start`), read from outside, so measuring
// costs the peer nothing.

import { readFileSync, readdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

let clockTicks
/** Kernel clock ticks per second (`getconf CLK_TCK`, 100 nearly everywhere). */
export function clockTicksPerSecond () {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

function statusFields (path) {
  const fields = {}
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line)
    if (m !== null) fields[m[1]] = Number(m[2])
  }
  return fields
}

/**
 * One reading of process `pid`: CPU seconds (user + system, all threads), RSS, its anonymous
 * and file-backed parts, and peak RSS (MB), and voluntary context switches (a thread that went to sleep and was woken: one per
 * wake-up of an idle event loop) of the main thread and of all threads. Undefined when the
 * process is gone.
 */
export function readProc (pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may hold spaces: fields count from after it.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(rest[11])
    const stime = Number(rest[12])
    const status = statusFields(`/proc/${pid}/status`)
    let allWakeups = 0
    let threads = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        allWakeups += statusFields(`/proc/${pid}/task/${tid}/status`).voluntary_ctxt_switches ?? 0
        threads++
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
    return {
      at: performance.now(),
      cpuSeconds: (utime + stime) / clockTicksPerSecond(),
      rssMb: (status.VmRSS ?? 0) / 1024,
      // Anonymous memory is this process's own (heap, buffers); file pages (the node binary,
      // mapped libraries) are shared by every peer process on the machine.
      rssAnonMb: (status.RssAnon ?? 0) / 1024,
      rssFileMb: (status.RssFile ?? 0) / 1024,
      peakRssMb: (status.VmHWM ?? 0) / 1024,
      mainWakeups: status.voluntary_ctxt_switches ?? 0,
      allWakeups,
      threads
    }
  } catch {
    return undefined
  }
}

/** Between two readings: share of one core (0.01 = 1 %), wake-ups per second. */
export function between (a, b) {
  const seconds = (b.at - a.at) / 1000
  return {
    seconds,
    cpuShare: (b.cpuSeconds - a.cpuSeconds) / seconds,
    mainWakeupsPerSecond: (b.mainWakeups - a.mainWakeups) / seconds,
    allWakeupsPerSecond: (b.allWakeups - a.allWakeups) / seconds
  }
}
