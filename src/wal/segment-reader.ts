/**
 * Reading written records back from the segment files: decoded (`records`, for the store's
 * reads and replays) or as they are on disk (`encoded`, for a replica). The WAL storage
 * (wal-storage.ts) waits until what is asked for is written, then reads through here.
 *
 * Each segment's index keeps the file offset of every SPARSE_EVERY-th record (recovery.ts):
 * a read seeks to the entry at or before the first record wanted and walks the lengths
 * from there. Decoded reads go through the one read window (read-window.ts), whose
 * records' checksums are checked a window at a time (crc32c.wat).
 */
import { StorageError } from "../core/errors.ts";
import type { StoredRecord } from "../core/events.ts";
import { verifiedRecordsEnd } from "./crc32c.ts";
import { concat } from "./encoded-tap.ts";
import { type FileHandle, type FileSystem, joinPath } from "./file-system.ts";
import { type ReadAheadRange, ReadAheadStream, type Span, type SpawnReadAhead } from "./read-ahead.ts";
import type { ReadWindow } from "./read-window.ts";
import { checkRecord, paddedLength, type RecordDecoder, recordPosition } from "./record-format.ts";
import { type SegmentIndex, SPARSE_EVERY } from "./recovery.ts";
import { SEGMENT_HEADER_BYTES } from "./segment.ts";

/**
 * Reads of at least this many records, one continuing the other, start a read-ahead
 * (read-ahead.ts) for the reads that follow: a replay's chunks (the event store reads in
 * chunks of 65,536), not a catch-up's pages.
 */
const READ_AHEAD_RECORDS = 16_384;

/** What a reader needs to read ahead on a second thread. */
export interface ReadAheadSource {
  spawn: SpawnReadAhead;
  /** Module whose default export is the FileSystem, for the thread. */
  fileSystemModule: string;
  /** The last position in the files (later ones may be being written). */
  written(): number;
}

export class SegmentReader {
  /** A reader per segment read so far, kept open for the next read. */
  readonly #readers = new Map<string, FileHandle>();
  /** The read-ahead serving the current stream of reads, if one is running. */
  #ahead?: ReadAheadStream;
  /** Where a read continuing the last one starts. */
  #nextFrom = 0;
  /** Spans of records the read-ahead served so far (for tests and diagnostics). */
  spansReadAhead = 0;

  /**
   * Reads the files of `directory`, whose segments are `segments` (the storage's own list:
   * it grows as the writer starts new segments), decoding through `window`; with
   * `readAhead`, long runs of reads are read ahead on a second thread.
   */
  constructor(
    private readonly fs: FileSystem,
    private readonly directory: string,
    private readonly segments: SegmentIndex[],
    private readonly window: ReadWindow,
    private readAhead?: ReadAheadSource,
  ) {}

  /** The records `from..to` (all written), decoded; StorageError names the first that does not check. */
  records(from: number, to: number, decoder: RecordDecoder): StoredRecord[] {
    // Sized once: an array grown by push is copied as it grows, garbage on every replay.
    const result: StoredRecord[] = new Array(to - Math.max(from, 1) + 1);
    let filled = 0;
    this.each(from, to, decoder, false, (record) => {
      result[filled++] = record;
    });
    return result;
  }

  /**
   * Calls `visit` with each record `from..to` (all written), in order: decoded, or with
   * `lent`, decoded into the decoder's one record (RecordDecoder.decodeLent).
   * StorageError names the first record that does not check.
   */
  each(from: number, to: number, decoder: RecordDecoder, lent: boolean, visit: (record: StoredRecord) => void): void {
    // Records are decoded from the window's bytes while `visit` runs, and nothing else can
    // read into the window meanwhile: every reader of it (the storage's reads, its
    // checkpoint) awaits before it reads, and this walk awaits nothing.
    const ahead = this.#followReads(from, to);
    for (let position = Math.max(from, 1); position <= to;) {
      let span = ahead?.span(position, to);
      if (span !== undefined) this.spansReadAhead++;
      else span = this.#span(position, to, this.window);
      const { segment, first, last, start, bytes, view } = span;
      let offset = 0;
      const verified = span.verified ?? verifiedRecordsEnd(bytes, 0, bytes.length, last - first + 1);
      for (let p = first; p <= last; p++) {
        const length = checkRecord(bytes, view, offset, bytes.length, verified);
        if (typeof length !== "number" || recordPosition(view, offset) !== p) {
          const problem = typeof length === "number" ? `it holds position ${recordPosition(view, offset)}: the file changed since it was indexed` : length;
          throw new StorageError(
            `WAL record at position ${p} failed to read back (${problem}): run \`eventfold verify\`, and \`eventfold repair\` to keep the valid prefix`,
            { file: joinPath(this.directory, segment.name), offset: start + offset },
          );
        }
        if (p >= position) visit(lent ? decoder.decodeLent(bytes, view, offset) : decoder.decode(bytes, view, offset));
        offset += paddedLength(length);
      }
      position = last + 1;
    }
  }

  /**
   * The read-ahead for a read of `from..to`: the running one if this read continues the
   * last; else, if this one is long and continues the last, a new one for the reads after
   * it (this one is read here while its thread starts). A read-ahead that failed is not
   * tried again.
   */
  #followReads(from: number, to: number): ReadAheadStream | undefined {
    const continues = from === this.#nextFrom;
    this.#nextFrom = to + 1;
    let ahead = this.#ahead;
    if (ahead !== undefined && (ahead.state !== "running" || !continues)) {
      if (ahead.state === "failed") this.readAhead = undefined;
      this.#stopReadAhead();
      ahead = undefined;
    }
    if (ahead === undefined && continues && to - from + 1 >= READ_AHEAD_RECORDS && this.readAhead !== undefined) {
      this.#ahead = this.#startReadAhead(this.readAhead, to + 1);
    }
    return ahead;
  }

  /** A read-ahead of the written records from `position` on, if there are any. */
  #startReadAhead(source: ReadAheadSource, position: number): ReadAheadStream | undefined {
    const written = source.written();
    const lastSegment = this.segments.at(-1);
    if (lastSegment === undefined || position > Math.min(written, lastSegment.firstPosition + lastSegment.records - 1)) return undefined;
    const segments = this.segments.slice(this.#segmentIndexOf(position));
    const segment = segments[0]!;
    const k = Math.floor((position - segment.firstPosition) / SPARSE_EVERY);
    const ranges: ReadAheadRange[] = [];
    for (const [i, each] of segments.entries()) {
      const first = i === 0 ? segment.firstPosition + k * SPARSE_EVERY : each.firstPosition;
      const last = Math.min(written, each.firstPosition + each.records - 1);
      if (last < first) break;
      ranges.push({ path: joinPath(this.directory, each.name), start: i === 0 ? segment.sparse[k]! : SEGMENT_HEADER_BYTES, first, last });
    }
    try {
      return new ReadAheadStream(source.spawn, source.fileSystemModule, segments.slice(0, ranges.length), ranges);
    } catch {
      // No thread to be had (no memory to share, a runtime refusing workers): the reads are
      // this thread's, as they are without a read-ahead; nothing was read or changed.
      this.readAhead = undefined;
      return undefined;
    }
  }

  #stopReadAhead(): void {
    this.#ahead?.close();
    this.#ahead = undefined;
  }

  /** The records `from..to` (all written) as they are in the files, one after the other. */
  encoded(from: number, to: number): Uint8Array {
    const pieces: Uint8Array[] = [];
    for (let position = from; position <= to;) {
      const { segment, first, last, start, bytes, view } = this.#span(position, to);
      // Walk the lengths from the sparse entry to the records wanted.
      let offset = 0;
      let begin = 0;
      for (let p = first; p <= last; p++) {
        if (p === position) begin = offset;
        const end = offset + 8 > bytes.length ? Infinity : offset + paddedLength(view.getUint32(offset + 4, true));
        if (end > bytes.length) {
          throw new StorageError(`WAL segment is shorter than its index at position ${p}`, { file: joinPath(this.directory, segment.name), offset: start + offset });
        }
        offset = end;
      }
      pieces.push(bytes.subarray(begin, offset));
      position = last + 1;
    }
    return concat(pieces);
  }

  /**
   * Bytes `start..end` of a segment file, or as many as it has, in a buffer of their own;
   * with `window`, in the window's (valid until its next read: for reads that decode what
   * they keep before anything else reads).
   */
  bytes(segment: SegmentIndex, start: number, end: number, window?: ReadWindow): Uint8Array {
    let reader = this.#readers.get(segment.name);
    if (reader === undefined) {
      reader = this.fs.openRead(joinPath(this.directory, segment.name));
      this.#readers.set(segment.name, reader);
    }
    // The span asked for may run past what is written (it ends where the index's next
    // entry starts, or where records still in the ring will end): take what is there, and
    // let the caller check that the records it wants are whole.
    if (window !== undefined) return window.read(reader, start, end - start);
    const bytes = new Uint8Array(end - start);
    return bytes.subarray(0, reader.readAt(bytes, start));
  }

  /**
   * The bytes of `position`'s segment from the index entry at or before it (the record at
   * `first`) to the entry after the last record wanted there (`last`, at most `to`), and
   * where they start in the file. Through a window, at most a window's bytes (but one
   * index entry's records at least): a longer read takes a buffer of its own, whose every
   * page faults in, and whose checksums are checked in JavaScript (read-window.ts).
   */
  #span(position: number, to: number, window?: ReadWindow): Span {
    const segment = this.#segmentOf(position);
    const sparse = segment.sparse;
    const k = Math.floor((position - segment.firstPosition) / SPARSE_EVERY);
    const start = sparse[k]!;
    const endOf = (entry: number) => entry < sparse.length ? sparse[entry]! : segment.bytes;
    const wanted = Math.min(to, segment.firstPosition + segment.records - 1);
    let endK = Math.floor((wanted - segment.firstPosition) / SPARSE_EVERY) + 1;
    if (window !== undefined) {
      let low = k + 1;
      while (low < endK) {
        const middle = (low + endK + 1) >> 1;
        if (endOf(middle) - start <= window.bytes) low = middle;
        else endK = middle - 1;
      }
    }
    const last = Math.min(wanted, segment.firstPosition + endK * SPARSE_EVERY - 1);
    const bytes = this.bytes(segment, start, endOf(endK), window);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { segment, first: segment.firstPosition + k * SPARSE_EVERY, last, start, bytes, view };
  }

  /** Closes the file handles it opened (the storage at close, the log reader after each read); a later read opens them again. */
  close(): void {
    this.#stopReadAhead();
    this.#nextFrom = 0;
    for (const reader of this.#readers.values()) reader.close();
    this.#readers.clear();
  }

  #segmentOf(position: number): SegmentIndex {
    return this.segments[this.#segmentIndexOf(position)];
  }

  /** Index in `segments` of the segment holding `position` (binary search). */
  #segmentIndexOf(position: number): number {
    const segments = this.segments;
    let low = 0;
    let high = segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (segments[middle].firstPosition <= position) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}
