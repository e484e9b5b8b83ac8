/**
 * A bounded ring of the most recent events, indexed by global position. Recent reads,
 * replays and subscribers are served from here without touching storage; anything
 * older than the ring falls through to the adapter.
 */
import { ValidationError } from "./errors.ts";
import type { Event, RecordedEvent } from "./events.ts";

/** Events kept in memory by default. */
export const DEFAULT_BUFFER_SIZE = 10_000;

/** A bounded ring of the most recent events, by global position. */
export class EventBuffer<E extends Event = Event> {
  /** How many events it holds at most. */
  readonly capacity: number;
  readonly #slots: (RecordedEvent<E> | undefined)[];
  /** Position of the newest event held (0 when empty). */
  #newest = 0;
  #count = 0;

  /** A buffer of `capacity` events. */
  constructor(capacity = DEFAULT_BUFFER_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new ValidationError("event buffer", [{ path: "capacity", message: `must be an integer >= 1, got ${capacity}` }]);
    }
    this.capacity = capacity;
    this.#slots = new Array(capacity).fill(undefined);
  }

  /** Adds the event at the next position; the oldest falls out when full. */
  push(event: RecordedEvent<E>): void {
    if (this.#count > 0 && event.position !== this.#newest + 1) {
      throw new RangeError(`event buffer expected position ${this.#newest + 1}, got ${event.position}`);
    }
    this.#slots[event.position % this.capacity] = event;
    this.#newest = event.position;
    if (this.#count < this.capacity) this.#count++;
  }

  /** The oldest position held, or newest + 1 when empty. */
  get oldestPosition(): number {
    return this.#newest - this.#count + 1;
  }

  /** Position of the newest buffered event (0 when empty). */
  get newestPosition(): number {
    return this.#newest;
  }

  /** How many events are buffered. */
  get size(): number {
    return this.#count;
  }

  /** The event at `position`, or undefined if it is not (or no longer) held. */
  get(position: number): RecordedEvent<E> | undefined {
    if (position < this.oldestPosition || position > this.#newest) return undefined;
    return this.#slots[position % this.capacity];
  }
}
