import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileDurably } from '../storage/index.js'
import { API_TOKEN_FILE, MAX_TOKEN_LENGTH, MIN_TOKEN_LENGTH, TOKEN_BYTES } from './constants.js'
import { InvalidApiOptionsError, TokenFileError, UnauthorizedError } from './errors.js'

const TOKEN_PATTERN = /^[\x21-\x7e]+$/

/** A fresh token: 32 random bytes as 64 hex characters. For in-memory peers, or to rotate. */
export function createToken (): string {
  return randomBytes(TOKEN_BYTES).toString('hex')
}

const loading = new Map<string, Promise<string>>()

/**
 * The API token of the peer whose data dir this is: read from `<dataDir>/api.token`, or made
 * on the first start (32 random bytes, hex) and written durably with mode 0600. A token file
 * that others can read is narrowed to 0600; one that holds no usable token is an error
 * (`ERR_TOKEN_FILE`), not silently replaced, since clients may already use it.
 */
export async function loadOrCreateToken (dataDir: string): Promise<string> {
  const path = join(dataDir, API_TOKEN_FILE)
  // Two calls at once in one process must agree on one token.
  const pending = loading.get(path)
  if (pending !== undefined) return pending
  const load = readOrCreate(path).finally(() => { loading.delete(path) })
  loading.set(path, load)
  return load
}

async function readOrCreate (path: string): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TokenFileError(path, 'cannot be read', { cause: err })
    const token = createToken()
    await writeFileDurably(path, new TextEncoder().encode(`${token}\n`), 0o600)
    return token
  }
  const token = text.trim()
  if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) {
    throw new TokenFileError(path, `does not hold a token (${MIN_TOKEN_LENGTH}-${MAX_TOKEN_LENGTH} printable characters without spaces)`)
  }
  const mode = (await stat(path)).mode & 0o777
  if ((mode & 0o077) !== 0) await chmod(path, 0o600)
  return token
}

/**
 * Checks an `Authorization` header against the token in constant time: both sides are
 * hashed to 32 bytes first, so neither the content nor the length of the token leaks
 * through how long the comparison takes.
 */
export function createTokenCheck (token: string): (authorization: string | undefined) => void {
  if (token.length < MIN_TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) {
    throw new InvalidApiOptionsError(`the API token must be at least ${MIN_TOKEN_LENGTH} printable characters without spaces: use createToken()`)
  }
  const expected = digest(token)
  return (authorization) => {
    if (authorization === undefined || authorization === '') {
      throw new UnauthorizedError('this route needs "Authorization: Bearer <token>": the token is in the peer\'s data dir (api.token)')
    }
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization)
    const presented = match?.[1]
    if (presented === undefined) throw new UnauthorizedError('the Authorization header must be "Bearer <token>"')
    if (!timingSafeEqual(digest(presented), expected)) throw new UnauthorizedError('wrong API token')
  }
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
