/**
 * The asker's side of one query: who was asked, who answered and what. Pure: the service
 * feeds it answers as they come and reads the result when the query ends.
 */
import type { Json } from '../replica/index.js'

/** One member's answer as the asker returns it: the handler's result, or why the handler failed. */
export type QueryResponse =
  | { peerId: string, payload: Json }
  | { peerId: string, error: string }

export interface QueryResult {
  /** The query's id (32 hex characters). */
  id: string
  name: string
  /** The answers that came in time, in the order they came. */
  responses: QueryResponse[]
  /**
   * Members alive or suspect when the query was sent (the asker included) that did not answer
   * in time: no handler for the name, unreachable, or too slow.
   */
  missing: string[]
}

export type AddOutcome = 'added' | 'duplicate' | 'full'

export class QueryCollector {
  readonly id: string
  readonly name: string
  private readonly asked: ReadonlySet<string>
  private readonly maxResponses: number
  private readonly answers = new Map<string, QueryResponse>()
  private waitingFor: number
  private readonly onComplete: () => void

  /**
   * `asked`: the members expected to answer; once each has, `onComplete` is called (at once if
   * there are none). Answers from others are kept too (a member this peer did not know of yet),
   * up to `maxResponses` in all.
   */
  constructor (init: { id: string, name: string, asked: Iterable<string>, maxResponses: number, onComplete: () => void }) {
    this.id = init.id
    this.name = init.name
    this.asked = new Set(init.asked)
    this.maxResponses = init.maxResponses
    this.waitingFor = this.asked.size
    this.onComplete = init.onComplete
    if (this.waitingFor === 0) this.onComplete()
  }

  /** Every member asked has answered. */
  get complete (): boolean {
    return this.waitingFor === 0
  }

  /** Records `peerId`'s answer; only its first counts. */
  add (response: QueryResponse): AddOutcome {
    if (this.answers.has(response.peerId)) return 'duplicate'
    if (this.answers.size >= this.maxResponses) return 'full'
    this.answers.set(response.peerId, response)
    if (this.asked.has(response.peerId) && --this.waitingFor === 0) this.onComplete()
    return 'added'
  }

  result (): QueryResult {
    return {
      id: this.id,
      name: this.name,
      responses: [...this.answers.values()],
      missing: [...this.asked].filter((peerId) => !this.answers.has(peerId)).sort()
    }
  }
}
