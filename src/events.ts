/** An event with a typed `detail` (unlike CustomEvent, an `undefined` detail stays undefined). */
export class DetailEvent<Detail> extends Event {
  readonly detail: Detail

  constructor (type: string, detail: Detail) {
    super(type)
    this.detail = detail
  }
}

type Listener<Detail> = (event: DetailEvent<Detail>) => void

export interface ListenerOptions {
  once?: boolean
  signal?: AbortSignal
}

/**
 * An event target whose event names and details are checked by the compiler.
 * `EventMap` maps each event name to the type of its `detail`.
 */
export class TypedEventTarget<EventMap extends Record<string, unknown>> {
  readonly #target = new EventTarget()

  addEventListener<K extends keyof EventMap & string> (type: K, listener: Listener<EventMap[K]>, options?: ListenerOptions): void {
    this.#target.addEventListener(type, listener as (event: Event) => void, options)
  }

  removeEventListener<K extends keyof EventMap & string> (type: K, listener: Listener<EventMap[K]>): void {
    this.#target.removeEventListener(type, listener as (event: Event) => void)
  }

  /** Resolves with the detail of the next `type` event that passes `filter`. */
  async once<K extends keyof EventMap & string> (type: K, filter: (detail: EventMap[K]) => boolean = () => true, signal?: AbortSignal): Promise<EventMap[K]> {
    return new Promise((resolve, reject) => {
      const listener: Listener<EventMap[K]> = (event) => {
        if (!filter(event.detail)) return
        this.removeEventListener(type, listener)
        resolve(event.detail)
      }
      signal?.addEventListener('abort', () => {
        this.removeEventListener(type, listener)
        reject(signal.reason)
      }, { once: true })
      this.addEventListener(type, listener)
    })
  }

  protected emit<K extends keyof EventMap & string> (type: K, detail: EventMap[K]): void {
    this.#target.dispatchEvent(new DetailEvent(type, detail))
  }
}
