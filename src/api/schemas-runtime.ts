/** JSON schemas of the routes that change a running peer: reloading its config, membership, tags. */
import { errors, type RouteSchema } from './schemas.js'

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const

export const reloadSchema: RouteSchema = {
  summary: 'Re-read the config file',
  description: 'Re-reads the file the peer was started with (--config), as SIGHUP does, and applies at once what a running peer ' +
    'can take: the log level, the tags and the writers list (a writer taken off the list has its new writes refused from then ' +
    'on). Flags and HEARSAY_* variables keep winning over the file. A bad file is refused (400 ERR_CONFIG naming the field) ' +
    'and the old settings stay. 409 ERR_NO_CONFIG when the peer has no config file.',
  tags: ['peer'],
  response: {
    200: {
      type: 'object',
      required: ['config', 'applied', 'restartNeeded'],
      properties: {
        config: { type: 'string', description: 'The file re-read.' },
        applied: {
          type: 'object',
          required: ['logLevel', 'tags', 'writers'],
          properties: {
            logLevel: { type: 'string' },
            tags: stringMap,
            writers: { type: ['array', 'null'], items: { type: 'string' }, description: 'null: anyone may write.' }
          }
        },
        restartNeeded: { type: 'array', items: { type: 'string' }, description: 'Settings the file changes that take a restart.' }
      }
    },
    ...errors
  }
}
