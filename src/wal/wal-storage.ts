/**
 * The write-ahead-log storage adapter (the main thread's side).
 *
 * `append` encodes records straight into the shared ring (no syscall, no promise) and
 * publishes them to the writer Worker; durability is tracked by position. Opening
 * recovers the log (recovery.ts) and starts the Worker; closing flushes, syncs and
 * stops it. The first failure (an I/O error in the Worker, its death, a stall) poisons
 * the log: every pending and later operation rejects with that error.
 */
import { ClosedError, StorageError, ValidationError } from "../core/errors.ts";
import type { StoredRecord } from "../core/events.ts";
import type { HeldRecords } from "../core/event-buffer.ts";
import type { DurabilityMode, IndexCheckpoint, RecordReporter, StorageAdapter } from "../core/storage.ts";
import { resolveWalOptions, type ResolvedWalOptions, type WalOptions } from "./options.ts";
export type { WalOptions } from "./options.ts";
import type { SnapshotStore } from "../core/snapshots.ts";
import { CodecTable } from "./codec.ts";
import { withFaults } from "./faults.ts";
import type { FileSystem } from "./file-system.ts";
import { joinPath, makeDirectoryDurably, namingFiles, writeFileAtomically } from "./file-system.ts";
import { acquireLock } from "./lock.ts";
import { releaseAndThrow } from "../core/release.ts";
import { checkRecord, newPlan, paddedLength, recordContinues, RecordDecoder, RecordEncoder } from "./record-format.ts";
import { crc32c } from "./crc32c.ts";
import { concat, EncodedTap } from "./encoded-tap.ts";
import { recover, type Recovered, type SegmentIndex, SPARSE_EVERY } from "./recovery.ts";
import {
  CONTROL_SLOTS,
  createRing,
  DURABLE_OFFSET_BYTES,
  durableReader,
  freeBytes,
  MARKER_BYTES,
  readFailure,
  type RingBuffers,
  ROLL_MARKER,
  Slot,
  State,
  WRAP_MARKER,
} from "./ring.ts";
import { newLogId, SEGMENT_HEADER_BYTES } from "./segment.ts";
import { FileSnapshotStore } from "./file-snapshots.ts";
import { FileConsumerStore } from "./file-consumers.ts";
import { coveredSegments, writeCheckpoint } from "./checkpoint.ts";
import { ReadWindow } from "./read-window.ts";
import type { SpawnReadAhead } from "./read-ahead.ts";
import { SegmentReader } from "./segment-reader.ts";
import { RingRecords } from "./ring-records.ts";
import type { ConsumerStore } from "../core/consumer-store.ts";
import { type Observer, observeSynced, type StorageStats } from "../core/observer.ts";
import type { WriterMessage, WriterStart } from "./writer.ts";
import { inlineWriterThread, type SpawnWriter, type WriterThread } from "./writer-thread.ts";

/**
 * What a runtime gives the WAL: its file layer, the module the writer thread loads that
 * file layer from (its default export), and how to start the writer thread.
 */
export interface WalRuntime {
  /** The file operations of the main thread (recovery, reads, the lock). */
  fs: FileSystem;
  /** URL of a module whose default export is the same FileSystem, for the writer thread. */
  fileSystemModule: string;
  /** Starts the writer thread. */
  spawnWriter: SpawnWriter;
  /** Starts a read-ahead thread for long runs of reads (read-ahead.ts); without it, reads stay on the caller's thread. */
  spawnReadAhead?: SpawnReadAhead;
}

/** A replication term and the primary that claimed it (readTerm). */
export interface ReplicationTerm {
  /** 1, 2, ...: each new primary of a replicated log claims the next (0: never a primary). */
  term: number;
  /** The random id of the primary that claimed it. */
  id: string;
}

/** The file holding the replication term (readTerm). */
const TERM_FILE = "replication.term";

interface Waiter {
  position: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** The asynchronous write-ahead log: a SharedArrayBuffer ring drained by a writer Worker with group commit. */
export class WalStorage implements StorageAdapter {
  readonly name = "wal";
  /** `durable` (default), `async` or `sync`. */
  readonly durability: Exclude<DurabilityMode, "memory">;
  readonly snapshots: SnapshotStore;
  readonly consumers: ConsumerStore;
  /** The WAL directory. */
  readonly directory: string;
  /** What recovery found and did at open. */
  recovered?: Recovered;

  readonly #fs: FileSystem;
  readonly #fileSystemModule: string;
  readonly #spawnWriter: SpawnWriter;
  readonly #options: ResolvedWalOptions;
  readonly #codecs: CodecTable;
  readonly #encoder: RecordEncoder;
  readonly #plan = newPlan();
  #observer?: Observer;
  #worker?: WriterThread;
  #ring?: RingBuffers;
  #control!: Int32Array;
  #readDurable?: () => number;
  #bytes!: Uint8Array;
  #view!: DataView;
  #capacity = 0;
  /** Bytes the producer has written into the ring since open, a double: it never wraps (ring-records.ts finds records by it). */
  #written = 0;
  /** The last records appended, for the store's event buffer (`keepRecent`). */
  #recent?: RingRecords;
  /** Producer cursor: `#written` as the uint32 byte counter the writer and the tap count in (published to Slot.Head by `#publish`). */
  get #cursor(): number {
    return this.#written >>> 0;
  }
  /** The cursor as last stored to Slot.Head (only whole appends are published). */
  #published = 0;
  #publishQueued = false;
  /** Unpublished bytes that make an append publish at once (a quarter of the ring, at most 16 KiB). */
  #publishBytes = 0;
  /** Where the append being encoded began. */
  #appendStart = 0;
  /** The writer's Tail as the producer last read it (a uint32 byte counter, never ahead of the real one). */
  #tailSeen = 0;
  /** The records a replicator has yet to take (`keepEncoded`), held in the ring. */
  #tap?: EncodedTap;
  #head = 0;
  /** The segments, oldest first (filled at open; grows as the writer starts new ones): the reader reads the same list. */
  readonly #segments: SegmentIndex[] = [];
  /** The log's id (chosen when its first segment is made). */
  #logId?: string;
  #waiters: Waiter[] = [];
  #watchdog?: ReturnType<typeof setInterval>;
  #lastProgress = 0;
  #lastDurableSeen = 0;
  #failure?: StorageError;
  #state: "new" | "open" | "closing" | "closed" = "new";
  #releaseLock?: () => Promise<void>;
  /** Reads the segment files back (segment-reader.ts). */
  readonly #reader: SegmentReader;
  /** What recovery scans through, and `read` and checkpoints decode from (read-window.ts says why one buffer). */
  readonly #window = new ReadWindow();
  #closed?: () => void;

  /** Use `fileStorage` from `eventfold/adapter/file` (or the deno, bun or node adapter). */
  constructor(runtime: WalRuntime, directory: string, options?: WalOptions) {
    this.#options = resolveWalOptions(options);
    this.durability = this.#options.durability;
    if (typeof directory !== "string" || directory.length === 0) {
      throw new ValidationError("WAL storage", [{ path: "directory", message: "must be a non-empty string" }]);
    }
    const { faults, codecs } = this.#options;
    // Injected faults stand for the runtime's own errors, so they sit below the naming layer.
    this.#fs = namingFiles(faults?.length ? withFaults(runtime.fs, faults) : runtime.fs);
    this.#fileSystemModule = runtime.fileSystemModule;
    this.#spawnWriter = runtime.spawnWriter;
    this.directory = directory;
    this.#codecs = new CodecTable(codecs);
    this.#encoder = new RecordEncoder(this.#codecs);
    // Injected faults are the main thread's reads' to meet: no second thread reads then.
    const readAhead = runtime.spawnReadAhead === undefined || faults?.length ? undefined : {
      spawn: runtime.spawnReadAhead,
      fileSystemModule: runtime.fileSystemModule,
      written: () => this.durablePosition(),
    };
    this.#reader = new SegmentReader(this.#fs, directory, this.#segments, this.#window, readAhead);
    this.snapshots = new FileSnapshotStore(this.#fs, joinPath(directory, "snapshots"));
    this.consumers = new FileConsumerStore(this.#fs, joinPath(directory, "consumers"));
  }

  async open(onRecord: RecordReporter, onCheckpoint?: (checkpoint: IndexCheckpoint) => boolean): Promise<void> {
    if (this.#state !== "new") throw new StorageError("WAL storage can be opened once");
    try {
      makeDirectoryDurably(this.#fs, this.directory);
    } catch (error) {
      throw new StorageError(`cannot create the WAL directory: ${(error as Error).message}`, { cause: error, file: this.directory });
    }
    this.#releaseLock = await acquireLock(this.#fs, this.directory);
    try {
      // The writer thread loads its code while this one scans the log (it starts on the
      // start message, sent once recovery is done): on Node that took some 90 ms of open.
      // `sync` acknowledges each append after its own fdatasync: done on the caller's
      // thread, that costs the fdatasync alone, where a writer thread adds a wake-up and a
      // message.
      this.#worker = this.durability === "sync" ? inlineWriterThread() : this.#spawnWriter();
      const recovered = recover(this.#fs, this.directory, new RecordDecoder(this.#codecs), {
        repair: this.#options.repair,
        window: this.#window,
        onRecord,
        onCheckpoint: onCheckpoint && ((position, bytes) => onCheckpoint({ position, bytes })),
      });
      this.recovered = recovered;
      for (const segment of recovered.segments) this.#segments.push(segment);
      this.#head = recovered.headPosition;
      await this.#startWorker();
    } catch (error) {
      this.#stopWatchdog();
      if (this.#control) this.#abandonWriter();
      this.#worker?.terminate();
      this.#worker = undefined;
      const release = this.#releaseLock;
      this.#releaseLock = undefined;
      await releaseAndThrow(error, release);
    }
    this.#state = "open";
  }

  async #startWorker(): Promise<void> {
    const ring = createRing(this.#options.ringBytes);
    this.#ring = ring;
    this.#bytes = new Uint8Array(ring.data);
    this.#view = new DataView(ring.data);
    this.#capacity = ring.data.byteLength;
    this.#recent?.attach(this.#bytes, this.#view);
    this.#publishBytes = Math.min(16 << 10, this.#capacity >> 2);
    this.#control = new Int32Array(ring.control, 0, CONTROL_SLOTS);
    Atomics.store(new BigInt64Array(ring.control, DURABLE_OFFSET_BYTES, 1), 0, BigInt(this.#head));
    this.#readDurable = durableReader(ring.control);
    const last = this.#segments.at(-1);
    const start: WriterStart = {
      data: ring.data,
      control: ring.control,
      directory: this.directory,
      fileSystemModule: this.#fileSystemModule,
      faults: this.#options.faults,
      powerLoss: this.#options.powerLoss,
      segment: last && { path: joinPath(this.directory, last.name), end: last.bytes },
      segmentBytes: this.#options.segmentBytes,
      logId: this.#logId = this.recovered!.logId ?? newLogId(),
      lastCrc: this.recovered!.lastCrc,
      maxBatch: this.#options.maxBatch,
      maxDelayMs: this.#options.maxDelayMs,
    };
    const worker = this.#worker!;
    const ready = new Promise<void>((resolve, reject) => {
      worker.listen((message) => {
        if (message.type === "ready") resolve();
        else if (message.type === "failed") reject(this.#fail(new StorageError(`WAL writer failed: ${message.message}`)));
        this.#onMessage(message);
      }, (message) => reject(this.#fail(new StorageError(`WAL writer died: ${message}`))));
    });
    worker.start(start);
    await ready;
  }

  #onMessage(message: WriterMessage): void {
    if (message.type === "durable") {
      this.#lastProgress = performance.now();
      this.#settleWaiters(message.position);
      if (this.#observer !== undefined) observeSynced(this.#observer, { records: message.records, bytes: message.bytes, syncMs: message.syncMs });
    } else if (message.type === "failed") {
      this.#fail(new StorageError(`WAL writer failed: ${message.message}`, { cause: message }));
    } else if (message.type === "closed") {
      this.#closed?.();
    }
  }

  /** The ring's fill: bytes the writer has not taken yet, of its capacity. */
  stats(): StorageStats {
    const tail = this.#control === undefined ? this.#cursor : Atomics.load(this.#control, Slot.Tail) >>> 0;
    return { ringBytes: (this.#cursor - tail) >>> 0, ringCapacity: this.#capacity };
  }

  /**
   * Writes `index.checkpoint` (checkpoint.ts): the segments as of the checkpoint's position
   * and the store's index, so the next open reads only what follows. Throws StorageError
   * if it cannot be written (the log itself is not affected).
   */
  async saveCheckpoint(checkpoint: IndexCheckpoint): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#state !== "open") throw new ClosedError("WAL storage");
    if (checkpoint.position < 1 || checkpoint.position > this.#head) {
      throw new StorageError(`checkpoint at position ${checkpoint.position}, but the log ends at ${this.#head}`);
    }
    await this.whenDurable(checkpoint.position);
    try {
      const covered = coveredSegments(this.#segments, checkpoint.position, (segment, start, end) => this.#reader.bytes(segment, start, end, this.#window));
      writeCheckpoint(this.#fs, this.directory, { logId: this.#logId!, position: checkpoint.position, index: checkpoint.bytes, ...covered });
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError(`cannot write the index checkpoint: ${(error as Error).message}`, { cause: error, file: this.directory });
    }
  }

  /** Tells `observer` of each group the writer makes durable. */
  observe(observer: Observer): void {
    this.#observer = observer;
  }

  append(records: readonly StoredRecord[]): void {
    if (this.#failure) throw this.#failure;
    if (this.#state !== "open") throw new ClosedError("WAL storage");
    if (records.length === 0) return;
    if (records[0].position !== this.#head + 1) {
      throw new StorageError(`append at position ${records[0].position}, but the log ends at ${this.#head}`);
    }
    this.#appendStart = this.#cursor;
    // One record that fits in the current segment (the hot path's common case) has nothing
    // to undo but the ring's bytes; any other append keeps what to undo of the index too.
    if (records.length !== 1 || !this.#appendOne(records[0]!)) this.#appendMany(records);
    this.#head = records[records.length - 1].position;
    if (this.#worker!.step !== undefined) {
      // A writer on this thread: the append is written and synced before it returns.
      this.#publish();
      this.#worker!.step();
      if (this.#failure) throw this.#failure;
      return;
    }
    // Published in steps of #publishBytes, and whatever is left at the end of the caller's
    // synchronous run (a microtask). The writer then reads a step behind the producer: a
    // writer that follows each append reads the cache lines the producer is still filling
    // (the next record starts in the line the last one ended in), and every one of them
    // goes back and forth between the cores; so does the line holding Head, once per store.
    if (((this.#cursor - this.#published) >>> 0) >= this.#publishBytes) this.#publish();
    else if (!this.#publishQueued) {
      this.#publishQueued = true;
      queueMicrotask(this.#publishQueuedAppends);
    }
  }

  readonly #publishQueuedAppends = (): void => {
    this.#publishQueued = false;
    if (this.#state === "open" && !this.#failure) this.#publish();
  };

  /** Hands the ring up to `end` (the end of a whole append) to the writer, waking it if it sleeps. */
  #publish(end = this.#cursor): void {
    if (this.#published === end) return;
    this.#published = end;
    Atomics.store(this.#control, Slot.Head, end | 0);
    if (Atomics.load(this.#control, Slot.WorkerWaiting) === 1) Atomics.notify(this.#control, Slot.Head);
  }

  /** Appends one record if it fits in the current segment; false, with nothing changed, if a new segment is due. */
  #appendOne(record: StoredRecord): boolean {
    const startWritten = this.#written;
    try {
      const length = this.#encoder.measure(record, this.#plan, 1);
      const padded = paddedLength(length);
      const segment = this.#segments[this.#segments.length - 1];
      if (segment === undefined || this.#rollsOver(segment, padded)) return false;
      this.#place(record, segment, length, padded, false);
      return true;
    } catch (error) {
      // Nothing was published, nor noted in the index: forget the bytes reserved.
      this.#written = startWritten;
      throw encodingError(error);
    }
  }

  /** Appends records of one append, in order, all or none. */
  #appendMany(records: readonly StoredRecord[]): void {
    const startWritten = this.#written;
    const segmentCount = this.#segments.length;
    // What the last segment's entry was, to undo (numbers: an object per append costs).
    const last = this.#segments.at(-1);
    const lastBytes = last?.bytes ?? 0;
    const lastRecords = last?.records ?? 0;
    const lastSparse = last?.sparse.length ?? 0;
    try {
      const lastIndex = records.length - 1;
      // The store generated ids (if any) for these records in order, just now.
      for (let i = 0; i <= lastIndex; i++) this.#encode(records[i], i < lastIndex, records.length - i);
    } catch (error) {
      // Nothing was published: forget what this append wrote into the ring and the index.
      this.#written = startWritten;
      this.#segments.length = segmentCount;
      if (last) {
        last.bytes = lastBytes;
        last.records = lastRecords;
        last.sparse.length = lastSparse;
      }
      throw encodingError(error);
    }
  }

  /** Encodes one record into the ring; `more` marks every record of an append but its last, `back` counts from its end. */
  #encode(record: StoredRecord, more: boolean, back: number): void {
    const length = this.#encoder.measure(record, this.#plan, back);
    const padded = paddedLength(length);
    let segment = this.#segments.at(-1);
    if (segment === undefined || this.#rollsOver(segment, padded)) segment = this.#roll(record.position);
    this.#place(record, segment, length, padded, more);
  }

  /** Whether a record of `padded` bytes starts a new segment (a segment holds at least one). */
  #rollsOver(segment: SegmentIndex, padded: number): boolean {
    return segment.records > 0 && segment.bytes + padded > this.#options.segmentBytes;
  }

  /** Starts a new segment at `position`: a roll marker in the ring, an entry in the index. */
  #roll(position: number): SegmentIndex {
    const marker = this.#reserve(MARKER_BYTES);
    this.#view.setUint32(marker, 0, true);
    this.#view.setUint32(marker + 4, ROLL_MARKER, true);
    const segment: SegmentIndex = {
      name: `segment-${String(position).padStart(16, "0")}.wal`,
      firstPosition: position,
      bytes: SEGMENT_HEADER_BYTES,
      sparse: [],
      records: 0,
    };
    this.#segments.push(segment);
    return segment;
  }

  /** Writes a measured record into the ring, at the end of `segment`. */
  #place(record: StoredRecord, segment: SegmentIndex, length: number, padded: number, more: boolean): void {
    const offset = this.#reserve(padded);
    this.#encoder.write(record, this.#plan, this.#bytes, this.#view, offset, length, more);
    this.#recent?.note(record.position, this.#written - padded);
    if (segment.records % SPARSE_EVERY === 0) segment.sparse.push(segment.bytes);
    segment.records++;
    segment.bytes += padded;
  }

  /** Returns the ring offset of `size` contiguous free bytes, waiting for the writer if needed. */
  #reserve(size: number): number {
    let offset = this.#cursor & (this.#capacity - 1);
    const toEnd = this.#capacity - offset;
    if (size > toEnd) {
      this.#waitForSpace(toEnd + size);
      this.#view.setUint32(offset, 0, true);
      this.#view.setUint32(offset + 4, WRAP_MARKER, true);
      this.#written += toEnd;
      offset = 0;
    } else {
      this.#waitForSpace(size);
    }
    this.#written += size;
    return offset;
  }

  /** Backpressure: spin briefly, then sleep until the writer frees space. Never drops. */
  #waitForSpace(size: number): void {
    const control = this.#control;
    const capacity = this.#capacity;
    // The tail last seen only moves forward: while it leaves room, the writer's cache line
    // is not touched (reading Tail on every append costs a cross-core miss each time).
    const tap = this.#tap;
    if (freeBytes(capacity, this.#cursor, tap === undefined ? this.#tailSeen : further(this.#cursor, tap.tail, this.#tailSeen)) >= size) return;
    if (this.#sawTail(Atomics.load(control, Slot.Tail)) >= size) return;
    // The writer can free only what it was given: the appends before this one.
    this.#publish(this.#appendStart);
    if (size > capacity - ((this.#cursor - this.#appendStart) >>> 0)) {
      throw new RangeError(`an append of more than ${capacity} bytes does not fit in the WAL ring (ringBytes)`);
    }
    const deadline = performance.now() + this.#options.stallTimeoutMs;
    for (let spins = 0;; spins++) {
      const tail = Atomics.load(control, Slot.Tail);
      if (this.#sawTail(tail) >= size) return;
      if (Atomics.load(control, Slot.State) === State.Failed) {
        throw this.#fail(new StorageError(`WAL writer failed: ${readFailure(this.#ring!.control)}`));
      }
      if (spins < 200) continue;
      if (performance.now() > deadline) {
        throw this.#fail(new StorageError(`WAL writer stalled: the ring stayed full for ${this.#options.stallTimeoutMs} ms`));
      }
      Atomics.store(control, Slot.ProducerWaiting, 1);
      Atomics.wait(control, Slot.Tail, tail, 1);
      Atomics.store(control, Slot.ProducerWaiting, 0);
    }
  }

  /** Takes note of the writer's `tail`; the space free up to it (a tap behind it lets go of what it held there first). */
  #sawTail(tail: number): number {
    this.#tailSeen = tail >>> 0;
    const tap = this.#tap;
    if (tap !== undefined && further(this.#cursor, tap.tail, this.#tailSeen) === tap.tail) tap.spill(this.#tailSeen);
    return freeBytes(this.#capacity, this.#cursor, this.#tailSeen);
  }

  /**
   * How many spans of records (up to 1 MiB each) a read-ahead thread served to this
   * storage's reads (docs/wal-format.md, Reading old events): 0 if none ran, for reads too
   * short to start one or a runtime without one. For diagnostics and tests.
   */
  get readAheadSpans(): number {
    return this.#reader.spansReadAhead;
  }

  durablePosition(): number {
    return this.#readDurable ? this.#readDurable() : 0;
  }

  whenDurable(position: number): Promise<void> {
    if (position <= this.durablePosition()) return Promise.resolve();
    if (this.#failure) return Promise.reject(this.#failure);
    if (position > this.#head) {
      return Promise.reject(new StorageError(`position ${position} is past the end of the log (${this.#head})`));
    }
    // Ask the writer to sync as soon as it has written this far, rather than at its deadline.
    this.#publish();
    Atomics.store(this.#control, Slot.FlushRequested, 1);
    Atomics.notify(this.#control, Slot.Head);
    return new Promise((resolve, reject) => {
      const waiters = this.#waiters;
      let at = waiters.length;
      while (at > 0 && waiters[at - 1].position > position) at--;
      waiters.splice(at, 0, { position, resolve, reject });
      this.#startWatchdog();
    });
  }

  #settleWaiters(durable: number): void {
    const waiters = this.#waiters;
    let settled = 0;
    while (settled < waiters.length && waiters[settled].position <= durable) waiters[settled++].resolve();
    if (settled > 0) waiters.splice(0, settled);
    if (waiters.length === 0) this.#stopWatchdog();
  }

  /** While someone waits for durability, a writer that makes no progress is declared stalled. */
  #startWatchdog(): void {
    if (this.#watchdog !== undefined) return;
    this.#lastProgress = performance.now();
    this.#lastDurableSeen = this.durablePosition();
    const timeout = this.#options.stallTimeoutMs;
    this.#watchdog = setInterval(() => {
      // Progress is read from shared memory, not from the writer's messages: a main thread
      // kept busy for longer than the timeout has not seen them yet, but the writer moved on.
      const durable = this.durablePosition();
      if (durable !== this.#lastDurableSeen) {
        this.#lastDurableSeen = durable;
        this.#lastProgress = performance.now();
        this.#settleWaiters(durable);
        return;
      }
      if (this.#waiters.length > 0 && performance.now() - this.#lastProgress > timeout) {
        this.#fail(new StorageError(`WAL writer stalled: no sync completed in ${timeout} ms`));
      }
    }, Math.min(1000, Math.max(10, timeout / 4)));
  }

  #abandonWriter(): void {
    Atomics.store(this.#control, Slot.State, State.Abandoned);
    Atomics.notify(this.#control, Slot.Head);
  }

  #stopWatchdog(): void {
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  /** Poisons the log with its first failure; rejects everything pending. */
  #fail(error: StorageError): StorageError {
    if (this.#failure) return this.#failure;
    this.#failure = error;
    this.#stopWatchdog();
    // Fail-stop: whatever went wrong, nothing more is written or acknowledged.
    if (this.#control && Atomics.load(this.#control, Slot.State) !== State.Failed) this.#abandonWriter();
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    this.#closed?.();
    return error;
  }

  /** The failure that stopped the log, if any. */
  get failure(): StorageError | undefined {
    return this.#failure;
  }

  async read(from: number, to: number): Promise<StoredRecord[]> {
    to = await this.#whenWritten(from, to);
    if (to < from) return [];
    return this.#reader.records(from, to, new RecordDecoder(this.#codecs));
  }

  /** See StorageAdapter.readEach: one record object, and one data object per codec that can refill one. */
  async readEach(from: number, to: number, visit: (record: StoredRecord) => void): Promise<void> {
    to = await this.#whenWritten(from, to);
    if (to >= from) this.#reader.each(from, to, new RecordDecoder(this.#codecs), true, visit);
  }

  /** `to`, or the head if lower, once the records up to it are in the files. */
  async #whenWritten(from: number, to: number): Promise<number> {
    if (this.#state === "closed") throw new ClosedError("WAL storage");
    to = Math.min(to, this.#head);
    // Records still in the ring are not in a file yet: wait until they are written.
    if (to >= from && to > this.durablePosition()) await this.whenDurable(to);
    return to;
  }

  /**
   * The records `from..to` as they are in the segment files (docs/wal-format.md: each
   * padded to 8 bytes, its CRC32C filled in), one after the other: what a replica is sent.
   * Only written records can be read: wait for `whenDurable(to)` first.
   */
  // deno-lint-ignore require-await -- async so that a range not yet written rejects rather than throws
  async readEncoded(from: number, to: number): Promise<Uint8Array> {
    this.#assertWritten(from, to);
    return this.#reader.encoded(from, to);
  }

  /** See StorageAdapter.keepRecent: the records appended from now on, read from the ring (ring-records.ts). */
  keepRecent(count: number): HeldRecords<StoredRecord> {
    if (this.#state !== "new" || this.#recent !== undefined) throw new StorageError(`WAL storage in ${this.directory} already serves an event store (keepRecent is called once, before open)`);
    this.#recent = new RingRecords(count, this.#options.ringBytes, new RecordDecoder(this.#codecs), () => this.#written);
    return this.#recent;
  }

  /**
   * Keeps the records appended from now on in the ring until `takeEncoded` takes them
   * (encoded-tap.ts): a primary's replicator then sends them without reading its files.
   */
  keepEncoded(): void {
    if (this.#state !== "open") throw new ClosedError("WAL storage");
    this.#tap = new EncodedTap(this.#bytes, this.#view, this.#capacity, this.#cursor, this.#head + 1);
  }

  /**
   * The records `from..to` as `readEncoded` gives them, taken from what `keepEncoded`
   * kept (those before it from the files), for a replicator sending them in order: the
   * next call starts at `to + 1` or before (before: from the files). Wait for
   * `whenDurable(to)` first; give the bytes back (`giveBackEncoded`) when done with them.
   */
  async takeEncoded(from: number, to: number): Promise<Uint8Array> {
    const tap = this.#tap;
    if (tap === undefined || to < tap.next) return await this.readEncoded(from, to);
    this.#assertWritten(from, to);
    // Taken before anything is awaited: meanwhile appends may make the tap let go of records.
    const kept = tap.next;
    if (from > kept) tap.take(from - 1, this.#cursor); // not wanted
    const taken = tap.take(to, this.#cursor);
    return from >= kept ? taken : concat([await this.readEncoded(from, kept - 1), taken]);
  }

  /** Encoded records `from..to` can be read: the log is not closed and they are all written. */
  #assertWritten(from: number, to: number): void {
    if (this.#state === "closed") throw new ClosedError("WAL storage");
    if (from < 1 || to > this.durablePosition()) {
      throw new StorageError(`encoded records ${from}..${to} are not all written (durable up to ${this.durablePosition()})`);
    }
  }

  /** Hands back what `takeEncoded` gave once nothing reads it any more: its buffer is reused. */
  giveBackEncoded(bytes: Uint8Array): void {
    this.#tap?.giveBack(bytes);
  }

  /**
   * Decodes records in the form `readEncoded` gives them (another log's, sent by a
   * replica), checking each one's frame and CRC32C, into its appends (each whole, as the
   * records' flags say). Throws StorageError naming the first record that does not check.
   */
  decodeEncoded(bytes: Uint8Array): StoredRecord[][] {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const decoder = new RecordDecoder(this.#codecs);
    const appends: StoredRecord[][] = [];
    let append: StoredRecord[] = [];
    for (let offset = 0; offset < bytes.length;) {
      const length = checkRecord(bytes, view, offset, bytes.length);
      if (typeof length !== "number") throw new StorageError(`replicated record at byte ${offset} does not check (${length})`);
      append.push(decoder.decode(bytes, view, offset));
      if (!recordContinues(view, offset)) {
        appends.push(append);
        append = [];
      }
      offset += paddedLength(length);
    }
    if (append.length > 0) throw new StorageError("replicated records end inside an append");
    return appends;
  }

  /**
   * The replication term this log last wrote under, and the id of the primary that
   * claimed it (term 0 if it never was a primary): kept in `replication.term` beside the
   * segments (CRC32C, then JSON), so a deposed primary that restarts knows it is not the
   * newest.
   */
  readTerm(): ReplicationTerm {
    const path = joinPath(this.directory, TERM_FILE);
    if (!this.#fs.exists(path)) return { term: 0, id: "" };
    const bytes = this.#fs.readFile(path);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4 || view.getUint32(0, true) !== crc32c(bytes, 4)) {
      throw new StorageError("the replication term file does not check", { file: path });
    }
    return JSON.parse(new TextDecoder().decode(bytes.subarray(4))) as ReplicationTerm;
  }

  /** Records (durably: temp file, fsync, rename, directory fsync) that this log now writes under `term`. */
  writeTerm(term: ReplicationTerm): void {
    const body = new TextEncoder().encode(JSON.stringify({ term: term.term, id: term.id }));
    const bytes = new Uint8Array(body.length + 4);
    bytes.set(body, 4);
    new DataView(bytes.buffer).setUint32(0, crc32c(bytes, 4), true);
    writeFileAtomically(this.#fs, this.directory, TERM_FILE, bytes);
  }

  async close(): Promise<void> {
    if (this.#state === "closed" || this.#state === "closing" || this.#state === "new") {
      this.#state = "closed";
      return;
    }
    this.#state = "closing";
    const failedBefore = this.#failure;
    try {
      if (!this.#failure && this.#worker) {
        const closed = new Promise<void>((resolve) => (this.#closed = resolve));
        this.#publish();
        Atomics.store(this.#control, Slot.State, State.Closing);
        Atomics.notify(this.#control, Slot.Head);
        this.#worker.step?.();
        this.#startWatchdog();
        await closed;
        if (!this.#failure) this.#settleWaiters(this.durablePosition());
      }
    } finally {
      this.#stopWatchdog();
      // A writer that did not close cleanly is told to stop through shared memory too:
      // terminate() does not reach a thread that never returns to its event loop.
      if (this.#control && Atomics.load(this.#control, Slot.State) !== State.Closed) this.#abandonWriter();
      this.#worker?.terminate();
      this.#worker = undefined;
      this.#reader.close();
      const release = this.#releaseLock;
      this.#releaseLock = undefined;
      await release?.();
      this.#state = "closed";
      for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#failure ?? new ClosedError("WAL storage"));
    }
    // A failure already reported to appends and waiters is not thrown again; one that
    // happened during the final flush has no one else to tell.
    if (this.#failure && this.#failure !== failedBefore) throw this.#failure;
  }
}

/** What an append's failure to encode is thrown as: the storage's own errors as they are, the rest as bad input. */
function encodingError(error: unknown): Error {
  if (error instanceof StorageError) return error;
  return new ValidationError("append", [{ path: "events", message: (error as Error).message }]);
}

/** Of two ring cursors at or behind the producer's `cursor`, the one further behind it (uint32 counters). */
const further = (cursor: number, a: number, b: number): number => (((cursor - a) >>> 0) > ((cursor - b) >>> 0) ? a : b);
