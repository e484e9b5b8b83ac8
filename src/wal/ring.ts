/**
 * The single-producer/single-consumer ring between the caller's thread and the writer
 * Worker: a SharedArrayBuffer of bytes holding WAL records back to back, plus a small
 * control block of Int32 slots. The producer only writes records and moves `head`; the
 * Worker only reads them and moves `tail`. Counters are byte offsets that wrap at 2^32;
 * differences are taken modulo 2^32, so the ring must stay below 2^31 bytes.
 *
 * Two markers share the record's length slot (offset 4), which a real record never fills
 * with these values: WRAP (the rest up to the ring's end is unused; continue at 0) and
 * ROLL (the next record starts a new segment).
 */
import { LITTLE_ENDIAN } from "./crc32c.ts";

/**
 * Int32s between two slots: each slot has a 64-byte cache line of its own, so the writer
 * storing Tail does not take away the line holding Head (or WorkerWaiting, which the
 * producer reads on every append) from the producer's core, and the other way round.
 */
const SLOT_STRIDE = 16;

export const Slot = {
  /** Bytes published by the producer. */
  Head: 0,
  /** Bytes consumed (written to the file) by the Worker. */
  Tail: 1 * SLOT_STRIDE,
  /** Running, closing, failed or closed (see State). */
  State: 2 * SLOT_STRIDE,
  /** 1 while the Worker sleeps waiting for Head to move. */
  WorkerWaiting: 3 * SLOT_STRIDE,
  /** 1 while the producer sleeps waiting for Tail to move. */
  ProducerWaiting: 4 * SLOT_STRIDE,
  /** 1 when someone awaits durability: sync as soon as what is published is written. */
  FlushRequested: 5 * SLOT_STRIDE,
} as const;

/**
 * `Abandoned`: the main side declared the log failed (a stall, a dead or closing store):
 * the writer stops at once, writing and syncing nothing more.
 */
export const State = { Running: 0, Closing: 1, Failed: 2, Closed: 3, Abandoned: 4 } as const;

export const CONTROL_SLOTS = 6 * SLOT_STRIDE;
/** Durable position, in a BigInt64 after the Int32 slots. */
export const DURABLE_OFFSET_BYTES = CONTROL_SLOTS * 4;
/** The writer's failure message (UTF-8, zero-padded), readable while the producer spins. */
export const FAILURE_OFFSET_BYTES = DURABLE_OFFSET_BYTES + 8;
export const FAILURE_BYTES = 1024;
export const CONTROL_BYTES = FAILURE_OFFSET_BYTES + FAILURE_BYTES;

/**
 * Reads the durable position from its BigInt64 cell as two Int32 halves: Atomics.load on a
 * BigInt64Array makes a BigInt on every call, and a caller polling durability (a spinning
 * benchmark loop, say) then allocated tens of millions of them a second, enough garbage to
 * run a scavenge every 40 ms. The writer stores the cell whole; the position only grows, so
 * when the high half reads the same before and after the low half, the low half is of a
 * value with that high half.
 */
export function durableReader(control: SharedArrayBuffer): () => number {
  const words = new Int32Array(control, DURABLE_OFFSET_BYTES, 2);
  const [lowWord, highWord] = LITTLE_ENDIAN ? [0, 1] : [1, 0];
  return () => {
    for (;;) {
      const high = Atomics.load(words, highWord);
      const low = Atomics.load(words, lowWord);
      // Below 2^31 the low half as it is, a small integer: a computed double is a heap number.
      if (Atomics.load(words, highWord) === high) {
        return high === 0 && low >= 0 ? low : high * 2 ** 32 + (low >>> 0);
      }
    }
  };
}

/** Records the writer's failure in shared memory, then marks the state failed. */
export function publishFailure(control: SharedArrayBuffer, message: string): void {
  const area = new Uint8Array(control, FAILURE_OFFSET_BYTES, FAILURE_BYTES);
  const { written } = new TextEncoder().encodeInto(message, area.subarray(0, FAILURE_BYTES - 1));
  area.fill(0, written);
  const slots = new Int32Array(control, 0, CONTROL_SLOTS);
  Atomics.store(slots, Slot.State, State.Failed);
  Atomics.notify(slots, Slot.Tail);
}

/** The failure message the writer published, if any. */
export function readFailure(control: SharedArrayBuffer): string {
  const area = new Uint8Array(control, FAILURE_OFFSET_BYTES, FAILURE_BYTES);
  const end = area.indexOf(0);
  return new TextDecoder().decode(area.slice(0, end < 0 ? FAILURE_BYTES : end));
}

export const WRAP_MARKER = 0xffffffff;
export const ROLL_MARKER = 0xfffffffe;
export const MARKER_BYTES = 8;

export interface RingBuffers {
  data: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

export function createRing(bytes: number): RingBuffers {
  if (!Number.isInteger(bytes) || bytes < 4096 || bytes > 1 << 30 || (bytes & (bytes - 1)) !== 0) {
    throw new RangeError(`WAL ring size must be a power of two from 4 KiB to 1 GiB, got ${bytes}`);
  }
  return { data: new SharedArrayBuffer(bytes), control: new SharedArrayBuffer(CONTROL_BYTES) };
}

/** Free bytes between the producer's cursor and the consumer's tail. */
export const freeBytes = (capacity: number, cursor: number, tail: number): number =>
  capacity - ((cursor - tail) >>> 0);
