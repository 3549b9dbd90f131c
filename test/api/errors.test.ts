import { describe, it, expect } from 'vitest'
import { classifyError, formatSchemaErrors } from '../../src/api/errors.js'
import { ApiError, buildApi, ERROR_STATUS, InvalidApiOptionsError, NoLeaderError, StoppingError } from '../../src/api/index.js'
import { createPeer } from '../../src/index.js'
import { HearsayError } from '../../src/errors.js'
import { TOKEN } from './helpers.js'
import { InvalidValueError, KeyTooLongError, TooManyRemovesError, ValueTooLargeError, WrongTypeError } from '../../src/replica/index.js'
import { LogClosedError } from '../../src/storage/index.js'

describe('one table maps error codes to statuses', () => {
  it('the store\'s errors keep their code and message, with a fitting status', () => {
    const cases: Array<[Error & { code: string }, number]> = [
      [new KeyTooLongError('key too long'), 400],
      [new InvalidValueError('not JSON'), 400],
      [new ValueTooLargeError('too big'), 413],
      [new WrongTypeError('a counter'), 409],
      [new TooManyRemovesError('too many'), 409]
    ]
    for (const [err, status] of cases) {
      const classified = classifyError(err, 1024)
      expect(classified.status, err.code).toBe(status)
      expect(classified.body).toEqual({ error: { code: err.code, message: err.message } })
      expect(classified.unexpected).toBe(false)
    }
  })

  it('a closed log is 503 (the peer is stopping)', () => {
    const classified = classifyError(new LogClosedError('replica'), 1024)
    expect(classified.status).toBe(503)
    expect(classified.body.error.code).toBe('ERR_LOG_CLOSED')
  })

  it('the API\'s own errors take their status from the table', () => {
    expect(new NoLeaderError().status).toBe(404)
    expect(new StoppingError().status).toBe(503)
    expect(new ApiError('ERR_WRONG_TYPE', 'x').status).toBe(ERROR_STATUS.ERR_WRONG_TYPE)
    expect(new StoppingError()).toBeInstanceOf(Error)
    expect(new StoppingError().name).toBe('StoppingError')
  })

  it('anything else is 500 ERR_INTERNAL, flagged to be logged, with nothing of the original message', () => {
    for (const err of [new Error('ENOENT /secret/path'), new TypeError('x is undefined'), 'a string', null, { code: 'EPIPE', message: 'pipe' }]) {
      const classified = classifyError(err, 1024)
      expect(classified.status).toBe(500)
      expect(classified.body.error.code).toBe('ERR_INTERNAL')
      expect(JSON.stringify(classified.body)).not.toMatch(/secret|undefined|pipe/)
      expect(classified.unexpected).toBe(true)
    }
  })

  it('fastify\'s request errors map to API codes', () => {
    expect(classifyError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413, message: 'x' }, 512).body.error)
      .toEqual({ code: 'ERR_BODY_TOO_LARGE', message: expect.stringContaining('512 bytes') })
    expect(classifyError({ code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400, message: 'x' }, 1).status).toBe(400)
    expect(classifyError({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415, message: 'x' }, 1, 'text/csv').body.error.message).toContain('text/csv')
    expect(classifyError({ code: 'FST_ERR_SOMETHING_NEW', statusCode: 422, message: 'odd request' }, 1).body.error)
      .toEqual({ code: 'ERR_BAD_REQUEST', message: 'odd request' })
  })

  it('schema errors name the field', () => {
    expect(formatSchemaErrors([{ keyword: 'minimum', instancePath: '/limit', params: {}, message: 'must be >= 1' }], 'querystring').message)
      .toBe('querystring.limit must be >= 1')
    expect(formatSchemaErrors([{ keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'x' }, message: 'no' }], 'querystring').message)
      .toBe('querystring has an unknown parameter "x"')
  })
})

describe('options buildApi cannot use', () => {
  it('are refused with InvalidApiOptionsError (ERR_INVALID_API_OPTIONS), naming the option', async () => {
    const peer = await createPeer({ profile: 'local' })
    const cases: Array<[Parameters<typeof buildApi>[1], RegExp]> = [
      [{ token: TOKEN, logger: false, bodyLimit: 0 }, /bodyLimit/],
      [{ token: TOKEN, logger: false, watch: { maxQueuedEvents: 0 } }, /watch\.maxQueuedEvents/],
      [{ token: TOKEN, logger: false, dashboard: { intervalMs: -1 } }, /dashboard\.intervalMs/],
      [{ token: TOKEN, logger: false, dashboard: { maxKeys: 1.5 } }, /dashboard\.maxKeys/],
      [{ token: 'short', logger: false }, /token/]
    ]
    for (const [options, message] of cases) {
      let thrown: unknown
      try {
        buildApi(peer, options)
      } catch (err) {
        thrown = err
      }
      expect(thrown).toBeInstanceOf(InvalidApiOptionsError)
      expect(thrown).toBeInstanceOf(HearsayError)
      expect(thrown).toMatchObject({ code: 'ERR_INVALID_API_OPTIONS', message: expect.stringMatching(message) })
    }
  })
})
