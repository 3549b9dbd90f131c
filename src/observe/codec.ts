/**
 * Encoders and strict decoders of the observe part's wire messages. Decoders refuse anything
 * over a limit or out of range with MalformedObserveMessageError; nothing half-decoded escapes.
 */
import { Beacon } from './pb/beacon.js'
import { TraceEntry as WireEntry, TraceReply, TraceRequest } from './pb/trace.js'
import { OBSERVE_LIMITS } from './constants.js'
import { MalformedObserveMessageError } from './errors.js'
import { isWellFormed } from '../text.js'
import type { BeaconMessage, TraceAnswer } from './types.js'
import type { ArrivalPath, Dot, VectorClock } from '../replica/index.js'

const PATH_TO_WIRE: Record<ArrivalPath, WireEntry.Path> = {
  local: WireEntry.Path.LOCAL,
  gossip: WireEntry.Path.GOSSIP,
  'anti-entropy': WireEntry.Path.ANTI_ENTROPY
}
const WIRE_TO_PATH = new Map<WireEntry.Path, ArrivalPath>(Object.entries(PATH_TO_WIRE).map(([k, v]) => [v, k as ArrivalPath]))

function checkId (id: string, what: string, max: number = OBSERVE_LIMITS.maxIdLength): string {
  if (id.length === 0 || id.length > max || !isWellFormed(id)) throw new MalformedObserveMessageError(`bad ${what}`)
  return id
}

function checkCount (n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new MalformedObserveMessageError(`bad ${what}`)
  return n
}

function wrap<T> (decode: () => T): T {
  try {
    return decode()
  } catch (err) {
    if (err instanceof MalformedObserveMessageError) throw err
    throw new MalformedObserveMessageError((err as Error).message, { cause: err })
  }
}

export function encodeBeacon (beacon: BeaconMessage): Uint8Array {
  return Beacon.encode({
    vector: Object.entries(beacon.vector).map(([replica, seq]) => ({ replica, seq })),
    digest: beacon.digest,
    keys: beacon.keys,
    connections: beacon.connections,
    mesh: beacon.mesh.map((m) => ({ topic: m.topic, peers: m.peers }))
  })
}

export function decodeBeacon (bytes: Uint8Array): BeaconMessage {
  if (bytes.byteLength > OBSERVE_LIMITS.maxBeaconBytes) throw new MalformedObserveMessageError('beacon too large')
  return wrap(() => {
    const wire = Beacon.decode(bytes, {
      limits: {
        vector: OBSERVE_LIMITS.maxVectorEntries,
        connections: OBSERVE_LIMITS.maxPeers,
        mesh: OBSERVE_LIMITS.maxTopics,
        mesh$: { peers: OBSERVE_LIMITS.maxPeers }
      }
    })
    const vector: VectorClock = {}
    for (const { replica, seq } of wire.vector) {
      checkId(replica, 'replica id')
      checkCount(seq, 'seq')
      if (Object.hasOwn(vector, replica)) throw new MalformedObserveMessageError('a replica named twice')
      // defineProperty: a replica called "__proto__" must stay an entry, not become a prototype.
      Object.defineProperty(vector, replica, { value: seq, enumerable: true, writable: true, configurable: true })
    }
    if (wire.digest.length > OBSERVE_LIMITS.maxIdLength || !isWellFormed(wire.digest)) throw new MalformedObserveMessageError('bad digest')
    return {
      vector,
      digest: wire.digest,
      keys: checkCount(wire.keys, 'key count'),
      connections: wire.connections.map((id) => checkId(id, 'PeerId')),
      mesh: wire.mesh.map((m) => ({
        topic: checkId(m.topic, 'topic', OBSERVE_LIMITS.maxTopicLength),
        peers: m.peers.map((id) => checkId(id, 'PeerId'))
      }))
    }
  })
}

export function encodeTraceRequest (dots: readonly Dot[]): Uint8Array {
  return TraceRequest.encode({ dots: dots.map((d) => ({ replica: d.replica, seq: d.seq })) })
}

export function decodeTraceRequest (bytes: Uint8Array): Dot[] {
  if (bytes.byteLength > OBSERVE_LIMITS.maxTraceMessageBytes) throw new MalformedObserveMessageError('trace request too large')
  return wrap(() => {
    const wire = TraceRequest.decode(bytes, { limits: { dots: OBSERVE_LIMITS.maxTraceDots } })
    return wire.dots.map((d) => {
      checkId(d.replica, 'replica id')
      if (checkCount(d.seq, 'seq') === 0) throw new MalformedObserveMessageError('bad seq')
      return { replica: d.replica, seq: d.seq }
    })
  })
}

export function encodeTraceReply (answers: readonly TraceAnswer[]): Uint8Array {
  return TraceReply.encode({
    entries: answers.map((a) => {
      switch (a.status) {
        case 'applied':
          return { status: WireEntry.Status.APPLIED, path: PATH_TO_WIRE[a.path], from: a.from, receivedAt: a.receivedAt, appliedAt: a.appliedAt }
        case 'held':
          return { status: WireEntry.Status.HELD, path: WireEntry.Path.LOCAL, from: '', receivedAt: 0, appliedAt: 0 }
        case 'missing':
          return { status: WireEntry.Status.MISSING, path: WireEntry.Path.LOCAL, from: '', receivedAt: 0, appliedAt: 0 }
      }
    })
  })
}

/** Decodes a reply to a request of `expected` dots: exactly one answer per dot, or it is malformed. */
export function decodeTraceReply (bytes: Uint8Array, expected: number): TraceAnswer[] {
  if (bytes.byteLength > OBSERVE_LIMITS.maxTraceMessageBytes) throw new MalformedObserveMessageError('trace reply too large')
  return wrap(() => {
    const wire = TraceReply.decode(bytes, { limits: { entries: OBSERVE_LIMITS.maxTraceDots } })
    if (wire.entries.length !== expected) throw new MalformedObserveMessageError(`${wire.entries.length} answers to ${expected} questions`)
    return wire.entries.map((e): TraceAnswer => {
      if (e.status === WireEntry.Status.MISSING) return { status: 'missing' }
      if (e.status === WireEntry.Status.HELD) return { status: 'held' }
      const path = WIRE_TO_PATH.get(e.path)
      if (e.status !== WireEntry.Status.APPLIED || path === undefined) throw new MalformedObserveMessageError('unknown status or path')
      return {
        status: 'applied',
        path,
        from: checkId(e.from, 'PeerId'),
        receivedAt: checkCount(e.receivedAt, 'time'),
        appliedAt: checkCount(e.appliedAt, 'time')
      }
    })
  })
}
