/**
 * A bounded ring of the most recent events, indexed by global position. Recent reads,
 * replays and subscribers are served from here without touching storage; anything
 * older than the ring falls through to the adapter.
 *
 * An event can be held in two ways. As an object (`push`): what the store read back at
 * open, or took in from a shared log. Or where the storage adapter already keeps it
 * encoded (`pushHeld`, see StorageAdapter.keepRecent): the file WAL's ring. The store
 * appends to such an adapter hold no object per event: every object the buffer kept
 * lived through the young generation's collections, each of which copied the last few
 * thousand events' objects (on Node, a scavenge took 2.4-3 ms with the buffer full
 * against 1.2 ms with it nearly empty; issue 16's note).
 */
import { ValidationError } from "./errors.ts";
import type { Event, RecordedEvent } from "./events.ts";

/** Events kept in memory by default. */
export const DEFAULT_BUFFER_SIZE = 10_000;

/** Records kept elsewhere in encoded form, read on demand (StorageAdapter.keepRecent). */
export interface HeldRecords<R> {
  /**
   * The oldest position from which every record held can still be read: the adapter's
   * memory is bounded (the WAL's ring), so older ones may have been let go.
   */
  oldest(): number;
  /** The record at `position`, decoded, or undefined if it is not held. */
  read(position: number): R | undefined;
}

/** A bounded ring of the most recent events, by global position. */
export class EventBuffer<E extends Event = Event> {
  /** How many events it holds at most. */
  readonly capacity: number;
  readonly #slots: (RecordedEvent<E> | undefined)[];
  readonly #held: HeldRecords<RecordedEvent<E>> | undefined;
  /** Position of the newest event held (0 when empty). */
  #newest = 0;
  #count = 0;
  /** The first position pushed held (Infinity: none yet); every later push is held too. */
  #firstHeld = Infinity;

  /**
   * A buffer of `capacity` events; `held` reads those pushed with `pushHeld`.
   * Throws ValidationError on a capacity that is not an integer >= 1.
   */
  constructor(capacity = DEFAULT_BUFFER_SIZE, held?: HeldRecords<RecordedEvent<E>>) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new ValidationError("event buffer", [{ path: "capacity", message: `must be an integer >= 1, got ${capacity}` }]);
    }
    this.capacity = capacity;
    this.#slots = new Array(capacity).fill(undefined);
    this.#held = held;
  }

  /** Adds the event at the next position; the oldest falls out when full. */
  push(event: RecordedEvent<E>): void {
    if (this.#firstHeld !== Infinity) throw new RangeError(`event buffer holds its events elsewhere since position ${this.#firstHeld}`);
    this.#advance(event.position);
    this.#slots[event.position % this.capacity] = event;
  }

  /** Adds the event at the next position, which the buffer's `held` records keep. */
  pushHeld(position: number): void {
    if (this.#held === undefined) throw new RangeError("event buffer has no held records");
    this.#advance(position);
    if (this.#firstHeld === Infinity) this.#firstHeld = position;
    this.#slots[position % this.capacity] = undefined;
  }

  #advance(position: number): void {
    if (this.#count > 0 && position !== this.#newest + 1) {
      throw new RangeError(`event buffer expected position ${this.#newest + 1}, got ${position}`);
    }
    this.#newest = position;
    if (this.#count < this.capacity) this.#count++;
  }

  /** The oldest position held, or newest + 1 when empty. */
  get oldestPosition(): number {
    const start = this.#newest - this.#count + 1;
    if (this.#firstHeld > this.#newest) return start;
    // Held events are readable back to where their keeper still has them; before the
    // first of them, objects are (they came first), so only a gap in the held ones counts.
    const held = this.#held!.oldest();
    return held <= this.#firstHeld ? start : Math.max(start, held);
  }

  /** Position of the newest buffered event (0 when empty). */
  get newestPosition(): number {
    return this.#newest;
  }

  /** How many events are buffered. */
  get size(): number {
    return this.#newest - this.oldestPosition + 1;
  }

  /** The event at `position`, or undefined if it is not (or no longer) held. */
  get(position: number): RecordedEvent<E> | undefined {
    if (position < this.oldestPosition || position > this.#newest) return undefined;
    return position < this.#firstHeld ? this.#slots[position % this.capacity] : this.#held!.read(position);
  }
}
