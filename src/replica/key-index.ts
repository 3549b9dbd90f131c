/**
 * The keys a replica knows, in order (UTF-16 code units, as JavaScript compares strings), so a
 * listing under a prefix, or a page after a key, costs the size of what it returns, not of the
 * store. A sorted array: lookups are binary searches, inserts and removals move memory once.
 */
export class KeyIndex {
  private readonly keys: string[] = []

  get size (): number {
    return this.keys.length
  }

  add (key: string): void {
    const i = this.lowerBound(key)
    if (this.keys[i] !== key) this.keys.splice(i, 0, key)
  }

  delete (key: string): void {
    const i = this.lowerBound(key)
    if (this.keys[i] === key) this.keys.splice(i, 1)
  }

  /** Keys under `prefix`, in order, strictly after `after` when given. */
  * range (prefix: string, after?: string): IterableIterator<string> {
    const from = after !== undefined && after >= prefix ? after : prefix
    let i = this.lowerBound(from)
    if (after !== undefined && this.keys[i] === after) i++
    for (; i < this.keys.length; i++) {
      const key = this.keys[i] as string
      if (!key.startsWith(prefix)) return
      yield key
    }
  }

  /** The first position whose key is not below `key`. */
  private lowerBound (key: string): number {
    let lo = 0
    let hi = this.keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.keys[mid] as string) < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
