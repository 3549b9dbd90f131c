/* eslint-disable import/export */
/* eslint-disable complexity */
/* eslint-disable @typescript-eslint/no-namespace */
/* eslint-disable @typescript-eslint/no-unnecessary-boolean-literal-compare */
/* eslint-disable @typescript-eslint/no-empty-interface */
/* eslint-disable import/consistent-type-specifier-style */
/* eslint-disable @typescript-eslint/no-unused-vars */

import { decodeMessage, encodeMessage, MaxLengthError, message } from 'protons-runtime'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface BeaconVectorEntry {
  replica: string
  seq: number
}

export namespace BeaconVectorEntry {
  let _codec: Codec<BeaconVectorEntry>

  export const codec = (): Codec<BeaconVectorEntry> => {
    if (_codec == null) {
      _codec = message<BeaconVectorEntry>((obj, w, opts = {}) => {
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

  export const encode = (obj: Partial<BeaconVectorEntry>): Uint8Array => {
    return encodeMessage(obj, BeaconVectorEntry.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BeaconVectorEntry>): BeaconVectorEntry => {
    return decodeMessage(buf, BeaconVectorEntry.codec(), opts)
  }
}

export interface BeaconTopic {
  topic: string
  peers: string[]
}

export namespace BeaconTopic {
  let _codec: Codec<BeaconTopic>

  export const codec = (): Codec<BeaconTopic> => {
    if (_codec == null) {
      _codec = message<BeaconTopic>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.topic != null && obj.topic !== '')) {
          w.uint32(10)
          w.string(obj.topic)
        }

        if (obj.peers != null) {
          for (const value of obj.peers) {
            w.uint32(18)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          topic: '',
          peers: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.topic = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.peers != null && obj.peers.length === opts.limits.peers) {
                throw new MaxLengthError('Decode error - map field "peers" had too many elements')
              }

              obj.peers.push(reader.string())
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

  export const encode = (obj: Partial<BeaconTopic>): Uint8Array => {
    return encodeMessage(obj, BeaconTopic.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BeaconTopic>): BeaconTopic => {
    return decodeMessage(buf, BeaconTopic.codec(), opts)
  }
}

export interface Beacon {
  vector: BeaconVectorEntry[]
  digest: string
  keys: number
  connections: string[]
  mesh: BeaconTopic[]
}

export namespace Beacon {
  let _codec: Codec<Beacon>

  export const codec = (): Codec<Beacon> => {
    if (_codec == null) {
      _codec = message<Beacon>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.vector != null) {
          for (const value of obj.vector) {
            w.uint32(10)
            BeaconVectorEntry.codec().encode(value, w)
          }
        }

        if ((obj.digest != null && obj.digest !== '')) {
          w.uint32(18)
          w.string(obj.digest)
        }

        if ((obj.keys != null && obj.keys !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.keys)
        }

        if (obj.connections != null) {
          for (const value of obj.connections) {
            w.uint32(34)
            w.string(value)
          }
        }

        if (obj.mesh != null) {
          for (const value of obj.mesh) {
            w.uint32(42)
            BeaconTopic.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          vector: [],
          digest: '',
          keys: 0,
          connections: [],
          mesh: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.vector != null && obj.vector.length === opts.limits.vector) {
                throw new MaxLengthError('Decode error - map field "vector" had too many elements')
              }

              obj.vector.push(BeaconVectorEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.vector$
              }))
              break
            }
            case 2: {
              obj.digest = reader.string()
              break
            }
            case 3: {
              obj.keys = reader.uint64Number()
              break
            }
            case 4: {
              if (opts.limits?.connections != null && obj.connections.length === opts.limits.connections) {
                throw new MaxLengthError('Decode error - map field "connections" had too many elements')
              }

              obj.connections.push(reader.string())
              break
            }
            case 5: {
              if (opts.limits?.mesh != null && obj.mesh.length === opts.limits.mesh) {
                throw new MaxLengthError('Decode error - map field "mesh" had too many elements')
              }

              obj.mesh.push(BeaconTopic.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.mesh$
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

  export const encode = (obj: Partial<Beacon>): Uint8Array => {
    return encodeMessage(obj, Beacon.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Beacon>): Beacon => {
    return decodeMessage(buf, Beacon.codec(), opts)
  }
}
