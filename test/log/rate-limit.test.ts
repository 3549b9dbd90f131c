import { describe, it, expect } from 'vitest'
import { rateLimited, silentLog, type Log } from '../../src/log.js'

function recorder (): { log: Log, lines: Array<{ level: string, fields: Record<string, unknown>, message: string }> } {
  const lines: Array<{ level: string, fields: Record<string, unknown>, message: string }> = []
  const at = (level: string) => (first: Record<string, unknown> | string, second?: string): void => {
    lines.push(typeof first === 'string' ? { level, fields: {}, message: first } : { level, fields: first, message: second ?? '' })
  }
  const log: Log = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => log }
  return { log, lines }
}

describe('rateLimited', () => {
  it('lets `limit` messages through per window and reports how many it held back', () => {
    let now = 0
    const { log, lines } = recorder()
    const warn = rateLimited(log, 'warn', 3, 1_000, () => now)
    for (let i = 0; i < 10; i++) warn({ i }, 'dropped')
    expect(lines.map((l) => l.fields.i)).toEqual([0, 1, 2])
    now = 1_000
    warn({ i: 10 }, 'dropped')
    expect(lines).toHaveLength(4)
    expect(lines[3]).toMatchObject({ level: 'warn', fields: { i: 10, suppressed: 7 } })
    expect(lines[3]!.message).toMatch(/7 similar messages suppressed/)
    warn('plain')
    expect(lines[4]).toEqual({ level: 'warn', fields: {}, message: 'plain' })
  })

  it('the silent log takes every call and its children are silent too', () => {
    expect(() => { silentLog.child({ component: 'x' }).warn({ a: 1 }, 'nothing') }).not.toThrow()
    expect(silentLog.child({})).toBe(silentLog)
  })
})
