/**
 * A subscription delivers the global log to a handler in order, one event at a time,
 * catching up from a position and then following new appends.
 */
import type { Event, RecordedEvent } from "./events.ts";
import type { EventFilter } from "./event-filter.ts";

/** Options of `EventStore.subscribe`. */
export interface SubscriptionOptions {
  /** First position to deliver (default: the next append). */
  from?: number;
  /** Deliver an event only once it is durable (default: true in `durable` mode). */
  durableOnly?: boolean;
  /** Called with the error that stopped the subscription (a handler throw, a storage failure). */
  onError?: (error: unknown) => void;
  /** Deliver only the events it matches (by stream, stream prefix, type, correlation id); the rest are passed over. */
  filter?: EventFilter;
  /**
   * Told the last position gone past after each batch: delivered, filtered out, or left
   * out by a stream's removal. A checkpoint taken from it moves past what was not delivered.
   */
  onPosition?: (position: number) => void;
}

/** What a subscription needs from the store (kept narrow to avoid a cycle). */
interface SubscribedStore<E extends Event> {
  readonly headPosition: number;
  readonly durablePosition: number;
  readonly closed: boolean;
  readAll(options: { from: number; to: number }): Promise<RecordedEvent<E>[]>;
  durable(position: number): Promise<void>;
  nextAppend(): Promise<void>;
}

const BATCH = 512;

/** Delivers events in order from a position on, then follows new appends. */
export class Subscription<E extends Event = Event> {
  #position: number;
  #closed = false;
  #settle!: (error?: unknown) => void;
  /** Resolves when the subscription stops by `close()`; rejects with the error that stopped it. */
  readonly done: Promise<void>;

  /** Use `EventStore.subscribe`. */
  constructor(
    private readonly store: SubscribedStore<E>,
    private readonly handler: (event: RecordedEvent<E>) => void | Promise<void>,
    private readonly options: {
      from: number;
      durableOnly: boolean;
      onError?: (error: unknown) => void;
      matches?: (event: RecordedEvent<E>) => boolean;
      onPosition?: (position: number) => void;
    },
    private readonly onStop: () => void,
  ) {
    this.#position = Math.max(1, options.from);
    this.done = new Promise<void>((resolve, reject) => {
      this.#settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // The error also goes to onError (or the console); `done` must not become an unhandled rejection.
    this.done.catch(() => {});
  }

  /** The next position this subscription will deliver. */
  get position(): number {
    return this.#position;
  }

  /** Starts delivering. */
  start(): void {
    this.#run().then(
      () => this.#stop(),
      (error) => this.#stop(error),
    );
  }

  /** Stops delivering. */
  close(): void {
    this.#stop();
  }

  async #run(): Promise<void> {
    const store = this.store;
    while (!this.#closed && !store.closed) {
      if (this.#position > store.headPosition) {
        await store.nextAppend();
        continue;
      }
      if (this.options.durableOnly && this.#position > store.durablePosition) {
        await store.durable(this.#position);
        continue;
      }
      // (A shared log can be durable past what this store has taken in: never read past its head.)
      const to = Math.min(store.headPosition, this.options.durableOnly ? store.durablePosition : Infinity, this.#position + BATCH - 1);
      // Every position up to `to` is gone past after the batch, delivered or not (reads
      // leave out markers and what they removed).
      const batch = await store.readAll({ from: this.#position, to });
      const matches = this.options.matches;
      for (const event of batch) {
        if (this.#closed) return;
        if (matches === undefined || matches(event)) await this.handler(event);
        this.#position = event.position + 1;
      }
      if (this.#closed) return;
      this.#position = to + 1;
      this.options.onPosition?.(to);
    }
  }

  #stop(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onStop();
    if (error !== undefined) {
      if (this.options.onError) this.options.onError(error);
      else console.error("eventfold: subscription stopped:", error);
    }
    this.#settle(error);
  }
}
