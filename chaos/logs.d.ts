// Types of logs.js.
import type { LoggedRecord, Dot } from './check.js'

export function dotKey (dot: Dot): string
export function createLogTail (dataDirs: string[]): { records: Map<string, LoggedRecord>, poll: () => Promise<void> }
export function countLogRecords (dataDir: string): Promise<{ bytes: number, entries: number, records: number }>
