import { describe, expect, it } from 'vitest'
import { Backoff } from '../../src/backoff.js'

describe('Backoff', () => {
  it('waits min first, doubles each time up to max, and starts over after reset', () => {
    const backoff = new Backoff(100, 1_000)
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next())).toEqual([100, 200, 400, 800, 1_000, 1_000])
    backoff.reset()
    expect(backoff.next()).toBe(100)
    expect(backoff.next()).toBe(200)
  })
})
