/**
 * A short string's UTF-8 bytes, kept to recognise it in records without decoding it (a
 * stream id, an event type, an id's prefix). Compared four bytes at a time (DataView
 * reads), then the last 0-3 one by one: a byte loop over a stream id and a search of the
 * event types byte by byte were two thirds of decoding an order-book record (Node
 * profile of recovery, issue 16's note).
 */
export class KnownBytes {
  /** The bytes' length. */
  readonly length: number;
  readonly #words: Int32Array;
  readonly #tail: Uint8Array;

  /** Keeps a copy of `source[at, at + length)` (`view` over the same memory). */
  constructor(source: Uint8Array, view: DataView, at: number, length: number) {
    this.length = length;
    this.#words = new Int32Array(length >> 2);
    for (let i = 0; i < this.#words.length; i++) this.#words[i] = view.getInt32(at + 4 * i, true);
    this.#tail = source.slice(at + 4 * this.#words.length, at + length);
  }

  /** Whether `source[at, at + length)` holds these bytes (`view` over the same memory as `source`). */
  matches(source: Uint8Array, view: DataView, at: number): boolean {
    const words = this.#words;
    for (let i = 0; i < words.length; i++) if (view.getInt32(at + 4 * i, true) !== words[i]) return false;
    const tail = this.#tail;
    const from = at + 4 * words.length;
    for (let i = 0; i < tail.length; i++) if (source[from + i] !== tail[i]) return false;
    return true;
  }
}
