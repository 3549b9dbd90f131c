// The write records the peers persist, read from their replica logs (read-only) while the run
// goes on. Garbage collection removes superseded records from the store and, at compaction,
// from the log: reading the logs as they grow keeps every record ever written, so the chaos
// checks can follow a superseded write to the one that superseded it (a record's `removes`),
// which the HTTP API does not show.
import { open, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import zlib from 'node:zlib'
import { decodeRecord, decodeSealedBatch, isCheckpoint, sealedEntry } from '../dist/src/replica/index.js'

export const dotKey = (dot) => `${dot.replica}:${dot.seq}`

/** Frame header: [u32 length][u32 crc32 of the length field and the payload], little-endian (src/storage/framing.ts). */
const HEADER = 8

/** What a log entry holding a sealed batch starts with: the entry of an empty batch is that prefix alone. */
const SEALED_PREFIX = sealedEntry(new Uint8Array(0))

/** The complete, intact frames of a log file's bytes, in order. */
function * frames (bytes) {
  let pos = 0
  while (pos + HEADER <= bytes.length) {
    const length = bytes.readUInt32LE(pos)
    if (pos + HEADER + length > bytes.length) return // still being written
    const payload = bytes.subarray(pos + HEADER, pos + HEADER + length)
    if (zlib.crc32(payload, zlib.crc32(bytes.subarray(pos, pos + 4))) !== bytes.readUInt32LE(pos + 4)) return
    pos += HEADER + length
    yield payload
  }
}

/**
 * The size of `<dir>/replica.log` now and the write records in it: the peer's own records
 * and every record of the sealed batches it logged (a compaction's checkpoint is not one).
 * `{ bytes: 0, entries: 0, records: 0 }` when there is no log yet.
 */
export async function countLogRecords (dataDir) {
  let bytes
  try {
    bytes = await readFile(join(dataDir, 'replica.log'))
  } catch (err) {
    if (err.code === 'ENOENT') return { bytes: 0, entries: 0, records: 0 }
    throw err
  }
  let entries = 0
  let records = 0
  for (const payload of frames(bytes)) {
    entries++
    if (isCheckpoint(payload)) continue
    if (payload.subarray(0, SEALED_PREFIX.length).equals(SEALED_PREFIX)) {
      try {
        records += decodeSealedBatch(payload.subarray(SEALED_PREFIX.length)).records.length
      } catch {
        // Not a batch this version reads: it takes room all the same, but holds no record we can count.
      }
    } else {
      records++
    }
  }
  return { bytes: bytes.length, entries, records }
}

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
    for (const payload of frames(bytes)) {
      pos += HEADER + payload.length
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
