/**
 * Stream deletion and truncation, as markers in the log.
 *
 * Removing a stream appends one of the store's own events to that stream: `$streamDeleted`
 * (a tombstone: the stream reads as gone and takes no more appends) or `$streamTruncated`
 * `{ before }` (its events before version `before` read as gone). A marker is an ordinary
 * record to every adapter (JSON data, the stream's next version, the log's next position),
 * so it is stored, replicated and recovered like any event, its append is checked against
 * the stream's expected version like any other, and the global log keeps its order.
 * Reads, subscriptions and inline projections leave markers and what they removed out.
 *
 * Types beginning with "$" are the store's own: `defineEvent` refuses them.
 * See docs/guides/stream-removal.md.
 */
import { ValidationError } from "./errors.ts";
import { type StoredRecord, StoredRecordObject } from "./events.ts";

/** The tombstone's event type. */
export const STREAM_DELETED = "$streamDeleted";
/** The truncation marker's event type (data `{ before }`). */
export const STREAM_TRUNCATED = "$streamTruncated";

/**
 * The type of a removed event whose contents the storage erased (physical removal: the
 * SQL adapters at once, the file WAL when scavenged). It keeps its stream, version and
 * position, so the log has no gap.
 */
export const REDACTED = "$redacted";

/** Whether `type` is one of the store's own event types ("$" first). */
export const isSystemType = (type: string): boolean => type.charCodeAt(0) === 36;

/** `record`'s contents erased: a `$redacted` record at its stream, version and position. */
export function redactedRecord(record: Pick<StoredRecord, "streamId" | "streamVersion" | "position" | "timestamp">): StoredRecord {
  const { streamId, streamVersion, position, timestamp } = record;
  return new StoredRecordObject(REDACTED, null, undefined, 1, streamId, streamVersion, position, timestamp);
}

/** Whether `type` is a stream-removal marker's. */
export const isMarkerType = (type: string): boolean => type === STREAM_DELETED || type === STREAM_TRUNCATED;

/** A marker record for the stream's next version. */
export function markerRecord(
  type: typeof STREAM_DELETED | typeof STREAM_TRUNCATED,
  data: Record<string, number>,
  streamId: string,
  streamVersion: number,
  position: number,
): StoredRecord {
  return new StoredRecordObject(type, data, undefined, 1, streamId, streamVersion, position, Date.now());
}

interface Removal {
  deleted: boolean;
  /** The first version reads still return (1 when nothing was truncated). */
  before: number;
  /** Versions of the stream's markers (reads skip them). */
  markers: number[];
}

/** What the log's markers removed, stream by stream. */
export class StreamRemovals {
  readonly #streams = new Map<string, Removal>();
  /** Positions of the markers taken in (an index checkpoint keeps them). */
  readonly positions: number[] = [];

  /**
   * Takes a marker in. A record of another "$" type is refused: the log was written by a
   * newer eventfold, and reading on would show what it removed.
   */
  apply(record: Pick<StoredRecord, "type" | "data" | "streamId" | "streamVersion" | "position">): void {
    if (record.type === REDACTED) return;
    let removal = this.#streams.get(record.streamId);
    if (removal === undefined) {
      removal = { deleted: false, before: 1, markers: [] };
      this.#streams.set(record.streamId, removal);
    }
    if (record.type === STREAM_DELETED) removal.deleted = true;
    else if (record.type === STREAM_TRUNCATED) {
      const before = (record.data as { before?: unknown } | null)?.before;
      if (!Number.isInteger(before) || (before as number) < 1) throw badMarker(record, `"before" must be an integer >= 1`);
      removal.before = Math.max(removal.before, before as number);
    } else throw badMarker(record, "unknown event type of the store's own (a log from a newer eventfold?)");
    removal.markers.push(record.streamVersion);
    this.positions.push(record.position);
  }

  /** Whether the stream was deleted. */
  deleted(streamId: string): boolean {
    return this.#streams.size !== 0 && this.#streams.get(streamId)?.deleted === true;
  }

  /** The first version of the stream reads return (1 unless truncated). */
  firstVersion(streamId: string): number {
    return this.#streams.size === 0 ? 1 : this.#streams.get(streamId)?.before ?? 1;
  }

  /** Whether `version` of the stream is a marker. */
  isMarker(streamId: string, version: number): boolean {
    return this.#streams.size !== 0 && this.#streams.get(streamId)?.markers.includes(version) === true;
  }

  /** Whether reads leave the record out: a marker, or an event a marker removed. */
  hides(record: { type: string; streamId: string; streamVersion: number }): boolean {
    if (isSystemType(record.type)) return true;
    if (this.#streams.size === 0) return false;
    const removal = this.#streams.get(record.streamId);
    return removal !== undefined && (removal.deleted || record.streamVersion < removal.before);
  }

  /** Whether any marker was seen (reads must then filter). */
  get any(): boolean {
    return this.#streams.size !== 0;
  }

  /** The deleted streams and the truncated ones' first kept version. */
  *removed(): Generator<{ streamId: string; deleted: boolean; before: number }> {
    for (const [streamId, removal] of this.#streams) yield { streamId, deleted: removal.deleted, before: removal.before };
  }
}

function badMarker(record: Pick<StoredRecord, "type" | "position">, message: string): ValidationError {
  return new ValidationError(`stored event at position ${record.position}`, [{ path: record.type, message }]);
}
