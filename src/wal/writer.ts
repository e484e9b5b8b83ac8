/**
 * The WAL writer: runs on its own thread (a Worker; see writer-thread.ts for how each
 * runtime starts it; in `sync` mode, on the caller's thread, one `pass` per append) and
 * drains the ring into segment files with group commit.
 *
 * It takes contiguous spans of the ring, copies each into a buffer of its own where it
 * seals the records (computes their CRCs, off the caller's thread, in one WebAssembly
 * call: crc32c.ts), writes the span with one write call and puts the CRCs back into the
 * ring (the encoded tap sends the ring's records as the files hold them). It fdatasyncs
 * when it has written all that was published and `maxBatch` records are pending, when the
 * oldest unsynced record is `maxDelayMs` old, or when a caller waits for durability. After
 * each sync it publishes "durable up to P" in shared memory and by one message. The first
 * I/O error stops it for good (fail-stop: an fsync is never retried, since a failed fsync
 * may have dropped the data it was meant to save) and is reported to the main thread.
 */
import { checksummedBuffer, sealRecords } from "./crc32c.ts";
import { type FileSystem, namingFiles } from "./file-system.ts";
import { type Fault, withFaults } from "./faults.ts";
import { type PowerLoss, withPowerLoss } from "./power-loss.ts";
import { paddedLength, recordContinues, recordPosition } from "./record-format.ts";
import { DURABLE_OFFSET_BYTES, MARKER_BYTES, publishFailure, ROLL_MARKER, Slot, State, WRAP_MARKER } from "./ring.ts";
import { createSegment, openSegment, type SegmentFile } from "./segment.ts";

/** The one message that starts the writer thread. */
export interface WriterStart {
  /** The ring's bytes (shared with the main thread). */
  data: SharedArrayBuffer;
  /** The ring's cursors and flags (ring.ts). */
  control: SharedArrayBuffer;
  /** The WAL directory. */
  directory: string;
  /** Module whose default export is the FileSystem to use. */
  fileSystemModule: string;
  /** Injected file faults (tests). */
  faults?: Fault[];
  /** Simulated power loss (tests). */
  powerLoss?: PowerLoss;
  /** Segment to keep appending to (the last one recovered) and where its records end, if any. */
  segment?: { path: string; end: number };
  /** The size segments are given ahead of their records (see SegmentFile). */
  segmentBytes: number;
  /** The log's id, written into every segment it creates. */
  logId: string;
  /** CRC32C of the log's last record (0 if empty): the first new segment's link. */
  lastCrc: number;
  /** Group commit: sync once this many records are pending. */
  maxBatch: number;
  /** Group commit: sync once the oldest unsynced record is this old. */
  maxDelayMs: number;
}

/** What the writer tells the main thread: started, durable up to a position, failed, closed. */
export type WriterMessage =
  | { type: "ready" }
  | { type: "durable"; position: number; records: number; bytes: number; syncMs: number }
  | { type: "failed"; message: string; code?: string }
  | { type: "closed" };

/** Sends a message to the main thread. */
export type PostToMain = (message: WriterMessage) => void;

/** Runs the writer for `start` on this thread until it closes or fails; `post` reaches the main thread. */
export async function runWriter(start: WriterStart, post: PostToMain): Promise<void> {
  try {
    const writer = await openWriter(start, post);
    post({ type: "ready" });
    writer.run();
    post({ type: "closed" });
  } catch (error) {
    if ((error as { crash?: boolean }).crash) {
      // An injected crash: die the way an unexpected bug would, with nothing reported.
      setTimeout(() => {
        throw error;
      });
      return;
    }
    reportFailure(start, error, post);
  }
}

/** The file system (with injected faults and power loss, if any) and the writer on it. */
export async function openWriter(start: WriterStart, post: PostToMain): Promise<Writer> {
  const module = await import(start.fileSystemModule);
  // Injected faults stand for the runtime's own errors (below the naming layer); a
  // simulated power loss stops the writer from above it, as the real one would.
  let fs: FileSystem = module.default;
  if (start.faults?.length) fs = withFaults(fs, start.faults);
  fs = namingFiles(fs);
  if (start.powerLoss) fs = withPowerLoss(fs, start.powerLoss);
  const segment = start.segment && openSegment(fs, start.segment.path, start.segment.end, start.segmentBytes);
  const control = new Int32Array(start.control, 0, DURABLE_OFFSET_BYTES / 4);
  return new Writer(start, fs, control, segment, post);
}

/** Tells the main thread, through shared memory and a message, why the writer stopped. */
export function reportFailure(start: WriterStart, error: unknown, post: PostToMain): void {
  const { message, code } = error as { message?: string; code?: string };
  publishFailure(start.control, message ?? String(error));
  post({ type: "failed", message: message ?? String(error), code });
}

/**
 * The most a span copied out of the ring holds (less if the ring is smaller; more only for
 * a record larger than this). Why copy: the checksum runs in WebAssembly, on its own memory
 * only, at about twice JavaScript's speed (crc32c.wat), and it was half of what the writer
 * spent (Node, appends that outran the writer: 52 % of its samples); the copy is a memcpy.
 */
const WINDOW_BYTES = 1 << 20;

/** Head polls before the writer sleeps (a few microseconds). */
const SPIN_POLLS = 4000;
/**
 * While the producer has published within this many milliseconds, the writer dozes in short
 * timed waits instead of asking to be woken: a streaming producer then never pays a futex
 * wake-up per append. A doze lasts a quarter of the recent time between publishes, within
 * DOZE_MS: a producer publishing every 50 µs finds the writer back in time, and one
 * publishing every few milliseconds (a modest steady rate) is not polled twenty times
 * between two publishes, a core's worth of wake-ups that on a small machine took the
 * caller's core away for milliseconds at a time. A caller waiting for durability wakes the
 * writer at once whatever the doze (it always notifies).
 */
const ACTIVE_MS = 2;
const DOZE_MS = { min: 0.05, max: 0.5 };

/** Drains the ring into segments (see the module comment). */
export class Writer {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  /** Where a span is copied to be sealed and written (a checksummed buffer), and a view of it. */
  #window: Uint8Array;
  #windowView: DataView;
  readonly #capacity: number;
  readonly #durable: BigInt64Array;
  /** Consumed bytes, a uint32 counter like the producer's head. */
  #tail = 0;
  #unsynced = 0;
  #unsyncedBytes = 0;
  #firstUnsyncedAt = 0;
  #lastWritten = 0;
  #rollPending = false;
  /** Whether the last record sealed ended its append. */
  #atAppendEnd = false;
  #lastDrainAt = 0;
  /** Moving average of the time between drains (ms): how often the producer publishes. */
  #drainInterval = 0;
  /** CRC32C of the last record written (a new segment's link to its predecessor). */
  #lastCrc: number;

  constructor(
    private readonly start: WriterStart,
    private readonly fs: FileSystem,
    private readonly control: Int32Array,
    private segment: SegmentFile | undefined,
    private readonly post: PostToMain,
  ) {
    this.#bytes = new Uint8Array(start.data);
    this.#view = new DataView(start.data);
    this.#window = checksummedBuffer(Math.min(WINDOW_BYTES, start.data.byteLength));
    this.#windowView = new DataView(this.#window.buffer, this.#window.byteOffset, this.#window.byteLength);
    this.#capacity = start.data.byteLength;
    this.#durable = new BigInt64Array(start.control, DURABLE_OFFSET_BYTES, 1);
    this.#tail = Atomics.load(control, Slot.Tail) >>> 0;
    this.#lastCrc = start.lastCrc;
  }

  run(): void {
    const control = this.control;
    for (;;) {
      if (Atomics.load(control, Slot.State) === State.Abandoned) return this.abandon();
      const head = Atomics.load(control, Slot.Head) >>> 0;
      if (head !== this.#tail) {
        this.#drain(head);
        const now = performance.now();
        this.#drainInterval += (Math.min(now - this.#lastDrainAt, ACTIVE_MS) - this.#drainInterval) / 8;
        this.#lastDrainAt = now;
        continue;
      }
      // Group commit: sync when the oldest unsynced record is due, or at once when a caller
      // is waiting for durability and everything published is written (waiting longer would
      // only add latency: nothing more is coming from a producer that waits).
      if (
        this.#unsynced > 0 &&
        (Atomics.load(control, Slot.FlushRequested) === 1 || performance.now() - this.#firstUnsyncedAt >= this.start.maxDelayMs)
      ) {
        Atomics.store(control, Slot.FlushRequested, 0);
        this.#sync();
        continue;
      }
      if (Atomics.load(control, Slot.State) === State.Closing) return this.#finish();
      // Spin briefly first: a producer that is streaming publishes again within
      // microseconds, and a sleeping writer costs it a futex wake-up per append.
      if (this.#spinForHead(head)) continue;
      if (performance.now() - this.#lastDrainAt < ACTIVE_MS) {
        // Dozing: a caller waiting for durability still wakes us (it always notifies).
        Atomics.wait(control, Slot.Head, head | 0, Math.min(DOZE_MS.max, Math.max(DOZE_MS.min, this.#drainInterval / 4)));
        continue;
      }
      // Sleep until the producer publishes, or until the oldest unsynced record is due.
      const timeout = this.#unsynced > 0
        ? Math.max(0, this.start.maxDelayMs - (performance.now() - this.#firstUnsyncedAt))
        : 50;
      Atomics.store(control, Slot.WorkerWaiting, 1);
      if ((Atomics.load(control, Slot.Head) >>> 0) === head && Atomics.load(control, Slot.FlushRequested) === 0) {
        Atomics.wait(control, Slot.Head, head | 0, timeout);
      }
      Atomics.store(control, Slot.WorkerWaiting, 0);
    }
  }

  /**
   * One pass that never waits, for a writer on the caller's thread: writes and syncs what
   * is published, and honours a close or an abandon. False once the writer has stopped.
   */
  pass(): boolean {
    const control = this.control;
    if (Atomics.load(control, Slot.State) === State.Abandoned) {
      this.abandon();
      return false;
    }
    const head = Atomics.load(control, Slot.Head) >>> 0;
    if (head !== this.#tail) this.#drain(head);
    if (this.#unsynced > 0) this.#sync();
    if (Atomics.load(control, Slot.State) !== State.Closing) return true;
    this.#finish();
    return false;
  }

  /** Stops without syncing (the main side gave up on the log): releases the segment. */
  abandon(): void {
    this.segment?.close();
    this.segment = undefined;
  }

  /** A clean close: seals the segment (its records synced, its size theirs), closes it, says so. */
  #finish(): void {
    this.#seal();
    this.segment?.close();
    this.segment = undefined;
    Atomics.store(this.control, Slot.State, State.Closed);
  }

  /** Polls Head for a few microseconds; true if it moved. */
  #spinForHead(head: number): boolean {
    const control = this.control;
    for (let i = 0; i < SPIN_POLLS; i++) {
      if ((Atomics.load(control, Slot.Head) >>> 0) !== head || Atomics.load(control, Slot.FlushRequested) === 1) return true;
    }
    return false;
  }

  /** Writes everything published up to `head`, then syncs if maxBatch records are pending. */
  #drain(head: number): void {
    const view = this.#view;
    const mask = this.#capacity - 1;
    while (this.#tail !== head) {
      const offset = this.#tail & mask;
      const length = view.getUint32(offset + 4, true);
      if (length === WRAP_MARKER || length === ROLL_MARKER) {
        if (length === ROLL_MARKER) this.#rollPending = true;
        this.#advance(length === WRAP_MARKER ? this.#capacity - offset : MARKER_BYTES);
        continue;
      }
      if (this.#rollPending) this.#roll(recordPosition(view, offset));
      const padded = paddedLength(length);
      if (padded > this.#window.length) this.#widenWindow(padded);
      this.#writeSpan(offset, this.#takeRecords(offset, head));
    }
    // One sync for all that was published, however much. After a stall (a slow fdatasync, a
    // segment roll, a writer thread not yet compiled) the backlog is written, then synced
    // once, not in groups of maxBatch with a sync each: an fdatasync of 400-500 KB took
    // 0.8-1.0 ms here, one of 105 KB 0.3-0.5 ms. Synced at an append's end only: a sync
    // inside one would acknowledge nothing more (in `sync` mode each append is its own group).
    if (this.#atAppendEnd && this.#unsynced >= this.start.maxBatch) this.#sync();
  }

  /**
   * Takes the records from ring offset `start` (the tail's) on and returns their bytes, one
   * contiguous span that fits the window. It stops at `head`, at the ring's end and before
   * a marker, and leaves those to `#drain`.
   * Why the rare cases are not handled here: V8 compiles this loop with the type feedback
   * of the branches it has run, and the first time a branch without any runs (the first
   * ring wrap, a segment roll), it throws the loop's optimized code away. The writer then
   * sealed records about twenty times slower for 30 ms or more, which put every durable
   * acknowledgement of the time behind it. Leaving the loop costs nothing of the kind.
   */
  #takeRecords(start: number, head: number): number {
    const view = this.#view;
    const capacity = this.#capacity;
    const room = this.#window.length;
    let tail = this.#tail;
    let offset = start;
    let unsynced = this.#unsynced;
    let lastWritten = this.#lastWritten;
    let appendEnds = false;
    while (tail !== head) {
      const length = view.getUint32(offset + 4, true);
      if (length === WRAP_MARKER || length === ROLL_MARKER) break;
      const padded = paddedLength(length);
      // The first record always fits (#drain widens the window for it).
      if (offset + padded - start > room) break;
      // Durable is published at append boundaries only: half an append is never acknowledged.
      appendEnds = !recordContinues(view, offset);
      if (appendEnds) lastWritten = recordPosition(view, offset);
      if (unsynced++ === 0) this.#firstUnsyncedAt = performance.now();
      tail = (tail + padded) >>> 0;
      offset += padded;
      if (offset === capacity) break;
    }
    this.#tail = tail;
    this.#unsynced = unsynced;
    this.#unsyncedBytes += offset - start;
    this.#lastWritten = lastWritten;
    this.#atAppendEnd = appendEnds;
    return offset - start;
  }

  /** Seals and writes the `length` bytes of records at ring offset `start`, then frees them for the producer. */
  #writeSpan(start: number, length: number): void {
    if (length > 0) {
      if (this.segment === undefined) throw new Error("WAL writer has no open segment (missing roll marker)");
      const window = this.#window;
      window.set(this.#bytes.subarray(start, start + length));
      this.#lastCrc = sealRecords(window, 0, length); // the next segment's link
      this.segment.append(window, 0, length);
      this.#returnChecksums(start, length);
    }
    this.#release();
  }

  /** Puts the CRCs of the span sealed in the window back into the ring's records (the encoded tap reads them there). */
  #returnChecksums(start: number, length: number): void {
    const view = this.#view;
    const sealed = this.#windowView;
    for (let at = 0; at < length;) {
      view.setUint32(start + at, sealed.getUint32(at, true), true);
      at += paddedLength(sealed.getUint32(at + 4, true));
    }
  }

  /** A window for a record larger than the one there is (rare: the ring holds records up to its own size). */
  #widenWindow(bytes: number): void {
    let size = this.#window.length;
    while (size < bytes) size *= 2;
    this.#window = checksummedBuffer(size);
    this.#windowView = new DataView(this.#window.buffer, this.#window.byteOffset, this.#window.byteLength);
  }

  #advance(bytes: number): void {
    this.#tail = (this.#tail + bytes) >>> 0;
    this.#release();
  }

  #release(): void {
    Atomics.store(this.control, Slot.Tail, this.#tail | 0);
    if (Atomics.load(this.control, Slot.ProducerWaiting) === 1) Atomics.notify(this.control, Slot.Tail);
  }

  /** Seals the current segment and starts the next at `firstPosition`. */
  #roll(firstPosition: number): void {
    if (this.segment !== undefined) {
      this.#seal();
      this.segment.close();
    }
    this.segment = undefined; // closed: if the next cannot be created, nothing is left to close
    const header = { logId: this.start.logId, firstPosition, link: this.#lastCrc };
    this.segment = createSegment(this.fs, this.start.directory, header, this.start.segmentBytes);
    this.#rollPending = false;
  }

  /**
   * Cuts the segment to its records and syncs it, with its pending records in the same
   * fdatasync, before a later segment exists: only the last segment ever ends in zeros.
   */
  #seal(): void {
    if (this.segment === undefined) return;
    if (this.#unsynced > 0) this.#sync(true);
    else this.segment.seal();
  }

  /** Syncs the pending records (sealing the segment in the same fdatasync if told to) and publishes them durable. */
  #sync(seal = false): void {
    const started = performance.now();
    if (seal) this.segment!.seal();
    else this.segment!.sync();
    const syncMs = performance.now() - started;
    const records = this.#unsynced;
    const bytes = this.#unsyncedBytes;
    this.#unsynced = 0;
    this.#unsyncedBytes = 0;
    Atomics.store(this.#durable, 0, BigInt(this.#lastWritten));
    // The group's size and its fdatasync's time ride along, for metrics (WalStorage.observe).
    this.post({ type: "durable", position: this.#lastWritten, records, bytes, syncMs });
  }
}
