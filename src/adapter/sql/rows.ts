/**
 * The events table's columns as the SQL adapters (PostgreSQL, SQLite) store them: one row
 * per record, data and metadata as JSON text. Both adapters' schemas have these columns.
 */
import type { StoredRecord } from "../../core/events.ts";
import { REDACTED, STREAM_DELETED, STREAM_TRUNCATED } from "../../core/stream-removal.ts";

/** The columns, in the order `recordColumns` gives their values. */
export const EVENT_COLUMNS = "position, stream_id, stream_version, type, schema_version, data, metadata, timestamp, event_id";

/** The marker types as an SQL list, for the index query at open (`type in (...)`). */
export const MARKER_TYPES = `('${STREAM_DELETED}', '${STREAM_TRUNCATED}')`;

/**
 * The statement that erases a stream's removed rows below a version (see
 * StorageAdapter.redact), markers kept; `streamId` and `before` are the dialect's placeholders.
 */
export const redactStatement = (table: string, streamId: string, before: string): string =>
  `update ${table} set type = '${REDACTED}', schema_version = 1, data = 'null', metadata = null, event_id = null ` +
  `where stream_id = ${streamId} and stream_version < ${before} and type not like '$%'`;

/** A record's column values, in EVENT_COLUMNS order. */
export function recordColumns(
  record: StoredRecord,
): [number, string, number, string, number, string, string | null, number, string | null] {
  return [
    record.position,
    record.streamId,
    record.streamVersion,
    record.type,
    record.schemaVersion,
    JSON.stringify(record.data),
    record.metadata === undefined ? null : JSON.stringify(record.metadata),
    record.timestamp,
    record.id ?? null,
  ];
}

/** The record a row holds (data and metadata read as JSON text). */
export function recordOfRow(row: Record<string, unknown>): StoredRecord {
  const record: StoredRecord = {
    position: Number(row.position),
    streamId: row.stream_id as string,
    streamVersion: Number(row.stream_version),
    type: row.type as string,
    schemaVersion: Number(row.schema_version),
    data: JSON.parse(row.data as string),
    metadata: row.metadata === null ? undefined : JSON.parse(row.metadata as string),
    timestamp: Number(row.timestamp),
  };
  if (row.event_id !== null && row.event_id !== undefined) record.id = row.event_id as string;
  return record;
}
