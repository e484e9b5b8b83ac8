/**
 * Which events a read of the global log or a subscription wants: by stream, by stream-id
 * prefix (a category such as `order-`), by event type, by correlation id. Every field given
 * must match; an empty filter matches everything.
 */
import { invalid } from "./check.ts";
import type { Event, RecordedEvent } from "./events.ts";

/** Which events to deliver (all given fields must match). */
export interface EventFilter {
  /** Only this stream. */
  streamId?: string;
  /** Only streams whose id starts with this (a category, e.g. `"account-"`). */
  streamPrefix?: string;
  /** Only these event types. */
  types?: readonly string[];
  /** Only events whose `metadata.correlationId` is this (see `HandleOptions.metadata`). */
  correlationId?: string;
}

/** Checks a filter where it enters; returns a predicate, or undefined for "everything". */
export function eventPredicate<E extends Event>(
  what: string,
  filter: EventFilter | undefined,
): ((event: RecordedEvent<E>) => boolean) | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) invalid(what, "filter", "must be an object");
  const known = ["streamId", "streamPrefix", "types", "correlationId"];
  for (const key of Object.keys(filter)) if (!known.includes(key)) invalid(what, `filter.${key}`, `unknown option (known: ${known.join(", ")})`);
  for (const key of ["streamId", "streamPrefix", "correlationId"] as const) {
    if (filter[key] !== undefined && (typeof filter[key] !== "string" || filter[key].length === 0)) {
      invalid(what, `filter.${key}`, "must be a non-empty string");
    }
  }
  const { streamId, streamPrefix, correlationId } = filter;
  let types: Set<string> | undefined;
  if (filter.types !== undefined) {
    if (!Array.isArray(filter.types) || filter.types.some((type) => typeof type !== "string")) {
      invalid(what, "filter.types", "must be an array of event type names");
    }
    types = new Set(filter.types);
  }
  return (event) =>
    (streamId === undefined || event.streamId === streamId) &&
    (streamPrefix === undefined || event.streamId.startsWith(streamPrefix)) &&
    (types === undefined || types.has(event.type)) &&
    (correlationId === undefined || event.metadata?.correlationId === correlationId);
}
