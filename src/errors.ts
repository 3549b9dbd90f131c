/**
 * The base of every error hearsay throws on purpose. `code` is stable and documented in the
 * README; the message says what to do about it.
 */
export class HearsayError extends Error {
  readonly code: string

  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * The base of an error class with one code and a message written where it is thrown:
 * `export class InvalidApiOptionsError extends codedError('ERR_INVALID_API_OPTIONS') {}`.
 * The class keeps its own name, and `InvalidApiOptionsError.code` is its code.
 */
export function codedError<C extends string> (code: C) {
  return class CodedError extends HearsayError {
    static readonly code: C = code

    constructor (message: string, options?: { cause?: unknown }) {
      super(code, message, options)
    }
  }
}

/**
 * The same for bytes from the network that a decoder refuses: the message reads
 * `malformed <what>: <detail>`, and the receiver drops and counts them.
 */
export function malformedError<C extends string> (code: C, what: string) {
  return class MalformedError extends HearsayError {
    static readonly code: C = code

    constructor (detail: string, options?: { cause?: unknown }) {
      super(code, `malformed ${what}: ${detail}`, options)
    }
  }
}
