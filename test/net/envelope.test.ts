import { describe, it, expect, afterEach } from 'vitest'
import {
  createNetNode, decodeEnvelope, encodeEnvelope, signingInput, MalformedEnvelopeError, type NetNode, type PubsubMessage
} from '../../src/net/index.js'

const nodes: NetNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
})

async function node (): Promise<NetNode> {
  const n = await createNetNode({}, { profile: 'local', network: 'envelopes' })
  nodes.push(n)
  await n.start()
  return n
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

/** Publishes until the topic has a subscriber (gossipsub learns subscriptions a few ms after connecting). */
async function publishWhenHeard (from: NetNode, topic: string, data: Uint8Array, signed: boolean): Promise<void> {
  const deadline = Date.now() + 20_000
  while (from.topicPeers(topic).length === 0) {
    if (Date.now() > deadline) throw new Error('no subscriber appeared')
    await new Promise<void>((resolve) => { setTimeout(resolve, 20) })
  }
  await from.publish(topic, data, { signed })
}

describe('signed gossip envelopes', () => {
  it('round-trip, and a signature covers the payload and the topic', async () => {
    const a = await createNetNode({}, {})
    const topic = '/hearsay/x/beacon/1.0.0'
    const payload = bytes('hello')
    const sealed = encodeEnvelope({ author: a.peerId, payload, signature: a.sign(signingInput(topic, payload)) })
    const opened = decodeEnvelope(sealed, 1024)
    expect(opened.author).toBe(a.peerId)
    expect(new TextDecoder().decode(opened.payload)).toBe('hello')
    expect(a.verify(opened.author, signingInput(topic, opened.payload), opened.signature)).toBe(true)
    // Moved to another topic, or with one payload byte changed, it no longer verifies.
    expect(a.verify(opened.author, signingInput('/hearsay/x/kv/1.0.0', opened.payload), opened.signature)).toBe(false)
    const tampered = sealed.slice()
    const at = sealed.byteLength - 64 - 1
    tampered[at] = (tampered[at] ?? 0) ^ 1
    const t = decodeEnvelope(tampered, 1024)
    expect(a.verify(t.author, signingInput(topic, t.payload), t.signature)).toBe(false)
  })

  it('refuses garbage and oversized payloads with MalformedEnvelopeError', () => {
    for (const garbage of [new Uint8Array(0), new Uint8Array(70), bytes('x'.repeat(200)), new Uint8Array([1, 0, 0, 0, 0, 0, 0])]) {
      expect(() => decodeEnvelope(garbage, 1024)).toThrow(MalformedEnvelopeError)
    }
    const big = encodeEnvelope({ author: 'someone', payload: new Uint8Array(2048), signature: new Uint8Array(64) })
    expect(() => decodeEnvelope(big, 1024)).toThrow(/over the limit/)
    expect(() => decodeEnvelope(big.subarray(0, big.byteLength - 1), 4096)).toThrow(/does not add up/)
  })

  it('over real gossipsub: a signed topic delivers sealed messages with their sender, and drops unsealed or forged ones', async () => {
    const a = await node()
    const b = await node()
    const topic = b.protocol('sealed')
    const got: PubsubMessage[] = []
    b.subscribe(topic, (message) => { got.push(message) }, { signed: true })
    a.subscribe(topic, () => {}, { signed: true })
    await a.dial(b.addresses()[0]!)
    // Unsealed bytes, then a seal by a key that is not its claimed author's: neither arrives.
    await publishWhenHeard(a, topic, bytes('not sealed'), false)
    const impostor = await createNetNode({}, {})
    const forged = encodeEnvelope({ author: impostor.peerId, payload: bytes('forged'), signature: a.sign(signingInput(topic, bytes('forged'))) })
    await a.publish(topic, forged)
    await a.publish(topic, bytes('sealed'), { signed: true })
    const deadline = Date.now() + 20_000
    while (got.length === 0 && Date.now() < deadline) await new Promise<void>((resolve) => { setTimeout(resolve, 20) })
    // gossipsub delivers in order from one sender on one stream: once the sealed one is here,
    // the two before it were seen and dropped.
    expect(got.map((m) => new TextDecoder().decode(m.data))).toEqual(['sealed'])
    expect(got[0]!.from).toBe(a.peerId)
    expect(got[0]!.via).toBe(a.peerId)
  })

  it('an unsigned topic delivers what is published, with no claimed sender', async () => {
    const a = await node()
    const b = await node()
    const topic = b.protocol('plain')
    const got: PubsubMessage[] = []
    b.subscribe(topic, (message) => { got.push(message) })
    a.subscribe(topic, () => {})
    await a.dial(b.addresses()[0]!)
    await publishWhenHeard(a, topic, bytes('plain'), false)
    const deadline = Date.now() + 20_000
    while (got.length === 0 && Date.now() < deadline) await new Promise<void>((resolve) => { setTimeout(resolve, 20) })
    expect(got).toHaveLength(1)
    expect(got[0]!.from).toBeUndefined()
  })
})
