/**
 * Reads a WAL directory without opening it for writing: no lock, no writer Worker, nothing
 * changed on disk — safe on a log another process is writing, or on a damaged one. What
 * the CLI's inspect, verify, dump and replay stand on. Only the valid prefix is read; the
 * first problem (a torn tail open would cut, or corruption open would refuse) is reported.
 */
import { StreamRemovals } from "../core/stream-removal.ts";
import type { StoredRecord } from "../core/events.ts";
import { type DataCodec, CodecTable } from "./codec.ts";
import { type FileSystem, joinPath } from "./file-system.ts";
import { checkRecord, paddedLength, RecordDecoder, recordPosition } from "./record-format.ts";
import { type Recovered, recover, type SegmentIndex, SPARSE_EVERY } from "./recovery.ts";

export class LogReader {
  readonly directory: string;
  /** Segments, head position and the first problem, as a read-only recovery scan found them. */
  readonly scan: Recovered;
  readonly #fs: FileSystem;
  readonly #codecs: CodecTable;
  /** Positions of the stream-removal markers. */
  readonly #markers: number[] = [];

  constructor(fs: FileSystem, directory: string, codecs: readonly DataCodec[] = []) {
    this.#fs = fs;
    this.directory = directory;
    this.#codecs = new CodecTable(codecs);
    this.scan = recover(fs, directory, new RecordDecoder(this.#codecs), {
      readOnly: true,
      onRecord: (_streamId, _version, position, marker) => marker && this.#markers.push(position),
    });
  }

  /** What the log's stream-removal markers removed (reads and folds leave it out). */
  removals(): StreamRemovals {
    const removals = new StreamRemovals();
    const decoder = new RecordDecoder(this.#codecs);
    // Markers come in position order: each segment holding some is read once.
    let segment: SegmentIndex | undefined;
    let bytes: Uint8Array = new Uint8Array(0);
    for (const position of this.#markers) {
      if (segment === undefined || position >= segment.firstPosition + segment.records) {
        segment = this.scan.segments.find((s) => position < s.firstPosition + s.records)!;
        bytes = this.#fs.readFile(joinPath(this.directory, segment.name));
      }
      for (const record of this.#segmentRecords(segment, bytes, position, position, decoder)) removals.apply(record);
    }
    return removals;
  }

  get headPosition(): number {
    return this.scan.headPosition;
  }

  get segments(): readonly SegmentIndex[] {
    return this.scan.segments;
  }

  /** The valid records from position `from` on, in order, decoded (not upcast). */
  *records(from = 1): Generator<StoredRecord> {
    const decoder = new RecordDecoder(this.#codecs);
    for (const segment of this.scan.segments) {
      const last = segment.firstPosition + segment.records - 1;
      if (segment.records === 0 || last < from) continue;
      yield* this.#segmentRecords(segment, this.#fs.readFile(joinPath(this.directory, segment.name)), from, last, decoder);
    }
  }

  /** The records `from..to` of a segment whose bytes are `bytes`, walked from the sparse entry before `from`. */
  *#segmentRecords(segment: SegmentIndex, bytes: Uint8Array, from: number, to: number, decoder: RecordDecoder): Generator<StoredRecord> {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const skip = Math.max(0, from - segment.firstPosition);
    const k = Math.floor(skip / SPARSE_EVERY);
    let offset = segment.sparse[k];
    for (let position = segment.firstPosition + k * SPARSE_EVERY; position <= to; position++) {
      const length = checkRecord(bytes, view, offset, segment.bytes);
      if (typeof length !== "number" || recordPosition(view, offset) !== position) {
        throw new Error(`${segment.name} changed while being read (offset ${offset})`);
      }
      if (position >= from) yield decoder.decode(bytes, view, offset);
      offset += paddedLength(length);
    }
  }
}
