/**
 * The WAL's newest appended records, kept as the bytes it encoded them into, for the event
 * store's buffer (`StorageAdapter.keepRecent`).
 *
 * Why bytes: a buffer of 10,000 record objects is live young-generation memory that every
 * scavenge copies (on Deno at 100 K commands/s: scavenges of 2.4-2.8 ms median with the
 * buffer of objects, 0.57 ms with this), and each pause lands on some command's latency.
 * Bytes in one ArrayBuffer are neither scanned nor copied; a read rebuilds the record,
 * which dies young.
 *
 * Layout: a byte ring (a record never straddles its end: one that does not fit before it
 * starts again at 0) and, by position modulo `count`, where each record starts, as a
 * running byte total. An append's records are staged until `commit` (a failed append is
 * rolled back without disturbing what is kept), and the ring grows rather than overwrite
 * a record that must stay: the last `count` committed ones and everything staged.
 */
import type { StoredRecord } from "../core/events.ts";
import type { RecordDecoder } from "./record-format.ts";

/** Bytes per record the ring starts with room for (it grows as needed). */
const INITIAL_BYTES_PER_RECORD = 64;

/** The newest `count` records appended to a WAL, as bytes. */
export class RecentRecords {
  readonly #count: number;
  readonly #decoder: RecordDecoder;
  /** Running byte total at which the committed record at position p starts, at [p % count]. */
  readonly #starts: Float64Array;
  #bytes: Uint8Array;
  #view: DataView;
  /** Bytes ever taken from the ring, the skips at its end included. */
  #written = 0;
  /** The first committed position held (0: none yet). */
  #first = 0;
  /** The newest committed position (0: none yet). */
  #committed = 0;
  /** Where each record added since the last commit starts (running byte totals). */
  readonly #staged: number[] = [];
  /** The position of the first staged record. */
  #stagedFrom = 0;

  /** Keeps the last `count` committed records; `decoder` rebuilds them. */
  constructor(count: number, decoder: RecordDecoder) {
    this.#count = count;
    this.#decoder = decoder;
    this.#starts = new Float64Array(count);
    this.#bytes = new Uint8Array(Math.max(64 << 10, count * INITIAL_BYTES_PER_RECORD));
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Stages the record at `position` (the next one), encoded in `source[offset, offset + length)`. */
  add(position: number, source: Uint8Array, offset: number, length: number): void {
    if (this.#staged.length === 0) {
      this.#stagedFrom = position;
      // Positions that do not follow what is kept (a log reopened, a gap): start over.
      if (this.#committed !== 0 && position !== this.#committed + 1) this.#first = this.#committed = 0;
    } else if (position !== this.#stagedFrom + this.#staged.length) {
      throw new RangeError(`recent records: expected position ${this.#stagedFrom + this.#staged.length}, got ${position}`);
    }
    const capacity = this.#bytes.length;
    const at = this.#written % capacity;
    const start = at + length > capacity ? this.#written + capacity - at : this.#written;
    const keptFrom = this.#keptFrom();
    if (length > capacity || (keptFrom !== undefined && start + length - keptFrom > capacity)) this.#grow(length);
    this.#staged.push(this.#store(source, offset, length));
  }

  /** The staged records are appended: they become readable, the oldest kept ones give way. */
  commit(): void {
    const staged = this.#staged;
    if (staged.length === 0) return;
    for (let i = 0; i < staged.length; i++) this.#starts[(this.#stagedFrom + i) % this.#count] = staged[i]!;
    if (this.#first === 0) this.#first = this.#stagedFrom;
    this.#committed = this.#stagedFrom + staged.length - 1;
    staged.length = 0;
  }

  /** The staged records were not appended (the append failed): forgets them. */
  rollback(): void {
    this.#staged.length = 0;
  }

  /** The committed record at `position`, rebuilt from its bytes, or undefined if it is not kept. */
  get(position: number): StoredRecord | undefined {
    if (this.#committed === 0 || position > this.#committed || position < this.#oldest()) return undefined;
    return this.#decoder.decode(this.#bytes, this.#view, this.#starts[position % this.#count]! % this.#bytes.length);
  }

  /** The oldest committed position kept. */
  #oldest(): number {
    return Math.max(this.#first, this.#committed - this.#count + 1);
  }

  /** The running total where the oldest byte that must stay starts (undefined: nothing must). */
  #keptFrom(): number | undefined {
    if (this.#committed !== 0) return this.#starts[this.#oldest() % this.#count];
    return this.#staged.length > 0 ? this.#staged[0] : undefined;
  }

  /** Copies a record to the ring's next free place (0 if it does not fit before the end); returns where it starts. */
  #store(source: Uint8Array, offset: number, length: number): number {
    const capacity = this.#bytes.length;
    let at = this.#written % capacity;
    if (at + length > capacity) {
      this.#written += capacity - at;
      at = 0;
    }
    const start = this.#written;
    const bytes = this.#bytes;
    if (length > 64) bytes.set(source.subarray(offset, offset + length), at);
    else for (let i = 0; i < length; i++) bytes[at + i] = source[offset + i]!;
    this.#written += length;
    return start;
  }

  /** Moves what must stay into a ring with room for it and `incoming` more bytes, twice over. */
  #grow(incoming: number): void {
    const old = this.#bytes;
    const oldView = this.#view;
    const lengthAt = (total: number) => oldView.getUint32((total % old.length) + 4, true);
    const committed: number[] = [];
    if (this.#committed !== 0) for (let p = this.#oldest(); p <= this.#committed; p++) committed.push(p);
    let live = incoming;
    for (const p of committed) live += lengthAt(this.#starts[p % this.#count]!);
    for (const start of this.#staged) live += lengthAt(start);
    let capacity = old.length * 2;
    while (capacity < 2 * live) capacity *= 2;
    this.#bytes = new Uint8Array(capacity);
    this.#view = new DataView(this.#bytes.buffer);
    this.#written = 0;
    const move = (total: number) => this.#store(old, total % old.length, lengthAt(total));
    for (const p of committed) this.#starts[p % this.#count] = move(this.#starts[p % this.#count]!);
    for (let i = 0; i < this.#staged.length; i++) this.#staged[i] = move(this.#staged[i]!);
  }
}
