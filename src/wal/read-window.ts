/**
 * One buffer, used again and again, to read segment files through.
 *
 * Why: filling fresh memory costs many times filling memory used before, because each
 * 4 KiB page of a new buffer faults in when first touched. Here (2 vCPUs, Node), a 64 MiB
 * segment read whole into a new buffer took 180-230 ms; read in 1 MiB pieces into one
 * reused buffer, 15 ms. Recovery scans the segments through a window and the store's reads
 * decode from one. The buffer is a checksummed one (crc32c.ts): every record recovery and
 * reads check is checked in it, in WebAssembly.
 */
import type { FileHandle } from "./file-system.ts";
import { checksummedBuffer } from "./crc32c.ts";

/** What a window holds to begin with: large enough that a read costs more than its call. */
const WINDOW_BYTES = 1 << 20;

/** The most a window keeps between reads; a longer read gets a buffer of its own. */
const KEPT_BYTES = 8 << 20;

export class ReadWindow {
  /** How much a read takes in when its caller needs no more. */
  readonly bytes: number;
  #buffer: Uint8Array;

  constructor(bytes = WINDOW_BYTES) {
    this.bytes = bytes;
    this.#buffer = checksummedBuffer(bytes);
  }

  /**
   * Up to `length` bytes of `file` from `position` (fewer where the file ends). Unless it
   * is longer than a window keeps, the result is a view of the window's buffer: valid only
   * until the next read.
   */
  read(file: FileHandle, position: number, length: number): Uint8Array {
    let buffer = this.#buffer;
    if (length > buffer.length) {
      buffer = length <= KEPT_BYTES ? checksummedBuffer(Math.max(length, Math.min(2 * buffer.length, KEPT_BYTES))) : new Uint8Array(length);
      if (length <= KEPT_BYTES) this.#buffer = buffer;
    }
    return buffer.subarray(0, file.readAt(buffer.subarray(0, length), position));
  }
}
