/** With the u flag a pair is one code point, so this finds only lone surrogates: what the protobuf runtime makes of bytes that are not UTF-8. */
const LONE_SURROGATE = /\p{Surrogate}/u

/**
 * Whether `text` is well-formed Unicode (it came from valid UTF-8). Every decoder of text from
 * the network checks it: a string that is not would be passed on as different text (U+FFFD)
 * than it arrived as, so digests, ids and keys would no longer match between peers.
 */
export function isWellFormed (text: string): boolean {
  return !LONE_SURROGATE.test(text)
}
