import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CounterFile } from '../../src/counter-file.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function tempFile (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-counter-'))
  dirs.push(dir)
  return join(dir, 'counter.json')
}

describe('CounterFile', () => {
  it('reads back what it wrote, as {"<field>": n} with mode 0600', async () => {
    const path = await tempFile()
    const file = new CounterFile(path, 'term', 2 ** 52)
    await file.write(42)
    expect(await file.read()).toBe(42)
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ term: 42 })
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  it('a missing, unreadable or wrong file reads as 0; a value over max reads as max', async () => {
    const path = await tempFile()
    const file = new CounterFile(path, 'incarnation', 1_000)
    expect(await file.read()).toBe(0)
    for (const text of ['not json', 'null', '[]', '{"incarnation":-1}', '{"incarnation":1.5}', '{"incarnation":"7"}', '{"other":7}']) {
      await writeFile(path, text)
      expect(await file.read(), text).toBe(0)
    }
    await writeFile(path, '{"incarnation":5000}')
    expect(await file.read()).toBe(1_000)
  })
})
