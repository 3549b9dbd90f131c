import { createHash } from 'node:crypto'
import { gossipsub, type GossipSub, type GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { createTopicScoreParams, type TopicScoreParams } from '@chainsafe/libp2p-gossipsub/score'
import { TopicValidatorResult, type Message, type PubSub } from '@libp2p/interface'
import type { LogFn } from '../log.js'
import { NotStartedError } from './errors.js'
import { openEnvelope, seal } from './envelope.js'
import type { GossipVerdict, PubsubMessage, TopicMesh, TopicOptions } from './types.js'

/** The gossipsub protocol version in `/hearsay/<network>/meshsub/<version>`: 2.0.0 are StrictNoSign envelopes, 1.1.0 were StrictSign. */
export const MESHSUB_VERSION = '2.0.0'

/** Loopback addresses, as gossipsub's peer score sees a connection's remote IP. */
const LOOPBACK_ADDRESSES = ['127.0.0.1', '::1']

/**
 * How every topic of ours scores a neighbour: only invalid messages count (P4: what a topic's
 * handler refused, −1 × count², the count halving every second). After 9 refused messages in
 * quick succession a neighbour is below gossipsub's graylist threshold (−80) and everything
 * it sends is ignored until the count has decayed, a few seconds after it stops; gossipsub
 * still takes its first 128 messages a second while its score is not negative. Honest peers
 * send nothing a handler refuses, however busy they are. Time in the mesh and deliveries are
 * not rewarded or required (P1–P3 weight 0): a quiet mesh is normal here, not a sign of a bad
 * neighbour.
 */
export const TOPIC_SCORE: Readonly<Partial<TopicScoreParams>> = {
  topicWeight: 1,
  timeInMeshWeight: 0,
  firstMessageDeliveriesWeight: 0,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -1,
  invalidMessageDeliveriesDecay: 0.5
}

/** The gossipsub service for a network's libp2p node. */
export function gossipService (network: string): ReturnType<typeof gossipsub> {
  return gossipsub({
    // No libp2p signature on gossip (DESIGN, "Signatures"): what the kv topic carries is
    // signed by its authors, and topics that need their sender seal their payload (see
    // envelope.ts). StrictSign cost one sign and a verify per receiver on every message,
    // ~4 of the ~5.5 ms of CPU a message cost among 5 peers. The id is a hash of topic and
    // content, so a duplicate copy from the mesh is dropped before anything decodes it.
    globalSignaturePolicy: 'StrictNoSign',
    msgIdFn: (message) => contentId(message.topic, message.data),
    fastMsgIdFn: (message) => Buffer.from(contentId(message.topic ?? '', message.data ?? new Uint8Array(0))).toString('base64'),
    allowPublishToZeroTopicPeers: false,
    emitSelf: false,
    // gossipsub scores down peers that share an IP (P6: -5 × (peers − 10)² past 10 of them),
    // and ignores those below -80: on loopback every peer shares 127.0.0.1, so a local cluster
    // of 15 or more would ignore one another's gossip. Peers on one host are ours to run, as
    // the connection manager's allow list for loopback already says.
    scoreParams: { IPColocationFactorWhitelist: new Set(LOOPBACK_ADDRESSES) },
    // One mesh per network: the gossipsub protocol id carries the network name too.
    debugName: `hearsay:${network}`
  })
}

/** Gives the node's gossipsub the network's own protocol id, so networks never share a mesh. */
export function useMeshProtocol (pubsub: PubSub<GossipsubEvents>, protocol: string): void {
  ;(pubsub as GossipSub).multicodecs = [protocol]
}

/**
 * The other meshsub versions of this network a remote speaks when it does not speak ours
 * (an older hearsay, whose gossip we refuse); `undefined` when there is nothing to report.
 */
export function olderMeshProtocols (protocols: string[], network: string, ours: string): string[] | undefined {
  if (protocols.includes(ours) || !protocols.some((p) => p.startsWith(`/hearsay/${network}/meshsub/`))) return undefined
  return protocols.filter((p) => p.includes('/meshsub/'))
}

export interface GossipTopicsComponents {
  peerId: string
  /** The node's gossipsub while it runs. */
  pubsub: () => PubSub<GossipsubEvents> | undefined
  maxMessageBytes: number
  sign: (data: Uint8Array) => Uint8Array
  verify: (author: string, data: Uint8Array, signature: Uint8Array) => boolean
  logDropped: LogFn
}

/**
 * The topics this node takes part in: one handler per topic, and sealing (publish) or
 * requiring (subscribe) the sender's signature on topics that ask for it.
 *
 * A message is handed to its handler as gossipsub's topic validator, before gossipsub
 * forwards it: what the handler refuses (a forged batch, an envelope whose signature does
 * not verify) goes no further than this node, and counts against the neighbour that sent it
 * in gossipsub's own bookkeeping.
 */
export class GossipTopics {
  private readonly components: GossipTopicsComponents
  private readonly handlers = new Map<string, { handler: (message: PubsubMessage) => GossipVerdict | void, signed: boolean }>()

  constructor (components: GossipTopicsComponents) {
    this.components = components
  }

  subscribe (topic: string, handler: (message: PubsubMessage) => GossipVerdict | void, options: TopicOptions = {}): void {
    this.handlers.set(topic, { handler, signed: options.signed === true })
    const pubsub = this.started()
    pubsub.topicValidators.set(topic, (from, message) => this.validate(message, from.toString()))
    // Topics come and go at runtime, so their score is set as they do (gossipsub reads it per topic).
    ;(pubsub as GossipSub).score.params.topics[topic] ??= createTopicScoreParams({ ...TOPIC_SCORE })
    pubsub.subscribe(topic)
  }

  unsubscribe (topic: string): void {
    this.handlers.delete(topic)
    const pubsub = this.components.pubsub()
    pubsub?.topicValidators.delete(topic)
    pubsub?.unsubscribe(topic)
  }

  async publish (topic: string, data: Uint8Array, options: TopicOptions = {}): Promise<number> {
    const payload = options.signed === true ? seal(topic, data, this.components.peerId, this.components.sign) : data
    const result = await this.started().publish(topic, payload)
    return result.recipients.length
  }

  topicPeers (topic: string): string[] {
    return (this.components.pubsub()?.getSubscribers(topic) ?? []).map(String)
  }

  /** gossipsub's score of a neighbour (below −80: graylisted, what it sends is ignored). */
  gossipScore (peerId: string): number {
    return (this.components.pubsub() as GossipSub | undefined)?.score.score(peerId) ?? 0
  }

  gossipMesh (): TopicMesh[] {
    const pubsub = this.components.pubsub() as GossipSub | undefined
    if (pubsub === undefined) return []
    return pubsub.getTopics().sort().map((topic) => ({ topic, peers: pubsub.getMeshPeers(topic).sort() }))
  }

  /**
   * A message gossipsub received from the neighbour `via` and has not seen before: the topic's
   * handler takes it, and its verdict decides whether gossipsub forwards it (no verdict: it does).
   */
  validate (message: Message, via: string): TopicValidatorResult {
    const entry = this.handlers.get(message.topic)
    if (entry === undefined) return TopicValidatorResult.Ignore
    if (!entry.signed) return verdict(entry.handler({ topic: message.topic, data: message.data, from: undefined, via }))
    let opened: { author: string, payload: Uint8Array }
    try {
      opened = openEnvelope(message.topic, message.data, this.components.maxMessageBytes, this.components.verify)
    } catch (err) {
      this.components.logDropped({ topic: message.topic, via, reason: (err as Error).message }, 'dropped a gossip message whose sender could not be proven')
      return TopicValidatorResult.Reject
    }
    return verdict(entry.handler({ topic: message.topic, data: opened.payload, from: opened.author, via }))
  }

  private started (): PubSub<GossipsubEvents> {
    const pubsub = this.components.pubsub()
    if (pubsub === undefined) throw new NotStartedError()
    return pubsub
  }
}

const VERDICTS: Readonly<Record<string, TopicValidatorResult>> = {
  accept: TopicValidatorResult.Accept,
  reject: TopicValidatorResult.Reject,
  ignore: TopicValidatorResult.Ignore
}

/** A handler's verdict for gossipsub; anything but a verdict (nothing, or what a one-line handler happens to return) accepts. */
function verdict (said: GossipVerdict | void): TopicValidatorResult {
  return typeof said === 'string' && Object.hasOwn(VERDICTS, said) ? VERDICTS[said] as TopicValidatorResult : TopicValidatorResult.Accept
}

/** A message's id: SHA-256 of its topic and content, so two copies of one message have one id. */
function contentId (topic: string, data: Uint8Array): Uint8Array {
  return createHash('sha256').update(topic).update('\0').update(data).digest()
}
