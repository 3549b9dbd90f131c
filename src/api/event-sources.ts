/**
 * What `GET /v1/events` streams: each source is one kind of event of the peer (the SSE event
 * name) and how to follow it. Member and leader events are built in. Another part adds its own
 * kind by adding a source here (the user events of `src/events` come as `user`, below), or an embedder
 * passes more in `ApiOptions.eventSources`; the route, its type filter and the CLI's `events`
 * command take any source without change.
 */
import { MEMBER_EVENTS } from '../membership/index.js'
import type { DetailEvent } from '../events.js'
import type { UserEvent } from '../events/index.js'
import type { Peer } from '../peer.js'

export interface PeerEventSource {
  /** The SSE event name, and the value of `?type=` that selects it (`member`, `leader`, ...). */
  readonly type: string
  /** Calls `emit` with each event's data (JSON-serializable) until the returned function is called. */
  subscribe: (peer: Peer, emit: (data: unknown) => void) => () => void
}

/** `member`: `{ change: 'join' | 'leave' | 'fail' | 'update' | 'reap', member }` for every change of the view. */
export const memberEvents: PeerEventSource = {
  type: 'member',
  subscribe (peer, emit) {
    const listeners = MEMBER_EVENTS.map((name) => {
      const listener = (event: { detail: unknown }): void => { emit({ change: name.slice('member:'.length), member: event.detail }) }
      peer.addEventListener(name, listener)
      return () => { peer.removeEventListener(name, listener) }
    })
    return () => { for (const off of listeners) off() }
  }
}

/** `leader`: `{ leader: { peerId, term } | null }` each time the coordinator changes (null while an election runs). */
export const leaderEvents: PeerEventSource = {
  type: 'leader',
  subscribe (peer, emit) {
    const listener = (event: { detail: unknown }): void => { emit({ leader: event.detail ?? null }) }
    peer.addEventListener('leader', listener)
    return () => { peer.removeEventListener('leader', listener) }
  }
}

/** `user`: `{ name, payload, from, id, at }` for every user event this peer emits (`hearsay event`, `peer.events.publish`). */
export const userEvents: PeerEventSource = {
  type: 'user',
  subscribe (peer, emit) {
    const listener = (event: DetailEvent<UserEvent>): void => { emit(event.detail) }
    peer.events.addEventListener('user', listener)
    return () => { peer.events.removeEventListener('user', listener) }
  }
}

/** The sources every API streams. */
export const EVENT_SOURCES: readonly PeerEventSource[] = [memberEvents, leaderEvents, userEvents]
