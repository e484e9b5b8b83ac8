/**
 * Reads a WAL directory without opening it for writing: no lock, no writer Worker, nothing
 * changed on disk — safe on a log another process is writing, or on a damaged one. What
 * the CLI's inspect, verify, dump and replay stand on. Only the valid prefix is read; the
 * first problem (a torn tail open would cut, or corruption open would refuse) is reported.
 */
import { StreamRemovals } from "../core/stream-removal.ts";
import type { StoredRecord } from "../core/events.ts";
import { type DataCodec, CodecTable } from "./codec.ts";
import type { FileSystem } from "./file-system.ts";
import { ReadWindow } from "./read-window.ts";
import { RecordDecoder } from "./record-format.ts";
import { type Recovered, recover, type SegmentIndex } from "./recovery.ts";
import { SegmentReader } from "./segment-reader.ts";

export class LogReader {
  readonly directory: string;
  /** Segments, head position and the first problem, as a read-only recovery scan found them. */
  readonly scan: Recovered;
  readonly #codecs: CodecTable;
  /** Positions of the stream-removal markers. */
  readonly #markers: number[] = [];
  /** Reads the scanned segments back through the window the scan read them through. */
  readonly #reader: SegmentReader;

  constructor(fs: FileSystem, directory: string, codecs: readonly DataCodec[] = []) {
    this.directory = directory;
    this.#codecs = new CodecTable(codecs);
    const window = new ReadWindow();
    this.scan = recover(fs, directory, new RecordDecoder(this.#codecs), {
      readOnly: true,
      window,
      onRecord: (_streamId, _version, position, marker) => marker && this.#markers.push(position),
    });
    this.#reader = new SegmentReader(fs, directory, this.scan.segments, window);
  }

  /** What the log's stream-removal markers removed (reads and folds leave it out). */
  removals(): StreamRemovals {
    const removals = new StreamRemovals();
    const decoder = new RecordDecoder(this.#codecs);
    try {
      for (const position of this.#markers) removals.apply(this.#reader.records(position, position, decoder)[0]!);
    } finally {
      this.#reader.close(); // its file handles: the reader opens them again if read again
    }
    return removals;
  }

  get headPosition(): number {
    return this.scan.headPosition;
  }

  get segments(): readonly SegmentIndex[] {
    return this.scan.segments;
  }

  /**
   * Calls `visit` with each valid record from position `from` on, in order, decoded (not
   * upcast); with `lent`, in one record object refilled for the next (RecordDecoder.decodeLent),
   * for readers that keep nothing of them. Read as the WAL's own reads are (segment-reader.ts):
   * through one read window, the checksums checked a window at a time. A segment changed
   * since the scan (another process repairing it) is a StorageError.
   */
  each(visit: (record: StoredRecord) => void, options: { from?: number; lent?: boolean } = {}): void {
    try {
      this.#reader.each(options.from ?? 1, this.headPosition, new RecordDecoder(this.#codecs), options.lent ?? false, visit);
    } finally {
      this.#reader.close();
    }
  }
}
