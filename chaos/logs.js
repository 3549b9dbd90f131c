// The write records the peers persist, read from their replica logs (read-only) while the run
// goes on. Garbage collection removes superseded records from the store and, at compaction,
// from the log: reading the logs as they grow keeps every record ever written, so the chaos
// checks can follow a superseded write to the one that superseded it (a record's `removes`),
// which the HTTP API does not show.
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import zlib from 'node:zlib'
import { decodeRecord, isCheckpoint } from '../dist/src/replica/index.js'

export const dotKey = (dot) => `${dot.replica}:${dot.seq}`

/** Frame header: [u32 length][u32 crc32 of the length field and the payload], little-endian (src/storage/framing.ts). */
const HEADER = 8

/**
 * Follows `<dir>/replica.log` of every data dir. `poll()` reads what was appended since the
 * last poll (the whole file again once a compaction replaced it); `records` maps a dot key to
 * `{ dot, key, clock, removes, hlc }` of every record seen in any log so far.
 */
export function createLogTail (dataDirs) {
  const records = new Map()
  const files = dataDirs.map((dir) => ({ path: join(dir, 'replica.log'), ino: -1, offset: 0 }))
  const readNew = async (file) => {
    let info
    try {
      info = await stat(file.path)
    } catch {
      return // not created yet
    }
    // A compaction renames a new file over the log; a restart may cut a torn tail.
    if (info.ino !== file.ino || info.size < file.offset) {
      file.ino = info.ino
      file.offset = 0
    }
    if (info.size === file.offset) return
    const handle = await open(file.path, 'r')
    let bytes
    try {
      bytes = Buffer.alloc(info.size - file.offset)
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, file.offset)
      bytes = bytes.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
    let pos = 0
    while (pos + HEADER <= bytes.length) {
      const length = bytes.readUInt32LE(pos)
      if (pos + HEADER + length > bytes.length) break // still being written
      const payload = bytes.subarray(pos + HEADER, pos + HEADER + length)
      if (zlib.crc32(payload, zlib.crc32(bytes.subarray(pos, pos + 4))) !== bytes.readUInt32LE(pos + 4)) break
      pos += HEADER + length
      if (isCheckpoint(payload)) continue
      try {
        const record = decodeRecord(payload)
        const key = dotKey(record.dot)
        if (!records.has(key)) records.set(key, { dot: record.dot, key: record.key, clock: record.clock, removes: record.removes, hlc: record.hlc })
      } catch {
        // Not a record this version understands: nothing to learn from it.
      }
    }
    file.offset += pos
  }
  return {
    records,
    poll: async () => { for (const file of files) await readNew(file) }
  }
}
