// Types of logs.js.
import type { LoggedRecord, Dot } from './check.js'

export function dotKey (dot: Dot): string
export function readRecords (dataDirs: string[]): Promise<Map<string, LoggedRecord>>
