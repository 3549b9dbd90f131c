import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import type { SkipInfo } from '../../src/storage/index.js'

const dirs: string[] = []

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** A fresh directory removed after the test. */
export async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-storage-'))
  dirs.push(dir)
  return dir
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function bytes (text: string): Uint8Array {
  return encoder.encode(text)
}

export function text (data: Uint8Array): string {
  return decoder.decode(data)
}

/** Records of varied sizes (0 to a few hundred bytes) with recognisable contents. */
export function sampleRecords (count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => bytes(`record ${i} `.repeat(i % 7) + (i % 5 === 0 ? '' : `#${i}`)))
}

/** An `onSkip` that remembers what it was told. */
export function skipRecorder (): { onSkip: (info: SkipInfo) => void, skips: SkipInfo[] } {
  const skips: SkipInfo[] = []
  return { skips, onSkip: (info) => { skips.push(info) } }
}
