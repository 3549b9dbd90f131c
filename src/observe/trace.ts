/* eslint-disable import/export */
/* eslint-disable complexity */
/* eslint-disable @typescript-eslint/no-namespace */
/* eslint-disable @typescript-eslint/no-unnecessary-boolean-literal-compare */
/* eslint-disable @typescript-eslint/no-empty-interface */
/* eslint-disable import/consistent-type-specifier-style */
/* eslint-disable @typescript-eslint/no-unused-vars */

import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message } from 'protons-runtime'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface TraceDot {
  replica: string
  seq: number
}

export namespace TraceDot {
  let _codec: Codec<TraceDot>

  export const codec = (): Codec<TraceDot> => {
    if (_codec == null) {
      _codec = message<TraceDot>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.replica != null && obj.replica !== '')) {
          w.uint32(10)
          w.string(obj.replica)
        }

        if ((obj.seq != null && obj.seq !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.seq)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          replica: '',
          seq: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.replica = reader.string()
              break
            }
            case 2: {
              obj.seq = reader.uint64Number()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      })
    }

    return _codec
  }

  export const encode = (obj: Partial<TraceDot>): Uint8Array => {
    return encodeMessage(obj, TraceDot.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TraceDot>): TraceDot => {
    return decodeMessage(buf, TraceDot.codec(), opts)
  }
}

export interface TraceRequest {
  dots: TraceDot[]
}

export namespace TraceRequest {
  let _codec: Codec<TraceRequest>

  export const codec = (): Codec<TraceRequest> => {
    if (_codec == null) {
      _codec = message<TraceRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.dots != null) {
          for (const value of obj.dots) {
            w.uint32(10)
            TraceDot.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          dots: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.dots != null && obj.dots.length === opts.limits.dots) {
                throw new MaxLengthError('Decode error - map field "dots" had too many elements')
              }

              obj.dots.push(TraceDot.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.dots$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      })
    }

    return _codec
  }

  export const encode = (obj: Partial<TraceRequest>): Uint8Array => {
    return encodeMessage(obj, TraceRequest.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TraceRequest>): TraceRequest => {
    return decodeMessage(buf, TraceRequest.codec(), opts)
  }
}

export interface TraceEntry {
  status: TraceEntry.Status
  path: TraceEntry.Path
  from: string
  receivedAt: number
  appliedAt: number
}

export namespace TraceEntry {
  export enum Status {
    MISSING = 'MISSING',
    HELD = 'HELD',
    APPLIED = 'APPLIED'
  }

  enum __StatusValues {
    MISSING = 0,
    HELD = 1,
    APPLIED = 2
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  export enum Path {
    LOCAL = 'LOCAL',
    GOSSIP = 'GOSSIP',
    ANTI_ENTROPY = 'ANTI_ENTROPY'
  }

  enum __PathValues {
    LOCAL = 0,
    GOSSIP = 1,
    ANTI_ENTROPY = 2
  }

  export namespace Path {
    export const codec = (): Codec<Path> => {
      return enumeration<Path>(__PathValues)
    }
  }

  let _codec: Codec<TraceEntry>

  export const codec = (): Codec<TraceEntry> => {
    if (_codec == null) {
      _codec = message<TraceEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          TraceEntry.Status.codec().encode(obj.status, w)
        }

        if (obj.path != null && __PathValues[obj.path] !== 0) {
          w.uint32(16)
          TraceEntry.Path.codec().encode(obj.path, w)
        }

        if ((obj.from != null && obj.from !== '')) {
          w.uint32(26)
          w.string(obj.from)
        }

        if ((obj.receivedAt != null && obj.receivedAt !== 0)) {
          w.uint32(32)
          w.uint64Number(obj.receivedAt)
        }

        if ((obj.appliedAt != null && obj.appliedAt !== 0)) {
          w.uint32(40)
          w.uint64Number(obj.appliedAt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.MISSING,
          path: Path.LOCAL,
          from: '',
          receivedAt: 0,
          appliedAt: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = TraceEntry.Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.path = TraceEntry.Path.codec().decode(reader)
              break
            }
            case 3: {
              obj.from = reader.string()
              break
            }
            case 4: {
              obj.receivedAt = reader.uint64Number()
              break
            }
            case 5: {
              obj.appliedAt = reader.uint64Number()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      })
    }

    return _codec
  }

  export const encode = (obj: Partial<TraceEntry>): Uint8Array => {
    return encodeMessage(obj, TraceEntry.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TraceEntry>): TraceEntry => {
    return decodeMessage(buf, TraceEntry.codec(), opts)
  }
}

export interface TraceReply {
  entries: TraceEntry[]
}

export namespace TraceReply {
  let _codec: Codec<TraceReply>

  export const codec = (): Codec<TraceReply> => {
    if (_codec == null) {
      _codec = message<TraceReply>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.entries != null) {
          for (const value of obj.entries) {
            w.uint32(10)
            TraceEntry.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          entries: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - map field "entries" had too many elements')
              }

              obj.entries.push(TraceEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.entries$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      })
    }

    return _codec
  }

  export const encode = (obj: Partial<TraceReply>): Uint8Array => {
    return encodeMessage(obj, TraceReply.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TraceReply>): TraceReply => {
    return decodeMessage(buf, TraceReply.codec(), opts)
  }
}
