/**
 * Record layouts: what every record of one stream and one event type has in common, laid
 * out once as 32-bit words, so that the encoder writes a record's fixed part as a few word
 * stores instead of field by field and byte by byte.
 *
 * For a record with no event id and no metadata (every record the order book's engine
 * appends, and most of any app's), bytes [20, 24) of the header (schema version, codec,
 * flags) and bytes [32, 40 + stream id + type) (the three lengths, the stream id, the
 * type) depend only on the stream, the type, its schema version and whether more records
 * of the append follow. The rest of the header (length, position, stream version,
 * timestamp) and the data are the record's own. See record-format.ts for the layout.
 *
 * Why: measuring and writing a record of the engine's mix field by field through a
 * DataView, and its stream id and type byte by byte, took 94-97 ns on Node and 112-113 on
 * Deno, against 66-67 and 92-93 this way (both ways in one process, alternated; CHANGELOG).
 * Words are stored in the platform's byte order, and the WAL's is little-endian: on a
 * big-endian platform there are no layouts, and every record is written field by field.
 */
/** Where a record's laid-out words begin (its stream id's length). */
export const LAID_OUT_FROM = 32;

/** The fixed part of one stream's records of one event type, at one schema version. */
export interface RecordLayout {
  readonly schemaVersion: number;
  /** Bytes [20, 24) of the header with no flags set, as one little-endian word. */
  readonly header: number;
  /** Bytes [32, 40 + stream id + type), as words; the last word's unused bytes are 0. */
  readonly words: Int32Array;
}

/** Whether this platform stores words in the WAL's byte order (little-endian). */
const WORDS_ARE_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The layout of records of type `type` (its UTF-8 bytes), data codec `codecId`, in stream
 * `streamId` (UTF-8), at `schemaVersion`; undefined where words cannot be used.
 */
export function recordLayout(streamId: Uint8Array, type: Uint8Array, codecId: number, schemaVersion: number): RecordLayout | undefined {
  if (!WORDS_ARE_LITTLE_ENDIAN || !Number.isInteger(schemaVersion) || schemaVersion < 0 || schemaVersion > 0xffff) return undefined;
  // From byte 32: the two u16 string lengths, the u32 metadata length, the stream id, the type.
  const fixed = 8 + streamId.length + type.length;
  const words = new Int32Array(Math.ceil(fixed / 4));
  const bytes = new Uint8Array(words.buffer);
  const view = new DataView(words.buffer);
  view.setUint16(0, streamId.length, true);
  view.setUint16(2, type.length, true);
  // Bytes 4-7, the metadata's length, stay 0: a layout is for records with no metadata.
  bytes.set(streamId, 8);
  bytes.set(type, 8 + streamId.length);
  return { schemaVersion, header: schemaVersion | (codecId << 16), words };
}
