/* eslint-disable import/export */
/* eslint-disable complexity */
/* eslint-disable @typescript-eslint/no-namespace */
/* eslint-disable @typescript-eslint/no-unnecessary-boolean-literal-compare */
/* eslint-disable @typescript-eslint/no-empty-interface */
/* eslint-disable import/consistent-type-specifier-style */
/* eslint-disable @typescript-eslint/no-unused-vars */

import { decodeMessage, encodeMessage, enumeration, MaxLengthError, MaxSizeError, message } from 'protons-runtime'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface MemberUpdate {
  kind: MemberUpdate.Kind
  peerId: string
  incarnation: number
  addresses: string[]
  priority: number
  tags: Map<string, string>
  from: string
}

export namespace MemberUpdate {
  export enum Kind {
    ALIVE = 'ALIVE',
    SUSPECT = 'SUSPECT',
    DEAD = 'DEAD',
    LEFT = 'LEFT'
  }

  enum __KindValues {
    ALIVE = 0,
    SUSPECT = 1,
    DEAD = 2,
    LEFT = 3
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  export interface MemberUpdate$tagsEntry {
    key: string
    value: string
  }

  export namespace MemberUpdate$tagsEntry {
    let _codec: Codec<MemberUpdate$tagsEntry>

    export const codec = (): Codec<MemberUpdate$tagsEntry> => {
      if (_codec == null) {
        _codec = message<MemberUpdate$tagsEntry>((obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork()
          }

          if ((obj.key != null && obj.key !== '')) {
            w.uint32(10)
            w.string(obj.key)
          }

          if ((obj.value != null && obj.value !== '')) {
            w.uint32(18)
            w.string(obj.value)
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim()
          }
        }, (reader, length, opts = {}) => {
          const obj: any = {
            key: '',
            value: ''
          }

          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                obj.key = reader.string()
                break
              }
              case 2: {
                obj.value = reader.string()
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

    export const encode = (obj: Partial<MemberUpdate$tagsEntry>): Uint8Array => {
      return encodeMessage(obj, MemberUpdate$tagsEntry.codec())
    }

    export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MemberUpdate$tagsEntry>): MemberUpdate$tagsEntry => {
      return decodeMessage(buf, MemberUpdate$tagsEntry.codec(), opts)
    }
  }

  let _codec: Codec<MemberUpdate>

  export const codec = (): Codec<MemberUpdate> => {
    if (_codec == null) {
      _codec = message<MemberUpdate>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(8)
          MemberUpdate.Kind.codec().encode(obj.kind, w)
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(18)
          w.string(obj.peerId)
        }

        if ((obj.incarnation != null && obj.incarnation !== 0)) {
          w.uint32(24)
          w.uint32(obj.incarnation)
        }

        if (obj.addresses != null) {
          for (const value of obj.addresses) {
            w.uint32(34)
            w.string(value)
          }
        }

        if ((obj.priority != null && obj.priority !== 0)) {
          w.uint32(40)
          w.sint32(obj.priority)
        }

        if (obj.tags != null && obj.tags.size !== 0) {
          for (const [key, value] of obj.tags.entries()) {
            w.uint32(50)
            MemberUpdate.MemberUpdate$tagsEntry.codec().encode({ key, value }, w)
          }
        }

        if ((obj.from != null && obj.from !== '')) {
          w.uint32(58)
          w.string(obj.from)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: Kind.ALIVE,
          peerId: '',
          incarnation: 0,
          addresses: [],
          priority: 0,
          tags: new Map<string, string>(),
          from: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = MemberUpdate.Kind.codec().decode(reader)
              break
            }
            case 2: {
              obj.peerId = reader.string()
              break
            }
            case 3: {
              obj.incarnation = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.addresses != null && obj.addresses.length === opts.limits.addresses) {
                throw new MaxLengthError('Decode error - map field "addresses" had too many elements')
              }

              obj.addresses.push(reader.string())
              break
            }
            case 5: {
              obj.priority = reader.sint32()
              break
            }
            case 6: {
              if (opts.limits?.tags != null && obj.tags.size === opts.limits.tags) {
                throw new MaxSizeError('Decode error - map field "tags" had too many elements')
              }

              const entry = MemberUpdate.MemberUpdate$tagsEntry.codec().decode(reader, reader.uint32())
              obj.tags.set(entry.key, entry.value)
              break
            }
            case 7: {
              obj.from = reader.string()
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

  export const encode = (obj: Partial<MemberUpdate>): Uint8Array => {
    return encodeMessage(obj, MemberUpdate.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MemberUpdate>): MemberUpdate => {
    return decodeMessage(buf, MemberUpdate.codec(), opts)
  }
}

export interface MembershipMessage {
  type: MembershipMessage.Type
  target: string
  targetAddresses: string[]
  ok: boolean
  updates: MemberUpdate[]
}

export namespace MembershipMessage {
  export enum Type {
    PING = 'PING',
    ACK = 'ACK',
    PING_REQ = 'PING_REQ',
    SYNC = 'SYNC',
    SYNC_REPLY = 'SYNC_REPLY',
    GOSSIP = 'GOSSIP'
  }

  enum __TypeValues {
    PING = 0,
    ACK = 1,
    PING_REQ = 2,
    SYNC = 3,
    SYNC_REPLY = 4,
    GOSSIP = 5
  }

  export namespace Type {
    export const codec = (): Codec<Type> => {
      return enumeration<Type>(__TypeValues)
    }
  }

  let _codec: Codec<MembershipMessage>

  export const codec = (): Codec<MembershipMessage> => {
    if (_codec == null) {
      _codec = message<MembershipMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __TypeValues[obj.type] !== 0) {
          w.uint32(8)
          MembershipMessage.Type.codec().encode(obj.type, w)
        }

        if ((obj.target != null && obj.target !== '')) {
          w.uint32(18)
          w.string(obj.target)
        }

        if (obj.targetAddresses != null) {
          for (const value of obj.targetAddresses) {
            w.uint32(26)
            w.string(value)
          }
        }

        if ((obj.ok != null && obj.ok !== false)) {
          w.uint32(32)
          w.bool(obj.ok)
        }

        if (obj.updates != null) {
          for (const value of obj.updates) {
            w.uint32(42)
            MemberUpdate.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: Type.PING,
          target: '',
          targetAddresses: [],
          ok: false,
          updates: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = MembershipMessage.Type.codec().decode(reader)
              break
            }
            case 2: {
              obj.target = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.targetAddresses != null && obj.targetAddresses.length === opts.limits.targetAddresses) {
                throw new MaxLengthError('Decode error - map field "targetAddresses" had too many elements')
              }

              obj.targetAddresses.push(reader.string())
              break
            }
            case 4: {
              obj.ok = reader.bool()
              break
            }
            case 5: {
              if (opts.limits?.updates != null && obj.updates.length === opts.limits.updates) {
                throw new MaxLengthError('Decode error - map field "updates" had too many elements')
              }

              obj.updates.push(MemberUpdate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.updates$
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

  export const encode = (obj: Partial<MembershipMessage>): Uint8Array => {
    return encodeMessage(obj, MembershipMessage.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MembershipMessage>): MembershipMessage => {
    return decodeMessage(buf, MembershipMessage.codec(), opts)
  }
}
