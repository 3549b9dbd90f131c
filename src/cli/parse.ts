import { InvalidArgumentError } from 'commander'
import { LOG_LEVELS, type LogLevel } from './output.js'
import { isProfile, PROFILES, type Profile } from '../profile.js'

export function parseInteger (name: string) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number, not ${JSON.stringify(value)}`)
    const n = Number(value)
    if (!Number.isSafeInteger(n) || n < -2_147_483_648 || n > 2_147_483_647) throw new InvalidArgumentError(`${name} is out of range`)
    return n
  }
}

/** A counter step on the command line: a finite number above 0 (decr makes it negative). */
export function parseAmount (value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`BY must be a number above 0, not ${JSON.stringify(value)}`)
  return n
}

export function parseLogLevel (value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new InvalidArgumentError(`log level must be one of ${LOG_LEVELS.join(', ')}`)
  return value as LogLevel
}

export function parseProfile (value: string): Profile {
  if (!isProfile(value)) throw new InvalidArgumentError(`profile must be ${PROFILES.join(' or ')}`)
  return value
}

/** `--tag K=V`, repeatable: collects into one object; a later K wins. */
export function parseTag (value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = value.indexOf('=')
  if (at <= 0) throw new InvalidArgumentError(`a tag is NAME=VALUE (for example zone=eu-1), not ${JSON.stringify(value)}`)
  const tags: Record<string, string> = { ...previous }
  Object.defineProperty(tags, value.slice(0, at), { value: value.slice(at + 1), enumerable: true, writable: true, configurable: true })
  return tags
}

/** A repeatable option with a fixed set of values. */
export function collectChoice (allowed: readonly string[]) {
  return (value: string, previous: string[] | undefined): string[] => {
    if (!allowed.includes(value)) throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}`)
    return [...(previous ?? []), value]
  }
}

/** Repeatable options: `--listen A --listen B`. */
export function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

export function parseHttpUrl (name: string) {
  return (value: string): string => {
    let url: URL | undefined
    try {
      url = new URL(value)
    } catch {}
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new InvalidArgumentError(`${name} must be an http(s) URL (for example http://127.0.0.1:4318), not ${JSON.stringify(value)}`)
    }
    return value
  }
}
