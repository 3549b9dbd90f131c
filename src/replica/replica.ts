/* eslint-disable import/export */
/* eslint-disable complexity */
/* eslint-disable @typescript-eslint/no-namespace */
/* eslint-disable @typescript-eslint/no-unnecessary-boolean-literal-compare */
/* eslint-disable @typescript-eslint/no-empty-interface */
/* eslint-disable import/consistent-type-specifier-style */
/* eslint-disable @typescript-eslint/no-unused-vars */

import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export enum OpType {
  OP_UNSPECIFIED = 'OP_UNSPECIFIED',
  PUT = 'PUT',
  DELETE = 'DELETE',
  COUNTER = 'COUNTER',
  SET_ADD = 'SET_ADD',
  SET_REMOVE = 'SET_REMOVE'
}

enum __OpTypeValues {
  OP_UNSPECIFIED = 0,
  PUT = 1,
  DELETE = 2,
  COUNTER = 3,
  SET_ADD = 4,
  SET_REMOVE = 5
}

export namespace OpType {
  export const codec = (): Codec<OpType> => {
    return enumeration<OpType>(__OpTypeValues)
  }
}

export interface Dot {
  replica: string
  seq: number
}

export namespace Dot {
  let _codec: Codec<Dot>

  export const codec = (): Codec<Dot> => {
    if (_codec == null) {
      _codec = message<Dot>((obj, w, opts = {}) => {
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

  export const encode = (obj: Partial<Dot>): Uint8Array => {
    return encodeMessage(obj, Dot.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Dot>): Dot => {
    return decodeMessage(buf, Dot.codec(), opts)
  }
}

export interface ClockEntry {
  replica: string
  seq: number
}

export namespace ClockEntry {
  let _codec: Codec<ClockEntry>

  export const codec = (): Codec<ClockEntry> => {
    if (_codec == null) {
      _codec = message<ClockEntry>((obj, w, opts = {}) => {
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

  export const encode = (obj: Partial<ClockEntry>): Uint8Array => {
    return encodeMessage(obj, ClockEntry.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ClockEntry>): ClockEntry => {
    return decodeMessage(buf, ClockEntry.codec(), opts)
  }
}

export interface Record {
  replica: string
  seq: number
  key: string
  op: OpType
  value: Uint8Array
  p: number
  n: number
  wall: number
  logical: number
  clock: ClockEntry[]
  removes: Dot[]
  signature: Uint8Array
}

export namespace Record {
  let _codec: Codec<Record>

  export const codec = (): Codec<Record> => {
    if (_codec == null) {
      _codec = message<Record>((obj, w, opts = {}) => {
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

        if ((obj.key != null && obj.key !== '')) {
          w.uint32(26)
          w.string(obj.key)
        }

        if (obj.op != null && __OpTypeValues[obj.op] !== 0) {
          w.uint32(32)
          OpType.codec().encode(obj.op, w)
        }

        if ((obj.value != null && obj.value.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.value)
        }

        if ((obj.p != null && obj.p !== 0)) {
          w.uint32(49)
          w.double(obj.p)
        }

        if ((obj.n != null && obj.n !== 0)) {
          w.uint32(57)
          w.double(obj.n)
        }

        if ((obj.wall != null && obj.wall !== 0)) {
          w.uint32(64)
          w.uint64Number(obj.wall)
        }

        if ((obj.logical != null && obj.logical !== 0)) {
          w.uint32(72)
          w.uint32(obj.logical)
        }

        if (obj.clock != null) {
          for (const value of obj.clock) {
            w.uint32(82)
            ClockEntry.codec().encode(value, w)
          }
        }

        if (obj.removes != null) {
          for (const value of obj.removes) {
            w.uint32(90)
            Dot.codec().encode(value, w)
          }
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(98)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          replica: '',
          seq: 0,
          key: '',
          op: OpType.OP_UNSPECIFIED,
          value: uint8ArrayAlloc(0),
          p: 0,
          n: 0,
          wall: 0,
          logical: 0,
          clock: [],
          removes: [],
          signature: uint8ArrayAlloc(0)
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
            case 3: {
              obj.key = reader.string()
              break
            }
            case 4: {
              obj.op = OpType.codec().decode(reader)
              break
            }
            case 5: {
              obj.value = reader.bytes()
              break
            }
            case 6: {
              obj.p = reader.double()
              break
            }
            case 7: {
              obj.n = reader.double()
              break
            }
            case 8: {
              obj.wall = reader.uint64Number()
              break
            }
            case 9: {
              obj.logical = reader.uint32()
              break
            }
            case 10: {
              if (opts.limits?.clock != null && obj.clock.length === opts.limits.clock) {
                throw new MaxLengthError('Decode error - map field "clock" had too many elements')
              }

              obj.clock.push(ClockEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.clock$
              }))
              break
            }
            case 11: {
              if (opts.limits?.removes != null && obj.removes.length === opts.limits.removes) {
                throw new MaxLengthError('Decode error - map field "removes" had too many elements')
              }

              obj.removes.push(Dot.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.removes$
              }))
              break
            }
            case 12: {
              obj.signature = reader.bytes()
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

  export const encode = (obj: Partial<Record>): Uint8Array => {
    return encodeMessage(obj, Record.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Record>): Record => {
    return decodeMessage(buf, Record.codec(), opts)
  }
}

export interface Batch {
  records: Record[]
}

export namespace Batch {
  let _codec: Codec<Batch>

  export const codec = (): Codec<Batch> => {
    if (_codec == null) {
      _codec = message<Batch>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.records != null) {
          for (const value of obj.records) {
            w.uint32(10)
            Record.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          records: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.records != null && obj.records.length === opts.limits.records) {
                throw new MaxLengthError('Decode error - map field "records" had too many elements')
              }

              obj.records.push(Record.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.records$
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

  export const encode = (obj: Partial<Batch>): Uint8Array => {
    return encodeMessage(obj, Batch.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Batch>): Batch => {
    return decodeMessage(buf, Batch.codec(), opts)
  }
}
