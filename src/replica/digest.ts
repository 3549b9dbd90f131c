import { createHash, hash } from 'node:crypto'
import type { Dot } from './types.js'

const MODULUS = 1n << 256n

function dotHash (dot: Dot): bigint {
  return BigInt(`0x${hash('sha256', `${dot.seq}:${dot.replica}`, 'hex')}`)
}

/**
 * An order-independent hash of a set of dots, kept up to date one dot at a time: the sum of
 * the dots' SHA-256 values modulo 2^256. A sum rather than XOR, because XOR sets of hashes
 * can be made to collide by linear algebra over GF(2).
 */
export class SetDigest {
  private sum = 0n
  private count = 0

  add (dot: Dot): void {
    this.sum = (this.sum + dotHash(dot)) % MODULUS
    this.count++
  }

  remove (dot: Dot): void {
    this.sum = (this.sum - dotHash(dot) + MODULUS) % MODULUS
    this.count--
  }

  toString (): string {
    return createHash('sha256').update(`${this.count}:${this.sum.toString(16)}`).digest('hex')
  }
}
