/**
 * Tags are free-form labels a member announces (`zone=eu-1`): checked here against the limits
 * every decoder applies to them, so a tag this peer sets is never one the others drop.
 */
import { isWellFormed } from '../text.js'
import { MEMBERSHIP_LIMITS } from './constants.js'
import { InvalidTagsError } from './errors.js'

/** Throws InvalidTagsError, naming the tag, for tags the others would refuse. */
export function validateTags (tags: Record<string, string>): void {
  const L = MEMBERSHIP_LIMITS
  const entries = Object.entries(tags)
  if (entries.length > L.maxTags) throw new InvalidTagsError(`at most ${L.maxTags} tags, not ${entries.length}`)
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > L.maxTagKeyLength || !isWellFormed(key)) {
      throw new InvalidTagsError(`tag name ${JSON.stringify(key.slice(0, 80))} must be 1-${L.maxTagKeyLength} characters of text`)
    }
    if (typeof value !== 'string' || value.length > L.maxTagValueLength || !isWellFormed(value)) {
      throw new InvalidTagsError(`tag ${JSON.stringify(key)} must have a text value of at most ${L.maxTagValueLength} characters`)
    }
  }
}

/** `current` with `set` added or changed and `remove` taken out, checked; `current` is left alone. */
export function patchTags (current: Record<string, string>, set: Record<string, string>, remove: readonly string[]): Record<string, string> {
  const next: Record<string, string> = Object.fromEntries(Object.entries(current))
  for (const key of remove) delete next[key]
  for (const [key, value] of Object.entries(set)) Object.defineProperty(next, key, { value, enumerable: true, writable: true, configurable: true })
  validateTags(next)
  return next
}
