/**
 * The last records appended, where the ring still has them (StorageAdapter.keepRecent):
 * the store's event buffer reads its newest events from here, decoded on demand, instead
 * of keeping an object for each (src/core/event-buffer.ts says why).
 *
 * A record is found by where it begins in the ring, counted in bytes since the WAL opened
 * (a double: exact up to 2^53 bytes, so it never wraps as the ring's uint32 cursor does).
 * The producer writes the ring in order and comes back to a byte one ring's length after
 * it wrote it, so a record is intact while its start is within the last `ringBytes`
 * bytes written; by then the writer has long copied it to its segment (the producer waits
 * for that before it reuses space). Only the producer's thread reads here, and the writer
 * touches nothing of a record but its CRC field, which decoding does not read.
 */
import type { HeldRecords } from "../core/event-buffer.ts";
import type { StoredRecord } from "../core/events.ts";
import type { RecordDecoder } from "./record-format.ts";

/** See the module comment. */
export class RingRecords implements HeldRecords<StoredRecord> {
  /** Where each of the last `count` records begins, by position modulo count. */
  readonly #starts: Float64Array;
  readonly #decoder: RecordDecoder;
  readonly #ringBytes: number;
  readonly #written: () => number;
  #bytes: Uint8Array | undefined;
  #view: DataView | undefined;
  /** The newest position noted (0: none yet). */
  #newest = 0;
  /** No record before this one is intact (only moves forward). */
  #oldest = 0;

  /** The last `count` records of a ring of `ringBytes`; `written` counts the bytes the producer has written into it. */
  constructor(count: number, ringBytes: number, decoder: RecordDecoder, written: () => number) {
    this.#starts = new Float64Array(count);
    this.#ringBytes = ringBytes;
    this.#decoder = decoder;
    this.#written = written;
  }

  /** The ring, once the WAL has opened it. */
  attach(bytes: Uint8Array, view: DataView): void {
    this.#bytes = bytes;
    this.#view = view;
  }

  /**
   * The record at `position` begins `start` bytes into what was written. An append that
   * failed before it was published is written again at the same positions and places.
   */
  note(position: number, start: number): void {
    if (this.#newest === 0) this.#oldest = position;
    this.#starts[position % this.#starts.length] = start;
    this.#newest = position;
  }

  oldest(): number {
    if (this.#newest === 0) return Infinity;
    const starts = this.#starts;
    const count = starts.length;
    const overwritten = this.#written() - this.#ringBytes;
    let position = Math.max(this.#oldest, this.#newest - count + 1);
    while (position <= this.#newest && starts[position % count] < overwritten) position++;
    this.#oldest = position;
    return position;
  }

  read(position: number): StoredRecord | undefined {
    if (position > this.#newest || position < this.oldest()) return undefined;
    const offset = this.#starts[position % this.#starts.length] % this.#ringBytes;
    return this.#decoder.decode(this.#bytes!, this.#view!, offset);
  }
}
