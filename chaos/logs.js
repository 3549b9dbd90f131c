// Post-mortem: the write records every peer persisted, read from their replica logs once the
// processes have stopped. The chaos checks use them to follow a superseded write to the one
// that superseded it (a record's `removes`), which the HTTP API does not show.
import { openLog } from '../dist/src/storage/index.js'
import { decodeRecord, isCheckpoint } from '../dist/src/replica/index.js'

export const dotKey = (dot) => `${dot.replica}:${dot.seq}`

/** dot → `{ dot, key, clock, removes, hlc }` of every record found in the logs of these data dirs. */
export async function readRecords (dataDirs) {
  const records = new Map()
  for (const dir of dataDirs) {
    const log = await openLog(dir, 'replica', { syncPolicy: 'none', onSkip: () => {} })
    try {
      for await (const bytes of log.replay()) {
        if (isCheckpoint(bytes)) continue
        let record
        try {
          record = decodeRecord(bytes)
        } catch {
          continue
        }
        records.set(dotKey(record.dot), { dot: record.dot, key: record.key, clock: record.clock, removes: record.removes, hlc: record.hlc })
      }
    } finally {
      await log.close()
    }
  }
  return records
}
