/**
 * Event ids read back from records, made cheap for the ids the store generates.
 *
 * Why: recovery decodes every record's id, and `TextDecoder.decode` of a 36-byte UUID cost
 * about 120 ns on Node 20, 75-100 on Bun and 320-370 on Deno (2 vCPUs, AMD EPYC): on Deno
 * more than the rest of the record. Generated ids (uuid-v7.ts) come in blocks that share
 * all but their last two characters, so a record's id is mostly the one before it: when
 * its bytes match the last id's but for the last two, and that id was ASCII, it is the
 * last id's prefix (a string kept) joined to two characters (kept too): about 30 ns on
 * each runtime. The string is a concatenation, as a freshly generated id is.
 *
 * Anything else (another length, a new block, UTF-8 beyond ASCII) is decoded in full, and
 * bad UTF-8 fails there as before (the fatal TextDecoder throws).
 */
import { KnownBytes } from "./known-bytes.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Two-ASCII-character strings by their codes (a << 7 | b), made as they are first met. */
const PAIRS: (string | undefined)[] = new Array(1 << 14);

export class IdDecoder {
  /**
   * All but the last two characters of the last id decoded in full, and those bytes: kept
   * if that id was ASCII and longer than two characters.
   */
  #prefix = "";
  #prefixBytes?: KnownBytes;

  /** The id whose UTF-8 bytes are `bytes[at, at + length)` (`view` over the same bytes). */
  decode(bytes: Uint8Array, view: DataView, at: number, length: number): string {
    const prefix = this.#prefixBytes;
    if (prefix !== undefined && length === prefix.length + 2 && prefix.matches(bytes, view, at)) {
      const a = bytes[at + length - 2]!;
      const b = bytes[at + length - 1]!;
      if ((a | b) < 0x80) return this.#prefix + (PAIRS[(a << 7) | b] ??= String.fromCharCode(a, b));
    }
    const id = decoder.decode(bytes.subarray(at, at + length));
    this.#remember(bytes, view, at, length, id);
    return id;
  }

  #remember(bytes: Uint8Array, view: DataView, at: number, length: number, id: string): void {
    // One character per byte: ASCII, so a byte prefix is the same character prefix.
    if (id.length !== length || length < 3) {
      this.#prefixBytes = undefined;
      return;
    }
    this.#prefix = id.slice(0, length - 2);
    this.#prefixBytes = new KnownBytes(bytes, view, at, length - 2);
  }
}
