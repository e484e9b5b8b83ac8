/**
 * Idempotent appends: an append whose events carry ids that the stream already holds, at
 * the place the append's expected version puts them, is a retry of that append. The store
 * returns the first append's result and appends nothing (EventStoreDB's rule), so a request
 * retried after a timeout or a lost connection never writes its events twice.
 *
 * The store recognizes a retry while the original events are among the newest it buffers
 * (`RecentIds` maps the ids of the buffered events to positions); past the buffer, an
 * `append` with an exact expected version still does, by reading the stream at that version.
 */
import { ValidationError } from "./errors.ts";
import type { Event, RecordedEvent } from "./events.ts";
import type { EventBuffer } from "./event-buffer.ts";
import { type ExpectedVersion, expectedVersionHolds } from "./storage.ts";

/** Where the buffered events with ids are, by stream and id. */
export class RecentIds<E extends Event> {
  /** `<stream id>\n<event id>` to position, in position order. */
  readonly #positions = new Map<string, number>();

  constructor(private readonly buffer: EventBuffer<E>) {}

  /** Notes the ids of events entering the buffer. */
  add(events: readonly RecordedEvent<E>[]): void {
    for (const event of events) if (event.id !== undefined) this.#positions.set(`${event.streamId}\n${event.id}`, event.position);
    if (this.#positions.size > 2 * this.buffer.capacity) this.#prune();
  }

  /** The position of the buffered event of `streamId` with `id`, if any. */
  find(streamId: string, id: string): number | undefined {
    const position = this.#positions.get(`${streamId}\n${id}`);
    return position !== undefined && position >= this.buffer.oldestPosition ? position : undefined;
  }

  /** Forgets the ids of events the buffer no longer holds (they were added in position order). */
  #prune(): void {
    const oldest = this.buffer.oldestPosition;
    for (const [id, position] of this.#positions) {
      if (position >= oldest) break;
      this.#positions.delete(id);
    }
  }
}

/**
 * If `events` (all with ids) were appended to `streamId` already, `original` holding them
 * from `stored` on, and `expected` held for that append, returns them. Undefined when the
 * first id is not there. Throws when only some of them match: the ids were reused for
 * other events, which would silently lose one of the two.
 */
export function retriedAppend<E extends Event>(
  streamId: string,
  events: readonly E[],
  expected: ExpectedVersion | undefined,
  original: readonly (RecordedEvent<E> | undefined)[],
): RecordedEvent<E>[] | undefined {
  const first = original[0];
  if (first === undefined || first.streamId !== streamId || first.id !== events[0]!.id) return undefined;
  if (expected !== undefined && !expectedVersionHolds(expected, first.streamVersion - 1)) return undefined;
  for (let i = 1; i < events.length; i++) {
    const stored = original[i];
    if (stored === undefined || stored.streamId !== streamId || stored.id !== events[i]!.id) {
      throw new ValidationError("append", [{
        path: `events[${i}].id`,
        message: `the append's first ${i} event id(s) were appended to "${streamId}" at version ${first.streamVersion}, ` +
          `but this one differs from what followed them: event ids are reused, not a retry`,
      }]);
    }
  }
  return original.slice(0, events.length) as RecordedEvent<E>[];
}

/** Whether every event of an append carries its own id (the only appends checked for retries). */
export function allHaveIds(events: readonly Event[]): boolean {
  if (events.length === 0) return false;
  for (const event of events) if (typeof event?.id !== "string") return false;
  return true;
}
