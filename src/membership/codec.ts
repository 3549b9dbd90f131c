import { MembershipMessage as Wire, MemberUpdate as WireUpdate } from './pb/membership.js'
import { MEMBERSHIP_LIMITS } from './constants.js'
import { MalformedMembershipMessageError } from './errors.js'
import { isWellFormed } from '../text.js'
import type { MemberUpdate } from './state.js'

export type MessageType = 'ping' | 'ack' | 'ping-req' | 'sync' | 'sync-reply' | 'gossip'

export interface MembershipMessage {
  type: MessageType
  target?: string
  targetAddresses?: string[]
  ok?: boolean
  updates: MemberUpdate[]
}

/** Such a string would be gossiped on as different text (U+FFFD) than it arrived as. */
function checkText (value: string, what: string): void {
  if (!isWellFormed(value)) throw new MalformedMembershipMessageError(`${what} is not valid UTF-8`)
}

const TYPE_TO_WIRE: Record<MessageType, Wire.Type> = {
  ping: Wire.Type.PING,
  ack: Wire.Type.ACK,
  'ping-req': Wire.Type.PING_REQ,
  sync: Wire.Type.SYNC,
  'sync-reply': Wire.Type.SYNC_REPLY,
  gossip: Wire.Type.GOSSIP
}
const WIRE_TO_TYPE = new Map<Wire.Type, MessageType>(Object.entries(TYPE_TO_WIRE).map(([k, v]) => [v, k as MessageType]))

const KIND_TO_WIRE: Record<MemberUpdate['kind'], WireUpdate.Kind> = {
  alive: WireUpdate.Kind.ALIVE,
  suspect: WireUpdate.Kind.SUSPECT,
  dead: WireUpdate.Kind.DEAD,
  left: WireUpdate.Kind.LEFT
}

export function encodeMessage (message: MembershipMessage): Uint8Array {
  return Wire.encode({
    type: TYPE_TO_WIRE[message.type],
    target: message.target ?? '',
    targetAddresses: message.targetAddresses ?? [],
    ok: message.ok ?? false,
    updates: message.updates.map(toWire)
  })
}

function toWire (update: MemberUpdate): WireUpdate {
  const base = { kind: KIND_TO_WIRE[update.kind], peerId: update.peerId, incarnation: update.incarnation }
  switch (update.kind) {
    case 'alive':
      return {
        ...base,
        addresses: update.addresses,
        priority: update.priority,
        tags: new Map(Object.entries(update.tags)),
        from: '',
        version: update.version ?? '',
        protocols: update.protocols ?? []
      }
    case 'suspect':
    case 'dead':
      return { ...base, addresses: [], priority: 0, tags: new Map(), from: update.from, version: '', protocols: [] }
    case 'left':
      return { ...base, addresses: [], priority: 0, tags: new Map(), from: '', version: '', protocols: [] }
  }
}

/**
 * Decodes a message from the network and checks every field against MEMBERSHIP_LIMITS.
 * Throws MalformedMembershipMessageError for anything else; never returns a partial message.
 */
export function decodeMessage (bytes: Uint8Array): MembershipMessage {
  const L = MEMBERSHIP_LIMITS
  if (bytes.byteLength > L.maxMessageBytes) throw new MalformedMembershipMessageError(`${bytes.byteLength} bytes is over the limit of ${L.maxMessageBytes}`)
  let wire: Wire
  try {
    wire = Wire.decode(bytes, {
      limits: {
        targetAddresses: L.maxAddresses,
        updates: L.maxUpdates,
        updates$: { addresses: L.maxAddresses, tags: L.maxTags, protocols: L.maxProtocols }
      }
    })
  } catch (err) {
    throw new MalformedMembershipMessageError((err as Error).message, { cause: err })
  }
  const type = WIRE_TO_TYPE.get(wire.type)
  if (type === undefined) throw new MalformedMembershipMessageError('unknown message type')
  if (wire.target.length > L.maxPeerIdLength) throw new MalformedMembershipMessageError('target too long')
  checkText(wire.target, 'target')
  checkAddresses(wire.targetAddresses)
  const message: MembershipMessage = { type, updates: wire.updates.map(fromWire) }
  if (wire.target !== '') message.target = wire.target
  if (wire.targetAddresses.length > 0) message.targetAddresses = wire.targetAddresses
  if (wire.ok) message.ok = true
  if (type === 'ping-req' && message.target === undefined) throw new MalformedMembershipMessageError('ping-req without a target')
  return message
}

function fromWire (u: WireUpdate): MemberUpdate {
  const L = MEMBERSHIP_LIMITS
  if (u.peerId.length === 0 || u.peerId.length > L.maxPeerIdLength) throw new MalformedMembershipMessageError('bad peer id length')
  if (!Number.isSafeInteger(u.incarnation) || u.incarnation < 0) throw new MalformedMembershipMessageError('bad incarnation')
  if (u.from.length > L.maxPeerIdLength) throw new MalformedMembershipMessageError('bad from')
  checkText(u.peerId, 'peer id')
  checkText(u.from, 'from')
  switch (u.kind) {
    case WireUpdate.Kind.ALIVE: {
      checkAddresses(u.addresses)
      const tags: Record<string, string> = {}
      for (const [key, value] of u.tags) {
        if (key.length > L.maxTagKeyLength || value.length > L.maxTagValueLength) throw new MalformedMembershipMessageError('tag too long')
        checkText(key, 'tag name')
        checkText(value, 'tag value')
        // defineProperty, not assignment: a tag named "__proto__" must stay a tag, not be dropped.
        Object.defineProperty(tags, key, { value, enumerable: true, writable: true, configurable: true })
      }
      if (u.version.length > L.maxVersionLength) throw new MalformedMembershipMessageError('version too long')
      checkText(u.version, 'version')
      for (const p of u.protocols) {
        if (p.length === 0 || p.length > L.maxProtocolLength) throw new MalformedMembershipMessageError('bad protocol')
        checkText(p, 'protocol')
      }
      return {
        kind: 'alive',
        peerId: u.peerId,
        incarnation: u.incarnation,
        addresses: u.addresses,
        priority: u.priority,
        tags,
        // Absent when empty: what a member that predates them sends.
        ...(u.version === '' ? {} : { version: u.version }),
        ...(u.protocols.length === 0 ? {} : { protocols: u.protocols })
      }
    }
    case WireUpdate.Kind.SUSPECT:
      return { kind: 'suspect', peerId: u.peerId, incarnation: u.incarnation, from: u.from }
    case WireUpdate.Kind.DEAD:
      return { kind: 'dead', peerId: u.peerId, incarnation: u.incarnation, from: u.from }
    case WireUpdate.Kind.LEFT:
      return { kind: 'left', peerId: u.peerId, incarnation: u.incarnation }
    default:
      throw new MalformedMembershipMessageError('unknown update kind')
  }
}

function checkAddresses (addresses: string[]): void {
  if (addresses.length > MEMBERSHIP_LIMITS.maxAddresses) throw new MalformedMembershipMessageError('too many addresses')
  for (const a of addresses) {
    if (a.length === 0 || a.length > MEMBERSHIP_LIMITS.maxAddressLength || a[0] !== '/') throw new MalformedMembershipMessageError('bad address')
    checkText(a, 'address')
  }
}
