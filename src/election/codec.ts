import { ElectionWire } from './pb/election.js'
import { MAX_TERM } from './constants.js'
import { MalformedElectionMessageError } from './errors.js'
import type { ElectionMessage } from './state.js'

/** Largest election message on the wire: a type and a term fit in a few bytes. @default 64 (bytes) */
export const MAX_ELECTION_MESSAGE_BYTES = 64

const TYPE_TO_WIRE: Record<ElectionMessage['type'], ElectionWire.Type> = {
  election: ElectionWire.Type.ELECTION,
  answer: ElectionWire.Type.ANSWER,
  coordinator: ElectionWire.Type.COORDINATOR,
  heartbeat: ElectionWire.Type.HEARTBEAT,
  ack: ElectionWire.Type.ACK
}
const WIRE_TO_TYPE = new Map<ElectionWire.Type, ElectionMessage['type']>(
  Object.entries(TYPE_TO_WIRE).map(([k, v]) => [v, k as ElectionMessage['type']])
)

export function encodeElectionMessage (message: ElectionMessage): Uint8Array {
  const seq = 'seq' in message ? message.seq ?? 0 : 0
  const prior = message.type === 'ack' ? message.prior : 0
  return ElectionWire.encode({ type: TYPE_TO_WIRE[message.type], term: message.term, seq, prior })
}

/**
 * Decodes an election message; `from` is the authenticated sender. Throws
 * MalformedElectionMessageError for anything else (a term above MAX_TERM included).
 */
export function decodeElectionMessage (bytes: Uint8Array, from: string): ElectionMessage {
  if (bytes.byteLength > MAX_ELECTION_MESSAGE_BYTES) {
    throw new MalformedElectionMessageError(`${bytes.byteLength} bytes is over the limit of ${MAX_ELECTION_MESSAGE_BYTES}`)
  }
  let wire: ElectionWire
  try {
    wire = ElectionWire.decode(bytes)
  } catch (err) {
    throw new MalformedElectionMessageError((err as Error).message, { cause: err })
  }
  const type = WIRE_TO_TYPE.get(wire.type)
  if (type === undefined) throw new MalformedElectionMessageError('unknown message type')
  if (!Number.isSafeInteger(wire.term) || wire.term < 0 || wire.term > MAX_TERM) {
    throw new MalformedElectionMessageError(`term ${wire.term} is not an integer from 0 to ${MAX_TERM}`)
  }
  if (!Number.isSafeInteger(wire.seq) || wire.seq < 0) throw new MalformedElectionMessageError(`seq ${wire.seq} is not a safe integer`)
  if (type === 'ack') return { type, term: wire.term, from, seq: wire.seq, prior: wire.prior }
  // Seq 0 is "none" (a sender counts from 1).
  if ((type === 'coordinator' || type === 'heartbeat') && wire.seq > 0) return { type, term: wire.term, from, seq: wire.seq }
  return { type, term: wire.term, from }
}
