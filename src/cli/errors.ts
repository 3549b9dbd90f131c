import { HearsayError, codedError } from '../errors.js'

/** A flag, `HEARSAY_*` variable or config file setting is wrong: the message names it. */
export class ConfigError extends HearsayError {
  constructor (source: string, field: string, detail: string) {
    super('ERR_CONFIG', `${source}: ${field} ${detail}`)
  }
}

/** `key gen-psk` refuses to overwrite a file. */
export class FileExistsError extends HearsayError {
  constructor (path: string) {
    super('ERR_FILE_EXISTS', `${path} already exists; remove it first or choose another file (a key is never overwritten)`)
  }
}

/** A client command found no peer API to talk to, or could not reach it. */
export class NoApiError extends codedError('ERR_NO_API') {}

/** The peer's API answered a client command with an error: its code and message, and the HTTP status. */
export class ClientApiError extends HearsayError {
  readonly status: number
  constructor (status: number, code: string, message: string) {
    super(code, message)
    this.status = status
  }
}

/** `hearsay get` of a key that holds no value. */
export class ClientKeyNotFoundError extends HearsayError {
  constructor (key: string) {
    super('ERR_KEY_NOT_FOUND', `no value for key ${JSON.stringify(key)}`)
  }
}
