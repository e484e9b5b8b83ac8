/**
 * Read-ahead for long sequential reads (a replay): a second thread reads the segment files
 * a few slots ahead of the reader and checks their records' CRC32Cs, so that the reader's
 * thread only decodes and folds. A replay otherwise leaves the machine's other core idle
 * while its own spends a sixth of its time in reads and checksums.
 *
 * One thread serves one stream of reads: it is given the segment ranges from where the
 * reads are heading to the end of the log as indexed, reads them in slots of whole records
 * into shared memory, and stops when they are done or the stream is dropped (a read that
 * does not continue it, the storage's close), when it is terminated. The reader never
 * depends on it: a slot not there in time, a record the thread could not frame or read,
 * a thread that died, and the reader drops the stream and reads the files itself, as it
 * does without one, so an I/O error or a bad checksum is met (and reported) on the
 * reader's own path. A slot's bytes are the bytes its records are decoded from: what was
 * checked is what is used.
 *
 * Shared memory: `control` (Int32: slots filled by the thread, slots consumed by the
 * reader, started, stop), `meta` (per slot, Float64: segment, file offset, bytes, first
 * position, records, end of the checked records, status) and `data` (SLOTS x SLOT_BYTES).
 */
import type { SegmentIndex } from "./recovery.ts";
import { siblingModule } from "./writer-thread.ts";

/** Slots in the ring between the read-ahead thread and the reader. */
export const SLOTS = 4;
/** Bytes of a slot: whole records, up to this many (a longer record is read by the reader itself). */
export const SLOT_BYTES = 1 << 20;

/** Int32s between two control words: a 64-byte cache line each, as in ring.ts. */
const STRIDE = 16;
/** Indexes into `control`. */
export const Control = { Filled: 0, Consumed: STRIDE, Started: 2 * STRIDE, Stop: 3 * STRIDE } as const;
const CONTROL_INT32S = 4 * STRIDE;

/** Indexes into a slot's seven Float64s of `meta`. */
export const Meta = { Segment: 0, Start: 1, Bytes: 2, First: 3, Records: 4, Verified: 5, Status: 6 } as const;
export const META_FLOAT64S = 7;

/** A slot's status: records, the end of the stream, or records the thread could not serve. */
export const Status = { Records: 0, End: 1, Unusable: 2 } as const;

/**
 * One segment's records for the thread to read: positions `first..last`, the first at file
 * offset `start`. Only records already in the files (the storage's written position), so
 * that the thread never reads a record while it is being written.
 */
export interface ReadAheadRange {
  /** The segment file. */
  path: string;
  /** File offset of the record at `first`. */
  start: number;
  /** Position of the first record to read. */
  first: number;
  /** Position of the last record to read. */
  last: number;
}

/** The one message that starts a read-ahead thread. */
export interface ReadAheadStart {
  /** Counters and flags (Control). */
  control: SharedArrayBuffer;
  /** What each slot holds (Meta). */
  meta: SharedArrayBuffer;
  /** The slots' bytes. */
  data: SharedArrayBuffer;
  /** Module whose default export is the FileSystem to read with. */
  fileSystemModule: string;
  /** What to read, in order. */
  ranges: ReadAheadRange[];
}

/** A read-ahead thread, as the reader uses it. */
export interface ReadAheadThread {
  /** Sends the start message (once). */
  start(message: ReadAheadStart): void;
  /** Stops the thread. Never throws. */
  terminate(): void;
}

/**
 * Starts a read-ahead thread (a Web Worker, or a node:worker_threads Worker on Node);
 * `onDeath` is called if it dies of an error it did not catch.
 */
export type SpawnReadAhead = (onDeath: () => void) => ReadAheadThread;

/** Part of a segment read into memory: the records `first..last`, from file offset `start`. */
export interface Span {
  segment: SegmentIndex;
  first: number;
  last: number;
  start: number;
  bytes: Uint8Array;
  view: DataView;
  /** Where the records whose checksums hold end, if already known. */
  verified?: number;
}

/**
 * How long the reader waits for a slot the running thread has not filled yet. The thread
 * reads faster than the reader decodes (here, 0.8 against 4-5 s for a 1.1 GB log), so
 * a wait this long means a stalled or dead thread: the reader reads the files itself.
 */
const WAIT_MS = 2000;

/** The reader's side of one stream of read-ahead. */
export class ReadAheadStream {
  readonly #thread: ReadAheadThread;
  readonly #segments: SegmentIndex[];
  readonly #control: Int32Array;
  readonly #meta: Float64Array;
  readonly #bytes: Uint8Array[] = [];
  readonly #views: DataView[] = [];
  /** Slots released so far (the next slot to read is `#consumed % SLOTS`). */
  #consumed = 0;

  /**
   * Starts a thread reading `ranges`, of `segments` (the same order).
   */
  constructor(
    spawn: SpawnReadAhead,
    fileSystemModule: string,
    segments: SegmentIndex[],
    ranges: ReadAheadRange[],
  ) {
    this.#segments = segments;
    const control = new SharedArrayBuffer(CONTROL_INT32S * 4);
    const meta = new SharedArrayBuffer(SLOTS * META_FLOAT64S * 8);
    const data = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
    this.#control = new Int32Array(control);
    this.#meta = new Float64Array(meta);
    for (let slot = 0; slot < SLOTS; slot++) {
      this.#bytes.push(new Uint8Array(data, slot * SLOT_BYTES, SLOT_BYTES));
      this.#views.push(new DataView(data, slot * SLOT_BYTES, SLOT_BYTES));
    }
    // A thread that dies of an error it did not catch leaves its slots empty.
    this.#thread = spawn(() => {
      this.state = "failed";
    });
    this.#thread.start({ control, meta, data, fileSystemModule, ranges });
  }

  /**
   * `ended` once the reads went past what the thread was given, `failed` once it cannot
   * serve them (it could not read or frame a record, it did not keep up or died): close it.
   */
  state: "running" | "ended" | "failed" = "running";

  /**
   * The read-ahead's records from `position` (up to `to`), or undefined where it does not
   * serve them: the thread is still starting (try again at the next read), or the stream
   * is over (`state`). The reader then reads the files itself.
   */
  span(position: number, to: number): Span | undefined {
    while (this.state === "running") {
      const slot = this.#filled();
      if (slot === undefined) return undefined;
      const meta = this.#meta;
      const at = slot * META_FLOAT64S;
      const status = meta[at + Meta.Status];
      const first = meta[at + Meta.First];
      const records = meta[at + Meta.Records];
      if (status !== Status.Records || position < first) {
        this.state = status === Status.End ? "ended" : "failed";
        return undefined;
      }
      if (position >= first + records) {
        // The reader has moved past this slot: give it back to the thread.
        Atomics.store(this.#control, Control.Consumed, ++this.#consumed);
        Atomics.notify(this.#control, Control.Consumed);
        continue;
      }
      const length = meta[at + Meta.Bytes];
      return {
        segment: this.#segments[meta[at + Meta.Segment]]!,
        first,
        last: Math.min(to, first + records - 1),
        start: meta[at + Meta.Start],
        bytes: this.#bytes[slot]!.subarray(0, length),
        view: this.#views[slot]!,
        verified: meta[at + Meta.Verified],
      };
    }
    return undefined;
  }

  /** Stops the thread (the stream is over or dropped). */
  close(): void {
    Atomics.store(this.#control, Control.Stop, 1);
    Atomics.notify(this.#control, Control.Consumed);
    this.#thread.terminate();
  }

  /** The slot to read next, once the thread has filled it; undefined if it is not there (see `span`). */
  #filled(): number | undefined {
    const control = this.#control;
    const consumed = this.#consumed;
    // A thread still starting (its code loading) is not waited for: this read is the reader's.
    if (Atomics.load(control, Control.Filled) === consumed && Atomics.load(control, Control.Started) === 0) {
      return undefined;
    }
    while (Atomics.load(control, Control.Filled) === consumed) {
      if (Atomics.wait(control, Control.Filled, consumed, WAIT_MS) === "timed-out") {
        this.state = "failed";
        return undefined;
      }
    }
    return consumed % SLOTS;
  }
}

/** The read-ahead thread as a Web Worker (Deno, Bun). */
export const webReadAheadThread: SpawnReadAhead = (onDeath) => {
  const worker = new Worker(siblingModule(import.meta.url, "read-ahead-worker"), { type: "module" });
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault?.();
    onDeath();
  };
  return { start: (message) => worker.postMessage(message), terminate: () => worker.terminate() };
};
