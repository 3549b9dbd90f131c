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

export interface VectorEntry {
  replica: string
  seq: number
}

export namespace VectorEntry {
  let _codec: Codec<VectorEntry>

  export const codec = (): Codec<VectorEntry> => {
    if (_codec == null) {
      _codec = message<VectorEntry>((obj, w, opts = {}) => {
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

  export const encode = (obj: Partial<VectorEntry>): Uint8Array => {
    return encodeMessage(obj, VectorEntry.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<VectorEntry>): VectorEntry => {
    return decodeMessage(buf, VectorEntry.codec(), opts)
  }
}

export interface DotSet {
  replica: string
  deltas: number[]
}

export namespace DotSet {
  let _codec: Codec<DotSet>

  export const codec = (): Codec<DotSet> => {
    if (_codec == null) {
      _codec = message<DotSet>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.replica != null && obj.replica !== '')) {
          w.uint32(10)
          w.string(obj.replica)
        }

        if (obj.deltas != null) {
          for (const value of obj.deltas) {
            w.uint32(16)
            w.uint64Number(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          replica: '',
          deltas: []
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
              if (opts.limits?.deltas != null && obj.deltas.length === opts.limits.deltas) {
                throw new MaxLengthError('Decode error - map field "deltas" had too many elements')
              }

              obj.deltas.push(reader.uint64Number())
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

  export const encode = (obj: Partial<DotSet>): Uint8Array => {
    return encodeMessage(obj, DotSet.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DotSet>): DotSet => {
    return decodeMessage(buf, DotSet.codec(), opts)
  }
}

export interface SyncMessage {
  type: SyncMessage.Type
  vector: VectorEntry[]
  digest: string
  batch: Uint8Array
  horizon: VectorEntry[]
  retired: string
  kept: DotSet[]
  complete: boolean
}

export namespace SyncMessage {
  export enum Type {
    HELLO = 'HELLO',
    RECORDS = 'RECORDS',
    DONE = 'DONE',
    HORIZON = 'HORIZON'
  }

  enum __TypeValues {
    HELLO = 0,
    RECORDS = 1,
    DONE = 2,
    HORIZON = 3
  }

  export namespace Type {
    export const codec = (): Codec<Type> => {
      return enumeration<Type>(__TypeValues)
    }
  }

  let _codec: Codec<SyncMessage>

  export const codec = (): Codec<SyncMessage> => {
    if (_codec == null) {
      _codec = message<SyncMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __TypeValues[obj.type] !== 0) {
          w.uint32(8)
          SyncMessage.Type.codec().encode(obj.type, w)
        }

        if (obj.vector != null) {
          for (const value of obj.vector) {
            w.uint32(18)
            VectorEntry.codec().encode(value, w)
          }
        }

        if ((obj.digest != null && obj.digest !== '')) {
          w.uint32(26)
          w.string(obj.digest)
        }

        if ((obj.batch != null && obj.batch.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.batch)
        }

        if (obj.horizon != null) {
          for (const value of obj.horizon) {
            w.uint32(42)
            VectorEntry.codec().encode(value, w)
          }
        }

        if ((obj.retired != null && obj.retired !== '')) {
          w.uint32(50)
          w.string(obj.retired)
        }

        if (obj.kept != null) {
          for (const value of obj.kept) {
            w.uint32(58)
            DotSet.codec().encode(value, w)
          }
        }

        if ((obj.complete != null && obj.complete !== false)) {
          w.uint32(64)
          w.bool(obj.complete)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: Type.HELLO,
          vector: [],
          digest: '',
          batch: uint8ArrayAlloc(0),
          horizon: [],
          retired: '',
          kept: [],
          complete: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = SyncMessage.Type.codec().decode(reader)
              break
            }
            case 2: {
              if (opts.limits?.vector != null && obj.vector.length === opts.limits.vector) {
                throw new MaxLengthError('Decode error - map field "vector" had too many elements')
              }

              obj.vector.push(VectorEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.vector$
              }))
              break
            }
            case 3: {
              obj.digest = reader.string()
              break
            }
            case 4: {
              obj.batch = reader.bytes()
              break
            }
            case 5: {
              if (opts.limits?.horizon != null && obj.horizon.length === opts.limits.horizon) {
                throw new MaxLengthError('Decode error - map field "horizon" had too many elements')
              }

              obj.horizon.push(VectorEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.horizon$
              }))
              break
            }
            case 6: {
              obj.retired = reader.string()
              break
            }
            case 7: {
              if (opts.limits?.kept != null && obj.kept.length === opts.limits.kept) {
                throw new MaxLengthError('Decode error - map field "kept" had too many elements')
              }

              obj.kept.push(DotSet.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.kept$
              }))
              break
            }
            case 8: {
              obj.complete = reader.bool()
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

  export const encode = (obj: Partial<SyncMessage>): Uint8Array => {
    return encodeMessage(obj, SyncMessage.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncMessage>): SyncMessage => {
    return decodeMessage(buf, SyncMessage.codec(), opts)
  }
}
