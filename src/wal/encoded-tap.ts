/**
 * The records a replicator has yet to send, kept where the WAL already has them: in the
 * ring, sealed by the writer (CRC filled in), byte for byte what the segment files hold.
 * Without it, each group the primary sends is read back from its segment (a read call
 * and a fresh buffer per group, then scanned for the records wanted): on Node that was
 * about a third of what replication cost the caller's thread (profile in issue 15's note).
 *
 * The producer never waits for the tap. Its `tail` holds back the ring's space from the
 * first record not taken; when the producer needs that space, the records the writer has
 * finished with are copied out (`spill`) and the space is free again. So the tap costs a
 * copy of each record, once, on the caller's thread, whichever of the two happens.
 *
 * What is copied out is bounded (`SPILLED_RINGS` times the ring): a replicator that takes
 * nothing for long (the network down) has its oldest records let go, and reads them from
 * the files when it comes back. Records before `next` are not kept: the WAL reads those
 * from its files.
 */
import { MARKER_BYTES, ROLL_MARKER, WRAP_MARKER } from "./ring.ts";
import { paddedLength, recordPosition } from "./record-format.ts";

/** Buffers kept for reuse: at most this many, of at most this many rings' worth of bytes together. */
const KEPT_BUFFERS = 16;
const KEPT_RINGS = 2;
/** The smallest buffer made (about what a group of appends fills), or the ring's size if less. */
const MIN_BUFFER_BYTES = 256 * 1024;
/** Records copied out and not taken, at most this many rings' worth (64 MiB with the default ring). */
const SPILLED_RINGS = 8;

/** Records copied out of the ring, whole, back to back, positions `first..last`. */
interface Spilled {
  bytes: Uint8Array;
  first: number;
  last: number;
}

/** See the module comment. */
export class EncodedTap {
  /**
   * Ring cursor (a uint32 byte counter, like the producer's) of the first record not taken
   * or spilled. The producer keeps off the ring from here or from the writer's tail,
   * whichever is further back (armed while the writer is behind, the tap's is ahead).
   */
  tail: number;
  /** Position of the first record kept (not taken, not let go). */
  next: number;
  readonly #spilled: Spilled[] = [];
  #spilledBytes = 0;
  /** Buffers given back, for reuse; the tap's own, which alone it takes back. */
  readonly #free: ArrayBuffer[] = [];
  #freeBytes = 0;
  readonly #own = new WeakSet<ArrayBuffer>();
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #capacity: number;

  /** A tap on `bytes` (the ring, `capacity` bytes) from cursor `tail`, where position `next` is (or will be) encoded. */
  constructor(bytes: Uint8Array, view: DataView, capacity: number, tail: number, next: number) {
    this.#bytes = bytes;
    this.#view = view;
    this.#capacity = capacity;
    this.tail = tail;
    this.next = next;
  }

  /**
   * Copies the records before `end` (the writer's tail, not behind `tail`: all sealed) out
   * of the ring, freeing their space up to `end`, markers included.
   */
  spill(end: number): void {
    const copied = this.#copy(end, Infinity);
    if (copied === undefined) return;
    this.#spilled.push(copied);
    this.#spilledBytes += copied.bytes.length;
    while (this.#spilledBytes > SPILLED_RINGS * this.#capacity) {
      const oldest = this.#spilled.shift()!;
      this.#spilledBytes -= oldest.bytes.length;
      this.next = oldest.last + 1;
      this.giveBack(oldest.bytes);
    }
  }

  /**
   * The records `next..to` (all durable, so sealed), back to back in one buffer; `end` is
   * the producer's cursor (the ring holds nothing written beyond it). Then `next` is `to + 1`.
   * Give the buffer back (`giveBack`) once nothing reads it any more.
   */
  take(to: number, end: number): Uint8Array {
    this.next = to + 1;
    if (this.#spilled.length === 0) return this.#copy(end, to)?.bytes ?? new Uint8Array(0);
    const pieces: Uint8Array[] = [];
    const emptied: Uint8Array[] = [];
    while (this.#spilled.length > 0 && this.#spilled[0]!.first <= to) {
      const spilled = this.#spilled[0]!;
      const cut = spilled.last <= to ? spilled.bytes.length : offsetAfter(spilled, to);
      pieces.push(spilled.bytes.subarray(0, cut));
      this.#spilledBytes -= cut;
      if (cut < spilled.bytes.length) this.#spilled[0] = { bytes: spilled.bytes.subarray(cut), first: to + 1, last: spilled.last };
      else emptied.push(this.#spilled.shift()!.bytes);
    }
    const copied = this.#spilled.length === 0 ? this.#copy(end, to) : undefined;
    if (copied !== undefined) pieces.push(copied.bytes), emptied.push(copied.bytes);
    // Always a copy, even of one piece: a piece cut from a chunk shares the rest's buffer.
    const joined = joinInto(this.#allocate(totalLength(pieces)), pieces);
    for (const bytes of emptied) this.giveBack(bytes);
    return joined;
  }

  /**
   * Takes back a buffer `take` gave, for the next records (others are ignored): a fresh
   * buffer costs a page fault per 4 KiB as it is first written, and a copy into it cost
   * 20 to 60 times one into a buffer used before (0.4-0.9 ms per 512 KiB, measured).
   */
  giveBack(bytes: Uint8Array): void {
    const buffer = bytes.buffer as ArrayBuffer;
    if (!this.#own.has(buffer) || this.#free.length === KEPT_BUFFERS || this.#free.includes(buffer)) return;
    if (this.#freeBytes + buffer.byteLength > KEPT_RINGS * this.#capacity) return;
    this.#free.push(buffer);
    this.#freeBytes += buffer.byteLength;
  }

  /** `size` bytes, in a buffer given back if one is large enough. */
  #allocate(size: number): Uint8Array {
    const index = this.#free.findIndex((buffer) => buffer.byteLength >= size);
    if (index >= 0) {
      const [buffer] = this.#free.splice(index, 1);
      this.#freeBytes -= buffer!.byteLength;
      return new Uint8Array(buffer!, 0, size);
    }
    const buffer = new ArrayBuffer(Math.max(size, Math.min(MIN_BUFFER_BYTES, this.#capacity)));
    this.#own.add(buffer);
    return new Uint8Array(buffer, 0, size);
  }

  /** Copies the whole records from `tail` up to cursor `end` or position `to` into one buffer; moves `tail` past them. */
  #copy(end: number, to: number): Spilled | undefined {
    const view = this.#view;
    const mask = this.#capacity - 1;
    // At most a few spans: a wrap or a roll marker breaks the records' run in the ring.
    const starts: number[] = [];
    const lengths: number[] = [];
    let total = 0;
    let first = 0;
    let last = 0;
    let cursor = this.tail;
    while (cursor !== end) {
      const offset = cursor & mask;
      const length = view.getUint32(offset + 4, true);
      if (length === WRAP_MARKER || length === ROLL_MARKER) {
        cursor = (cursor + (length === WRAP_MARKER ? this.#capacity - offset : MARKER_BYTES)) >>> 0;
        continue;
      }
      const position = recordPosition(view, offset);
      if (position > to) break;
      if (first === 0) first = position;
      last = position;
      const padded = paddedLength(length);
      const spans = starts.length;
      if (spans > 0 && starts[spans - 1]! + lengths[spans - 1]! === offset) lengths[spans - 1]! += padded;
      else starts.push(offset), lengths.push(padded);
      total += padded;
      cursor = (cursor + padded) >>> 0;
    }
    this.tail = cursor;
    if (total === 0) return undefined;
    const bytes = this.#allocate(total);
    let at = 0;
    for (let i = 0; i < starts.length; i++) {
      bytes.set(this.#bytes.subarray(starts[i]!, starts[i]! + lengths[i]!), at);
      at += lengths[i]!;
    }
    return { bytes, first, last };
  }
}

/** The byte offset just after record `to` in a run of whole records. */
function offsetAfter(run: Spilled, to: number): number {
  const view = new DataView(run.bytes.buffer, run.bytes.byteOffset, run.bytes.byteLength);
  let offset = 0;
  for (let position = run.first; position <= to; position++) offset += paddedLength(view.getUint32(offset + 4, true));
  return offset;
}

/** `pieces` in one buffer (the piece itself if there is one). */
export function concat(pieces: readonly Uint8Array[]): Uint8Array {
  return pieces.length === 1 ? pieces[0]! : joinInto(new Uint8Array(totalLength(pieces)), pieces);
}

const totalLength = (pieces: readonly Uint8Array[]): number => pieces.reduce((sum, piece) => sum + piece.length, 0);

/** `pieces` copied one after the other into `target` (their total length); returns `target`. */
function joinInto(target: Uint8Array, pieces: readonly Uint8Array[]): Uint8Array {
  let at = 0;
  for (const piece of pieces) {
    target.set(piece, at);
    at += piece.length;
  }
  return target;
}
