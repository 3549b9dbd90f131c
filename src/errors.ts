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
