/* eslint-disable import/export */
/* eslint-disable complexity */
/* eslint-disable @typescript-eslint/no-namespace */
/* eslint-disable @typescript-eslint/no-unnecessary-boolean-literal-compare */
/* eslint-disable @typescript-eslint/no-empty-interface */
/* eslint-disable import/consistent-type-specifier-style */
/* eslint-disable @typescript-eslint/no-unused-vars */

import { decodeMessage, encodeMessage, enumeration, message } from 'protons-runtime'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface ElectionWire {
  type: ElectionWire.Type
  term: number
  seq: number
  prior: number
}

export namespace ElectionWire {
  export enum Type {
    ELECTION = 'ELECTION',
    ANSWER = 'ANSWER',
    COORDINATOR = 'COORDINATOR',
    HEARTBEAT = 'HEARTBEAT',
    ACK = 'ACK'
  }

  enum __TypeValues {
    ELECTION = 0,
    ANSWER = 1,
    COORDINATOR = 2,
    HEARTBEAT = 3,
    ACK = 4
  }

  export namespace Type {
    export const codec = (): Codec<Type> => {
      return enumeration<Type>(__TypeValues)
    }
  }

  let _codec: Codec<ElectionWire>

  export const codec = (): Codec<ElectionWire> => {
    if (_codec == null) {
      _codec = message<ElectionWire>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __TypeValues[obj.type] !== 0) {
          w.uint32(8)
          ElectionWire.Type.codec().encode(obj.type, w)
        }

        if ((obj.term != null && obj.term !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.term)
        }

        if ((obj.seq != null && obj.seq !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.seq)
        }

        if ((obj.prior != null && obj.prior !== 0)) {
          w.uint32(32)
          w.uint32(obj.prior)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: Type.ELECTION,
          term: 0,
          seq: 0,
          prior: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = ElectionWire.Type.codec().decode(reader)
              break
            }
            case 2: {
              obj.term = reader.uint64Number()
              break
            }
            case 3: {
              obj.seq = reader.uint64Number()
              break
            }
            case 4: {
              obj.prior = reader.uint32()
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

  export const encode = (obj: Partial<ElectionWire>): Uint8Array => {
    return encodeMessage(obj, ElectionWire.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ElectionWire>): ElectionWire => {
    return decodeMessage(buf, ElectionWire.codec(), opts)
  }
}
