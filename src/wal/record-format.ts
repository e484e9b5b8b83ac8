/**
 * The WAL record: the unit the producer writes into the ring and the writer copies into
 * segment files. Layout, little-endian, 8-byte aligned (see docs/wal-format.md):
 *
 *   0  u32  CRC32C of bytes [4, length)      (filled in by the writer Worker)
 *   4  u32  length: header + body, padding excluded
 *   8  u64  global position
 *  16  u32  stream version
 *  20  u16  schema version of the data
 *  22  u8   data codec (0 = JSON)
 *  23  u8   flags: bit 0 = more records of the same append follow (an append is all or nothing);
 *           bit 1 = the record carries an event id
 *  24  f64  timestamp, ms since the epoch
 *  32  u16  stream id length   34 u16 type length   36 u32 metadata length
 *  40  with bit 1: u8 id length, then the id (UTF-8, 1-255 bytes)
 *      stream id (UTF-8), type (UTF-8), metadata (JSON, UTF-8), data (codec bytes)
 *      zero padding to the next multiple of 8
 */
import { MAX_ID_LENGTH, type StoredRecord, StoredRecordObject } from "../core/events.ts";
import { type CodecTable, type DataCodec, JSON_CODEC_ID } from "./codec.ts";
import { type Checksum, crc32c } from "./crc32c.ts";
import { JsonWriter } from "./json-writer.ts";
import { encodeUtf8 } from "../core/utf8.ts";
import { isMarkerType } from "../core/stream-removal.ts";
import { ID_LENGTH, recentId, writeRecentId } from "../core/uuid-v7.ts";
import { IdDecoder } from "./id-decoder.ts";
import { KnownBytes } from "./known-bytes.ts";
import { LAID_OUT_FROM, type RecordLayout, recordLayout } from "./record-layout.ts";

export const HEADER_BYTES = 40;
export const ALIGNMENT = 8;
export const MAX_STRING_BYTES = 0xffff;

export const paddedLength = (length: number): number => (length + 7) & ~7;

/** Record flag: more records of the same append follow. Recovery keeps an append whole or not at all. */
export const FLAG_MORE = 1;

/** Record flag: an event id follows the header. */
export const FLAG_ID = 2;

/** Bytes between the header and the stream id: the id field, if the record has one. */
const idFieldBytes = (view: DataView, offset: number): number =>
  (view.getUint8(offset + 23) & FLAG_ID) === 0 ? 0 : 1 + view.getUint8(offset + HEADER_BYTES);

/** Where the record's type begins. */
const typeOffset = (view: DataView, offset: number): number => offset + HEADER_BYTES + idFieldBytes(view, offset) + view.getUint16(offset + 32, true);

/** Does the record at `offset` have more records of its append after it? */
export const recordContinues = (view: DataView, offset: number): boolean => (view.getUint8(offset + 23) & FLAG_MORE) !== 0;

const encoder = new TextEncoder();
const EMPTY: Uint8Array = new Uint8Array(0);
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes records into a byte array at given offsets. Strings used again and again
 * (stream ids, event types) are encoded once and cached, and so is each stream's layout
 * of each type (record-layout.ts).
 */
export class RecordEncoder {
  readonly #codecs: CodecTable;
  readonly #streams = new Map<string, EncodedStream>();
  /** The measured record's data and metadata JSON, until its `write`. */
  readonly #dataJson = new JsonWriter();
  readonly #metadataJson = new JsonWriter();
  /** The measured record's id, UTF-8 (3 bytes per UTF-16 unit at most). */
  readonly #idBytes = new Uint8Array(3 * MAX_ID_LENGTH);
  /** Views of the first n bytes of each of the above, to copy from (copyBytes). */
  readonly #dataViews = new LeadingViews();
  readonly #metadataViews = new LeadingViews();
  readonly #idViews = new LeadingViews();

  constructor(codecs: CodecTable) {
    this.#codecs = codecs;
  }

  #lastStreamId = "";
  #lastStream: EncodedStream = { bytes: EMPTY, layouts: [] };

  #stream(streamId: string): EncodedStream {
    let stream = this.#streams.get(streamId);
    if (stream === undefined) {
      if (this.#streams.size >= 10_000) this.#streams.clear();
      stream = { bytes: encoder.encode(streamId), layouts: [] };
      this.#streams.set(streamId, stream);
    }
    this.#lastStreamId = streamId;
    return this.#lastStream = stream;
  }

  /** Each event type's UTF-8 bytes and codec: one lookup per record. */
  readonly #types = new Map<string, EventType>();

  #eventType(type: string): EventType {
    let known = this.#types.get(type);
    if (known === undefined) {
      if (this.#types.size >= 10_000) {
        // The streams' layouts are by type index: they go with the types.
        this.#types.clear();
        this.#streams.clear();
        this.#lastStreamId = "";
      }
      known = { index: this.#types.size, bytes: encoder.encode(type), codec: this.#codecs.forType(type) };
      this.#types.set(type, known);
    }
    return known;
  }

  /**
   * The layout of `eventType`'s records in `stream` at `schemaVersion`: made the first
   * time. Records of another schema version than the first (a scavenge rewriting old
   * ones) have none: they are written field by field.
   */
  #layout(stream: EncodedStream, eventType: EventType, schemaVersion: number): RecordLayout | undefined {
    const layout = stream.layouts[eventType.index];
    if (layout !== undefined) return layout.schemaVersion === schemaVersion ? layout : undefined;
    const codec = eventType.codec === undefined ? JSON_CODEC_ID : eventType.codec.id;
    return stream.layouts[eventType.index] = recordLayout(stream.bytes, eventType.bytes, codec, schemaVersion);
  }

  /**
   * Prepares a record: fills `scratch` with what `write` needs and returns the record's
   * unpadded length, so the caller can reserve room first. Throws RangeError on data it
   * cannot encode. The record's JSON waits in the encoder: `write` it before measuring
   * another record. `back`: for a record whose id may just have been generated, how many
   * ids ago (the i-th of an append's n records: n - i; see uuid-v7.ts `recentId`).
   */
  measure(record: StoredRecord, scratch: EncodePlan, back = 0): number {
    // The type first: a new one may clear the streams (#eventType).
    const eventType = this.#eventType(record.type);
    const stream = record.streamId === this.#lastStreamId ? this.#lastStream : this.#stream(record.streamId);
    const streamId = stream.bytes;
    const type = eventType.bytes;
    if (streamId.length > MAX_STRING_BYTES) throw new RangeError(`stream id is longer than ${MAX_STRING_BYTES} bytes`);
    if (type.length > MAX_STRING_BYTES) throw new RangeError(`event type is longer than ${MAX_STRING_BYTES} bytes`);
    scratch.streamId = streamId;
    scratch.type = type;
    scratch.idSlot = -1;
    if (record.id === undefined) scratch.idLength = 0;
    else if ((scratch.idSlot = recentId(record.id, back)) >= 0) scratch.idLength = ID_LENGTH; // the generator keeps its bytes
    else {
      // Encoded here, once (more UTF-16 units than MAX_ID_LENGTH are more bytes, too).
      const id = record.id;
      scratch.idLength = id.length > MAX_ID_LENGTH ? MAX_ID_LENGTH + 1 : encodeUtf8(id, this.#idBytes, 0);
      if (scratch.idLength === 0 || scratch.idLength > MAX_ID_LENGTH) throw new RangeError(`event id must be 1 to ${MAX_ID_LENGTH} bytes`);
    }
    // Metadata is an object (the store checks), so it always has JSON.
    scratch.metadataLength = record.metadata === undefined ? 0 : this.#metadataJson.write(record.metadata);
    const codec = eventType.codec;
    scratch.codec = codec;
    if (codec) scratch.dataLength = codec.byteLength(record.data);
    else {
      scratch.dataLength = this.#dataJson.write(record.data);
      if (scratch.dataLength < 0) throw new RangeError(`data of "${record.type}" is not JSON-compatible`);
    }
    const idField = scratch.idLength === 0 ? 0 : 1 + scratch.idLength;
    scratch.layout = idField === 0 && scratch.metadataLength === 0 ? this.#layout(stream, eventType, record.schemaVersion) : undefined;
    return HEADER_BYTES + idField + streamId.length + type.length + scratch.metadataLength + scratch.dataLength;
  }

  /** Writes a measured record at `offset` (CRC left 0) and zero-fills its padding. */
  write(
    record: StoredRecord,
    plan: EncodePlan,
    bytes: Uint8Array,
    view: DataView,
    offset: number,
    length: number,
    more = false,
  ): void {
    if (plan.layout !== undefined && (offset & 7) === 0) {
      const words = this.#wordsOf(bytes);
      // Typed-array stores past the end are dropped without an error: words only where the
      // whole record fits (the caller reserved its room; a buffer detached since has none).
      if (words !== undefined && offset + paddedLength(length) <= words.length * 4) {
        return this.#writeLaidOut(record, plan, plan.layout, bytes, words, view, offset, length, more);
      }
    }
    view.setUint32(offset, 0, true);
    view.setUint32(offset + 4, length, true);
    // Low and high halves of the u64 (`>>> 0` takes the low 32 bits of a safe integer; a float `%` costs more).
    const low = record.position >>> 0;
    view.setUint32(offset + 8, low, true);
    view.setUint32(offset + 12, (record.position - low) / 0x1_0000_0000, true);
    view.setUint32(offset + 16, record.streamVersion, true);
    view.setUint16(offset + 20, record.schemaVersion, true);
    view.setUint8(offset + 22, plan.codec === undefined ? JSON_CODEC_ID : plan.codec.id);
    view.setUint8(offset + 23, (more ? FLAG_MORE : 0) | (plan.idLength === 0 ? 0 : FLAG_ID));
    view.setFloat64(offset + 24, record.timestamp, true);
    view.setUint16(offset + 32, plan.streamId.length, true);
    view.setUint16(offset + 34, plan.type.length, true);
    view.setUint32(offset + 36, plan.metadataLength, true);
    let at = offset + HEADER_BYTES;
    if (plan.idLength !== 0) {
      bytes[at] = plan.idLength;
      if (plan.idSlot >= 0) writeRecentId(plan.idSlot, bytes, at + 1);
      else copyBytes(this.#idViews, this.#idBytes, plan.idLength, bytes, at + 1);
      at += 1 + plan.idLength;
    }
    at = copyBytes(undefined, plan.streamId, plan.streamId.length, bytes, at);
    at = copyBytes(undefined, plan.type, plan.type.length, bytes, at);
    if (plan.metadataLength > 0) at = copyBytes(this.#metadataViews, this.#metadataJson.bytes, plan.metadataLength, bytes, at);
    if (plan.codec === undefined) copyBytes(this.#dataViews, this.#dataJson.bytes, plan.dataLength, bytes, at);
    else plan.codec.encode(record.data, view, at);
    at += plan.dataLength;
    const end = offset + paddedLength(length);
    for (; at < end; at++) bytes[at] = 0;
  }

  /** The bytes `write` last wrote into, and their words (a view kept: making one per record costs). */
  #wordsFor: Uint8Array | undefined;
  #words: Int32Array<ArrayBufferLike> = new Int32Array(0);

  /** `bytes` as 32-bit words, if it starts on a word. */
  #wordsOf(bytes: Uint8Array): Int32Array<ArrayBufferLike> | undefined {
    if (bytes === this.#wordsFor) return this.#words;
    if ((bytes.byteOffset & 3) !== 0) return undefined;
    this.#wordsFor = bytes;
    return this.#words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  }

  /** `write` of a record with a layout (record-layout.ts), at an offset on 8 bytes. */
  #writeLaidOut(
    record: StoredRecord,
    plan: EncodePlan,
    layout: RecordLayout,
    bytes: Uint8Array,
    words: Int32Array<ArrayBufferLike>,
    view: DataView,
    offset: number,
    length: number,
    more: boolean,
  ): void {
    const word = offset >> 2;
    // The padding first: zeros over the last 8 bytes, which the data then overwrites as far as it reaches.
    const end = (offset + paddedLength(length)) >> 2;
    words[end - 2] = 0;
    words[end - 1] = 0;
    words[word] = 0; // the CRC, the writer's
    words[word + 1] = length;
    const low = record.position >>> 0;
    words[word + 2] = low;
    words[word + 3] = (record.position - low) / 0x1_0000_0000;
    words[word + 4] = record.streamVersion;
    words[word + 5] = more ? layout.header | (FLAG_MORE << 24) : layout.header;
    view.setFloat64(offset + 24, record.timestamp, true);
    const laid = layout.words;
    const from = word + LAID_OUT_FROM / 4;
    for (let i = 0; i < laid.length; i++) words[from + i] = laid[i]!;
    // The last word laid may reach past the type into the data's first bytes (as zeros): the data comes after.
    const at = offset + HEADER_BYTES + plan.streamId.length + plan.type.length;
    if (plan.codec === undefined) copyBytes(this.#dataViews, this.#dataJson.bytes, plan.dataLength, bytes, at);
    else plan.codec.encode(record.data, view, at);
  }
}


/**
 * Copies `source[0, length)` into `bytes` at `at`; returns where it ends. Stream ids and
 * types are a few bytes: a loop beats `Uint8Array.set`'s call on them. Longer ones (ids,
 * JSON) are one `set`, from a view of exactly `length` bytes (`views`, for a source longer
 * than that).
 */
function copyBytes(views: LeadingViews | undefined, source: Uint8Array, length: number, bytes: Uint8Array, at: number): number {
  if (length < SET_FROM) for (let i = 0; i < length; i++) bytes[at + i] = source[i]!;
  else bytes.set(length === source.length ? source : views!.of(source, length), at);
  return at + length;
}

/** The length from which `set` copies faster than a loop (measured on Node 20, Deno, Bun). */
const SET_FROM = 16;
/** The longest view LeadingViews keeps. */
const MAX_KEPT_VIEW = 4096;

/**
 * Views of a buffer's first n bytes, made once per n: `Uint8Array.set` copies all of its
 * source, and a `subarray` per copy is an allocation.
 */
class LeadingViews {
  #buffer: Uint8Array | undefined;
  #views: Uint8Array[] = new Array(MAX_KEPT_VIEW + 1);

  of(buffer: Uint8Array, length: number): Uint8Array {
    if (length > MAX_KEPT_VIEW) return buffer.subarray(0, length);
    // A writer's buffer is replaced when it grows.
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.#views = new Array(MAX_KEPT_VIEW + 1);
    }
    return this.#views[length] ??= buffer.subarray(0, length);
  }
}

/** Scratch space for one record between `measure` and `write` (reused, no allocation). */
export interface EncodePlan {
  /** UTF-8 bytes of the event id (0: none). */
  idLength: number;
  /** Where the generator keeps the id's bytes (uuid-v7.ts `recentId`), or -1. */
  idSlot: number;
  streamId: Uint8Array;
  type: Uint8Array;
  metadataLength: number;
  /** The data's fixed-layout codec; undefined: JSON. */
  codec: DataCodec | undefined;
  dataLength: number;
  /** What the record has in common with the others of its stream and type, if anything (record-layout.ts). */
  layout: RecordLayout | undefined;
}

/** An event type as the encoder meets it again and again. */
interface EventType {
  /** Its place in the encoder's types: where streams keep their layouts of it. */
  index: number;
  bytes: Uint8Array;
  codec: DataCodec | undefined;
}

/** A stream as the encoder meets it again and again: its id's UTF-8, its layouts by type index. */
interface EncodedStream {
  bytes: Uint8Array;
  layouts: (RecordLayout | undefined)[];
}

export const newPlan = (): EncodePlan => ({
  idLength: 0, idSlot: -1, streamId: EMPTY, type: EMPTY, metadataLength: 0, codec: undefined, dataLength: 0, layout: undefined,
});

/** Computes and stores the CRC of the record at `offset` of `view`, `checksum` being bound to its bytes (the writer does this). */
export function sealRecord(view: DataView, offset: number, checksum: Checksum): void {
  const length = view.getUint32(offset + 4, true);
  view.setUint32(offset, checksum(offset + 4, offset + length), true);
}

/** Why a record at some offset could not be read. */
export type RecordProblem = "truncated" | "zero" | "bad-length" | "bad-checksum";

/**
 * Checks the frame of the record at `offset` of `bytes[0, end)`; returns its length or the
 * problem. Its checksum is not computed again if `offset` is below `verified`, the end of
 * the records whose checksums `verifiedRecordsEnd` found to hold (from the same start).
 */
export function checkRecord(bytes: Uint8Array, view: DataView, offset: number, end: number, verified = 0): number | RecordProblem {
  if (offset + 8 > end) return "truncated";
  const crc = view.getUint32(offset, true);
  const length = view.getUint32(offset + 4, true);
  if (length === 0 && crc === 0) return "zero";
  if (length < HEADER_BYTES) return "bad-length";
  // The length must not send the reader past the end of what was read.
  if (offset + length > end) return "truncated";
  if (offset >= verified && crc32c(bytes, offset + 4, offset + length) !== crc) return "bad-checksum";
  if ((view.getUint8(offset + 23) & FLAG_ID) !== 0 && HEADER_BYTES + 2 > length) return "bad-length";
  const strings = idFieldBytes(view, offset) + view.getUint16(offset + 32, true) + view.getUint16(offset + 34, true) +
    view.getUint32(offset + 36, true);
  if (HEADER_BYTES + strings > length) return "bad-length";
  return length;
}

export const recordStreamVersion = (view: DataView, offset: number): number => view.getUint32(offset + 16, true);

export function recordPosition(view: DataView, offset: number): number {
  return view.getUint32(offset + 8, true) + view.getUint32(offset + 12, true) * 0x1_0000_0000;
}

const MAX_CACHED_TYPES = 256;

/** An event type met in records: its bytes and its string. */
interface KnownType {
  bytes: KnownBytes;
  text: string;
}

/** Decodes the strings and data of a record whose frame `checkRecord` accepted. */
export class RecordDecoder {
  readonly #codecs: CodecTable;
  readonly #types: KnownType[] = [];
  /** The type each fixed-layout codec's records last had (a codec serves one type): checked first. */
  readonly #codecTypes: (KnownType | undefined)[] = [];
  readonly #ids = new IdDecoder();
  #lastStreamId = "";
  #lastStreamIdBytes?: KnownBytes;
  /** decodeLent's one record, and its data object per codec id. */
  #lent?: StoredRecord;
  readonly #lentData: unknown[] = [];

  constructor(codecs: CodecTable) {
    this.#codecs = codecs;
  }

  /** Only the stream id of a record (what recovery needs for the index). */
  streamIdOf(bytes: Uint8Array, view: DataView, offset: number): string {
    return this.#streamId(bytes, view, offset + HEADER_BYTES + idFieldBytes(view, offset), view.getUint16(offset + 32, true));
  }

  /** Whether the record is a stream-removal marker (recovery reports them: the store reads them at open). */
  isMarker(bytes: Uint8Array, view: DataView, offset: number): boolean {
    // Only the store's own types begin with "$": decode the type of those alone.
    return bytes[typeOffset(view, offset)] === 36 && isMarkerType(this.typeOf(bytes, view, offset));
  }

  /** Only the event type of a record. */
  typeOf(bytes: Uint8Array, view: DataView, offset: number): string {
    const at = typeOffset(view, offset);
    return decoder.decode(bytes.subarray(at, at + view.getUint16(offset + 34, true)));
  }

  /**
   * Decodes the record at `offset`, whose frame `checkRecord` accepted. Bytes it cannot
   * accept (bad UTF-8, bad JSON, an unknown codec, a codec's refusal) throw RangeError,
   * and nothing else.
   */
  decode(bytes: Uint8Array, view: DataView, offset: number): StoredRecord {
    return this.#decodeOrThrow(bytes, view, offset, false);
  }

  /**
   * Decodes like `decode`, but into one record object this decoder keeps, refilled at each
   * call (its `id` is set, undefined if the record has none), and the data into one object
   * per codec where the codec can refill one (DataCodec.decodeInto): for readers that keep
   * nothing of a record past their look at it (StorageAdapter.readEach). A replay then
   * makes no record object, boxed timestamp or data object per event.
   */
  decodeLent(bytes: Uint8Array, view: DataView, offset: number): StoredRecord {
    return this.#decodeOrThrow(bytes, view, offset, true);
  }

  #decodeOrThrow(bytes: Uint8Array, view: DataView, offset: number, lent: boolean): StoredRecord {
    try {
      return this.#decode(bytes, view, offset, lent);
    } catch (error) {
      if (error instanceof RangeError) throw error;
      throw new RangeError(`record at offset ${offset} cannot be decoded: ${(error as Error).message}`, { cause: error });
    }
  }

  #decode(bytes: Uint8Array, view: DataView, offset: number, lent: boolean): StoredRecord {
    const length = view.getUint32(offset + 4, true);
    const streamIdLength = view.getUint16(offset + 32, true);
    const typeLength = view.getUint16(offset + 34, true);
    const metadataLength = view.getUint32(offset + 36, true);
    let at = offset + HEADER_BYTES;
    let id: string | undefined;
    if ((view.getUint8(offset + 23) & FLAG_ID) !== 0) {
      const idLength = bytes[at]!;
      id = this.#ids.decode(bytes, view, at + 1, idLength);
      at += 1 + idLength;
    }
    const streamId = this.#streamId(bytes, view, at, streamIdLength);
    at += streamIdLength;
    const codecId = view.getUint8(offset + 22);
    const type = this.#type(bytes, view, at, typeLength, codecId);
    at += typeLength;
    const metadata = metadataLength === 0 ? undefined : JSON.parse(decoder.decode(bytes.subarray(at, at + metadataLength)));
    at += metadataLength;
    const dataLength = offset + length - at;
    let data: unknown;
    if (codecId === JSON_CODEC_ID) data = JSON.parse(decoder.decode(bytes.subarray(at, at + dataLength)));
    else {
      const codec = this.#codecs.forId(codecId);
      if (codec === undefined) throw new RangeError(`record uses data codec ${codecId}, which is not registered`);
      const refill = lent && codec.decodeInto !== undefined ? this.#lentData[codecId] : undefined;
      data = refill === undefined ? codec.decode(view, at, dataLength) : codec.decodeInto!(view, at, dataLength, refill);
      if (lent) this.#lentData[codecId] = data;
    }
    const schemaVersion = view.getUint16(offset + 20, true);
    const streamVersion = view.getUint32(offset + 16, true);
    const position = recordPosition(view, offset);
    const timestamp = view.getFloat64(offset + 24, true);
    const record = lent ? this.#lent : undefined;
    if (record === undefined) {
      const made = new StoredRecordObject(type, data, metadata, schemaVersion, streamId, streamVersion, position, timestamp, id);
      if (lent) this.#lent = made;
      return made;
    }
    // Refilled field by field, in the constructor's order (one hidden class throughout), as
    // events.ts refillRecord does, inline: through it, a first replay was slower. Calling
    // the constructor's function on it instead (initRecord.call) was slower too:
    // Node, a replay of 2.13 M events, 580-610 against 605-650 ms a load (3 pairs).
    record.type = type;
    record.data = data;
    record.metadata = metadata;
    record.schemaVersion = schemaVersion;
    record.streamId = streamId;
    record.streamVersion = streamVersion;
    record.position = position;
    record.timestamp = timestamp;
    record.id = id;
    return record;
  }

  /**
   * Event types are few: keep each one's bytes and string, and compare bytes instead of
   * decoding; a record of a fixed-layout codec is first compared with its codec's type.
   */
  #type(bytes: Uint8Array, view: DataView, at: number, length: number, codecId: number): string {
    const likely = this.#codecTypes[codecId];
    if (likely !== undefined && likely.bytes.length === length && likely.bytes.matches(bytes, view, at)) return likely.text;
    const known = this.#types;
    let found: KnownType | undefined;
    for (let k = 0; k < known.length && found === undefined; k++) {
      const candidate = known[k]!;
      if (candidate.bytes.length === length && candidate.bytes.matches(bytes, view, at)) found = candidate;
    }
    if (found === undefined) {
      found = { bytes: new KnownBytes(bytes, view, at, length), text: decoder.decode(bytes.subarray(at, at + length)) };
      if (known.length < MAX_CACHED_TYPES) known.push(found);
    }
    if (codecId !== JSON_CODEC_ID) this.#codecTypes[codecId] = found;
    return found.text;
  }

  /** Stream ids repeat from record to record: reuse the last string when the bytes match. */
  #streamId(bytes: Uint8Array, view: DataView, at: number, length: number): string {
    const last = this.#lastStreamIdBytes;
    if (last !== undefined && last.length === length && last.matches(bytes, view, at)) return this.#lastStreamId;
    this.#lastStreamId = decoder.decode(bytes.subarray(at, at + length));
    this.#lastStreamIdBytes = new KnownBytes(bytes, view, at, length);
    return this.#lastStreamId;
  }
}
