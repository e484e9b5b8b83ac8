/**
 * The read-ahead thread's work (read-ahead.ts says what it is for): reads each range through
 * a read window, up to a slot's worth of whole records at a time, checks their CRC32Cs there
 * (in WebAssembly, as recovery does), copies them into the next free slot and publishes it;
 * at the end of the ranges it publishes the end. Whatever goes wrong (a file that cannot be
 * opened or read, bytes that do not frame a record) is published as an unusable slot: the
 * reader then reads those records itself, and meets the problem on its own path.
 */
import { verifiedRecordsEnd } from "./crc32c.ts";
import type { FileHandle, FileSystem } from "./file-system.ts";
import {
  Control,
  Meta,
  META_FLOAT64S,
  type ReadAheadStart,
  SLOT_BYTES,
  SLOTS,
  Status,
} from "./read-ahead.ts";
import { ReadWindow } from "./read-window.ts";
import { HEADER_BYTES, paddedLength } from "./record-format.ts";

/** Runs the read-ahead for `start` on this thread until its ranges are read or the reader stops it. */
export async function runReadAhead(start: ReadAheadStart): Promise<void> {
  const slots = new SlotWriter(start);
  try {
    const fs = (await import(start.fileSystemModule)).default as FileSystem;
    Atomics.store(slots.control, Control.Started, 1);
    const window = new ReadWindow(SLOT_BYTES);
    for (let k = 0; k < start.ranges.length; k++) {
      const { path, start: offset, first, last } = start.ranges[k]!;
      const file = fs.openRead(path);
      try {
        if (!readRange(file, window, slots, k, offset, first, last)) return;
      } finally {
        file.close();
      }
    }
    slots.publish(Status.End);
  } catch {
    slots.publish(Status.Unusable);
  }
}

/**
 * Reads records `first..last` of a segment from file offset `offset` into slots; false if
 * it stopped before the end (the reader stopped it, or the records could not be served).
 */
function readRange(
  file: FileHandle,
  window: ReadWindow,
  slots: SlotWriter,
  k: number,
  offset: number,
  first: number,
  last: number,
): boolean {
  for (let position = first; position <= last;) {
    const bytes = window.read(file, offset, SLOT_BYTES);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Whole records only, and none past `last` (a later one may be being written).
    let end = 0;
    let records = 0;
    while (position + records <= last && end + 8 <= bytes.length) {
      const length = view.getUint32(end + 4, true);
      if (length < HEADER_BYTES || end + paddedLength(length) > bytes.length) break;
      end += paddedLength(length);
      records++;
    }
    if (records === 0) {
      slots.publish(Status.Unusable);
      return false;
    }
    const verified = verifiedRecordsEnd(bytes, 0, end, records);
    if (!slots.publish(Status.Records, bytes, k, offset, end, position, records, verified)) return false;
    offset += end;
    position += records;
  }
  return true;
}

/** The thread's side of the slots. */
class SlotWriter {
  readonly control: Int32Array;
  readonly #meta: Float64Array;
  readonly #data: Uint8Array;
  #filled = 0;

  constructor(start: ReadAheadStart) {
    this.control = new Int32Array(start.control);
    this.#meta = new Float64Array(start.meta);
    this.#data = new Uint8Array(start.data);
  }

  /** Waits until the next slot is free; false if the reader stopped the stream. */
  #waitForFree(): boolean {
    const control = this.control;
    for (;;) {
      if (Atomics.load(control, Control.Stop) !== 0) return false;
      const consumed = Atomics.load(control, Control.Consumed);
      if (this.#filled - consumed < SLOTS) return true;
      Atomics.wait(control, Control.Consumed, consumed);
    }
  }

  /**
   * Fills the next slot, once it is free, and hands it to the reader; false if the reader
   * stopped the stream first.
   */
  publish(
    status: number,
    bytes?: Uint8Array,
    segment = 0,
    start = 0,
    length = 0,
    first = 0,
    records = 0,
    verified = 0,
  ): boolean {
    if (!this.#waitForFree()) return false;
    const slot = this.#filled % SLOTS;
    if (bytes !== undefined) this.#data.set(bytes.subarray(0, length), slot * SLOT_BYTES);
    const at = slot * META_FLOAT64S;
    const meta = this.#meta;
    meta[at + Meta.Segment] = segment;
    meta[at + Meta.Start] = start;
    meta[at + Meta.Bytes] = length;
    meta[at + Meta.First] = first;
    meta[at + Meta.Records] = records;
    meta[at + Meta.Verified] = verified;
    meta[at + Meta.Status] = status;
    Atomics.store(this.control, Control.Filled, ++this.#filled);
    Atomics.notify(this.control, Control.Filled);
    return true;
  }
}
