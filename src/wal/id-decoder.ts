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
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Two-ASCII-character strings by their codes (a << 7 | b), made as they are first met. */
const PAIRS: (string | undefined)[] = new Array(1 << 14);

export class IdDecoder {
  /** The last id decoded in full, if it was ASCII and long enough to have a prefix; its length. */
  #length = -1;
  /** Its first `length - 2` characters, and those bytes as little-endian words and leftover bytes. */
  #prefix = "";
  #words = new Int32Array(0);
  #tail: Uint8Array = new Uint8Array(0);

  /** The id whose UTF-8 bytes are `bytes[at, at + length)` (`view` over the same bytes). */
  decode(bytes: Uint8Array, view: DataView, at: number, length: number): string {
    if (length === this.#length && this.#samePrefix(bytes, view, at)) {
      const a = bytes[at + length - 2]!;
      const b = bytes[at + length - 1]!;
      if ((a | b) < 0x80) return this.#prefix + (PAIRS[(a << 7) | b] ??= String.fromCharCode(a, b));
    }
    const id = decoder.decode(bytes.subarray(at, at + length));
    this.#remember(bytes, view, at, length, id);
    return id;
  }

  #samePrefix(bytes: Uint8Array, view: DataView, at: number): boolean {
    const words = this.#words;
    for (let i = 0; i < words.length; i++) if (view.getInt32(at + 4 * i, true) !== words[i]) return false;
    const tail = this.#tail;
    const from = at + 4 * words.length;
    for (let i = 0; i < tail.length; i++) if (bytes[from + i] !== tail[i]) return false;
    return true;
  }

  #remember(bytes: Uint8Array, view: DataView, at: number, length: number, id: string): void {
    // One character per byte: ASCII, so a byte prefix is the same character prefix.
    if (id.length !== length || length < 3) {
      this.#length = -1;
      return;
    }
    const kept = length - 2;
    this.#length = length;
    this.#prefix = id.slice(0, kept);
    this.#words = new Int32Array(kept >> 2);
    for (let i = 0; i < this.#words.length; i++) this.#words[i] = view.getInt32(at + 4 * i, true);
    this.#tail = bytes.slice(at + 4 * this.#words.length, at + kept);
  }
}
