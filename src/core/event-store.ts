/**
 * The event store: streams with optimistic concurrency, a global log, reads served from
 * the event buffer or the storage adapter, durability by position, and subscriptions.
 *
 * Appends are synchronous up to the adapter's enqueue (`enqueue`), so a hot caller can
 * append many commands and await durability once, by position (`durable`). `append`
 * is the convenient form that acknowledges according to the adapter's durability mode.
 */
import {
  ClosedError,
  ConcurrencyError,
  ProjectionError,
  StorageError,
  StreamDeletedError,
  UnknownStreamError,
} from "./errors.ts";
import { type Event, type EventRegistry, type RecordedEvent, refillRecord, type StoredRecord } from "./events.ts";
import { DEFAULT_BUFFER_SIZE, EventBuffer } from "./event-buffer.ts";
import { StreamIndex } from "./stream-index.ts";
import {
  acknowledgesDurable,
  type DurabilityMode,
  type ExpectedVersion,
  expectedVersionHolds,
  type IndexCheckpoint,
  type StorageAdapter,
} from "./storage.ts";
import { Subscription, type SubscriptionOptions } from "./subscription.ts";
import { type EventFilter, eventPredicate } from "./event-filter.ts";
import { checkFunction, checkInteger, checkKeys, invalid } from "./check.ts";
import { releaseAndThrow } from "./release.ts";
import { observe, type Observer } from "./observer.ts";
import { allHaveIds, RecentIds, retriedAppend } from "./event-ids.ts";
import { isSystemType, markerRecord, STREAM_DELETED, STREAM_TRUNCATED, StreamRemovals } from "./stream-removal.ts";
import { decodeIndex, encodeIndex, type IndexState } from "./index-checkpoint.ts";

/**
 * Records decoded per storage read when replaying or folding a stream. Small enough that
 * a chunk's records die young: at 65,536 they outlived the young generation and every
 * chunk was promoted and marked, which made recovery twice as slow (Node 0.51 vs 1.02 M
 * events/s, 1 M commands; Bun 0.91 vs 1.23; Deno 0.80 vs 1.05).
 */
const REPLAY_CHUNK = 4_096;

/**
 * Records lent per storage read by visitStream: nothing of them is kept, so the chunk is
 * not bounded by the young generation; larger, it costs fewer reads (each sets up a decoder).
 */
const LENT_CHUNK = 65_536;

export type { ExpectedVersion } from "./storage.ts";

/**
 * How many records enqueueLent keeps to lend again, and the longest list it keeps: an
 * append longer than that (a sweep of the book) makes objects for the rest, rather than
 * keep them for the store's whole life.
 */
const MAX_LENT = 1024;
const MAX_LENT_LIST = 64;

/** Options of an append. */
export interface AppendOptions {
  /** Refuse the append (ConcurrencyError) unless the stream is at this version. */
  expectedVersion?: ExpectedVersion;
}

/** What an append returns. */
export interface AppendResult<E extends Event = Event> {
  /** The stream's version after the append. */
  streamVersion: number;
  /** Global position of the first appended event (head + 1 when nothing was appended). */
  firstPosition: number;
  /** Global position of the last appended event (the head when nothing was appended). */
  position: number;
  /** The events as stored (validated), with their stream versions and positions. */
  events: RecordedEvent<E>[];
}

/** Where a stream's deletion or truncation marker went. */
export interface StreamRemovalResult {
  /** The stream's version after the marker (the marker takes a version, as any event). */
  streamVersion: number;
  /** The marker's global position. */
  position: number;
}

/** Which part of a stream to read. */
export interface ReadStreamOptions {
  /** First version to read (forwards) or the version to start from (backwards). */
  from?: number;
  /** Last version to read, inclusive (forwards), or lowest version (backwards). */
  to?: number;
  /** At most this many events. */
  limit?: number;
  /** Oldest first (default) or newest first. */
  direction?: "forwards" | "backwards";
}

/** Which part of the global log to read. */
export interface ReadAllOptions {
  /** First global position (default 1). */
  from?: number;
  /** Last global position, inclusive. */
  to?: number;
  /** At most this many events (of those the filter lets through). */
  limit?: number;
  /** Only the events it matches (by stream, stream prefix, type, correlation id). */
  filter?: EventFilter;
}

/**
 * A projection updated in the same step as the append. If `apply` throws, the append it
 * belongs to still stands (it is already in the log): the projection is marked faulted,
 * stops receiving events, and the store reports a ProjectionError (see `onProjectionError`).
 */
export interface InlineProjection<E extends Event = Event> {
  /** A name for messages. */
  readonly name: string;
  /** Folds one event into the projection. */
  apply(event: RecordedEvent<E>): void;
  /** Told once when `apply` threw: the read model is no longer current. */
  fault?(error: ProjectionError): void;
  /** Its state, JSON-compatible, for the store's index checkpoint (with `restore`: see `EventStore.checkpoint`). */
  save?(): unknown;
  /** Takes back a state `save` gave, instead of replaying the log up to the checkpoint. */
  restore?(saved: unknown): void;
}

/** What an event store needs. */
export interface EventStoreOptions<E extends Event> {
  /** The event types this store accepts. */
  events: EventRegistry<E>;
  /** Where the log is kept (`openEventStore` defaults it to a fresh memory adapter). */
  storage: StorageAdapter;
  /** How many recent events the in-memory buffer holds (default 10,000). */
  bufferSize?: number;
  /** Inline projections; they also see every event replayed when the store opens. */
  projections?: InlineProjection<E>[];
  /**
   * Told when an inline projection throws. The append stands; the projection is faulted.
   * Default: the error is written to `console.error`.
   */
  onProjectionError?: (error: ProjectionError) => void;
  /** Tracing and metrics hooks (`eventfold/otel` makes one for OpenTelemetry). */
  observer?: Observer;
  /**
   * Events appended without an id get a new UUIDv7, time-ordered (`"generate"`, the default), or none
   * (`"given"`: only ids the caller gives are kept; a hot aggregate saves the bytes).
   */
  eventIds?: "generate" | "given";
}

/** Streams with optimistic concurrency over one global log, kept by a storage adapter. */
export class EventStore<E extends Event = Event> {
  /** The event types it accepts. */
  readonly events: EventRegistry<E>;
  /** Where the log is kept. */
  readonly storage: StorageAdapter;
  /** The most recent events, in memory. */
  readonly buffer: EventBuffer<E>;
  /** Its tracing and metrics hooks, if any. */
  readonly observer?: Observer;
  readonly #index = new StreamIndex();
  readonly #removals = new StreamRemovals();
  readonly #recentIds: RecentIds<E>;
  readonly #generateIds: boolean;
  readonly #projections: InlineProjection<E>[] = [];
  readonly #faults: ProjectionError[] = [];
  readonly #onProjectionError: (error: ProjectionError) => void;
  readonly #subscriptions = new Set<Subscription<E>>();
  #wakeAppended: (() => void)[] = [];
  readonly #shared: boolean;
  #catchingUp: Promise<void> = Promise.resolve();
  /** Catch-ups queued or running (#takeIn). */
  #catchUps = 0;
  #unwatch?: () => void;
  #head = 0;
  /** The position of the last index checkpoint saved or opened from (0: none). */
  #checkpointed = 0;
  /** Whether the store opened (a store that failed to open saves no checkpoint). */
  #opened = false;
  /** Whether the storage keeps this store's appends for the buffer (StorageAdapter.keepRecent). */
  readonly #holdsAppends: boolean;
  #state: "new" | "opening" | "open" | "closed" = "new";

  /** A store; call `open()` before use (or use `openEventStore`). Throws ValidationError on bad options. */
  constructor(options: EventStoreOptions<E>) {
    checkStoreOptions(options);
    this.events = options.events;
    this.storage = options.storage;
    this.#shared = options.storage.shared === true;
    if (this.#shared && (typeof options.storage.appendShared !== "function" || typeof options.storage.head !== "function")) {
      invalid("event store options", "storage", "is shared but lacks appendShared or head");
    }
    const capacity = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    // An adapter that keeps its recent records encoded (the file WAL's ring) serves the
    // buffer's newest events: the store's own appends are then held as bytes, decoded when
    // read, not as objects (event-buffer.ts says why).
    const recent = this.#shared ? undefined : options.storage.keepRecent?.(capacity);
    this.#holdsAppends = recent !== undefined;
    this.buffer = new EventBuffer(capacity, recent && {
      oldest: () => recent.oldest(),
      read: (position) => {
        const record = recent.read(position);
        return record === undefined ? undefined : this.#decode(record);
      },
    });
    this.#recentIds = new RecentIds(this.buffer);
    this.#generateIds = options.eventIds !== "given";
    for (const projection of options.projections ?? []) this.#projections.push(projection);
    this.#onProjectionError = options.onProjectionError ?? ((error) => console.error(error));
    this.observer = options.observer;
  }

  /**
   * Opens the adapter and replays its log into the index and the buffer. If anything
   * fails after the adapter opened (an event type the registry lacks, a gap), the adapter
   * is closed again (its writer stopped, its lock released) and the store is closed.
   */
  async open(): Promise<void> {
    if (this.#state !== "new") throw new StorageError("event store is already opened");
    this.#state = "opening";
    const markers: number[] = [];
    let checkpoint: IndexState | undefined;
    const fromCheckpoint = (saved: IndexCheckpoint): boolean => {
      if (this.#head !== 0) return false;
      try {
        checkpoint = decodeIndex(saved.bytes);
      } catch {
        return false; // not one this store can read: the storage reports every record instead
      }
      if (checkpoint.position !== saved.position) return (checkpoint = undefined, false);
      for (const [streamId, version, pairs, runs] of checkpoint.streams) this.#index.restore(streamId, version, pairs, runs);
      markers.push(...checkpoint.markers);
      this.#head = this.#checkpointed = checkpoint.position;
      return true;
    };
    try {
      await this.storage.open((streamId, streamVersion, position, marker) => {
        if (position !== this.#head + 1 || streamVersion !== this.#index.version(streamId) + 1) {
          throw new StorageError(
            `storage reported ${streamId}@${streamVersion} at position ${position} after position ${this.#head}: the log has a gap`,
          );
        }
        this.#head = position;
        this.#index.add(streamId, position, 1);
        if (marker === true) markers.push(position);
      }, fromCheckpoint);
    } catch (error) {
      this.#state = "closed";
      throw error;
    }
    try {
      // What the markers removed must be known before anything is read or projected.
      for (const position of markers) for (const record of await this.storage.read(position, position)) this.#removals.apply(record);
      await this.#replay(checkpoint);
    } catch (error) {
      this.#state = "closed";
      await releaseAndThrow(error, () => this.storage.close());
    }
    this.#state = "open";
    this.#opened = true;
    if (this.observer !== undefined) this.#attachObserver(this.observer);
    // Follow the other writers of a shared log as they commit.
    this.#unwatch = this.storage.watch?.(() => {
      this.catchUp().catch((error) => {
        if (!this.closed) console.error(`eventfold: catching up with ${this.storage.name} storage failed:`, error);
      });
    });
  }

  #attachObserver(observer: Observer): void {
    this.storage.observe?.(observer);
    try {
      observer.attach?.({ head: () => this.#head, durable: () => this.storage.durablePosition(), storage: () => this.storage.stats?.() });
    } catch (error) {
      console.error("eventfold: an observer hook threw:", error);
    }
  }

  /**
   * Decodes what the buffer keeps, plus what inline projections must be rebuilt from: the
   * whole log, or only what follows the checkpoint if they all restored their state from it.
   */
  async #replay(checkpoint: IndexState | undefined): Promise<void> {
    const firstBuffered = Math.max(1, this.#head - this.buffer.capacity + 1);
    const buffered: RecordedEvent<E>[] = [];
    const projectFrom = this.#restoreProjections(checkpoint) ? checkpoint!.position + 1 : 1;
    const from = this.#projections.length > 0 ? Math.min(projectFrom, firstBuffered) : firstBuffered;
    for (let start = from; start <= this.#head; start += REPLAY_CHUNK) {
      const records = await this.storage.read(start, Math.min(this.#head, start + REPLAY_CHUNK - 1));
      for (const record of records) {
        const event = this.#decode(record);
        if (event.position >= firstBuffered) {
          this.buffer.push(event);
          buffered.push(event);
        }
        if (this.#projections.length > 0 && event.position >= projectFrom && !this.#removals.hides(event)) this.#project(event);
      }
    }
    // The buffered events' ids, so a retry of one of their appends is recognized after a restart.
    this.#recentIds.add(buffered);
  }

  /** Restores every inline projection from the checkpoint, if all of them can be. */
  #restoreProjections(checkpoint: IndexState | undefined): boolean {
    const saved = checkpoint?.projections;
    const projections = this.#projections;
    if (saved === undefined || projections.length === 0) return false;
    if (!projections.every((p) => typeof p.restore === "function" && Object.hasOwn(saved, p.name))) return false;
    for (const projection of projections) projection.restore!(saved[projection.name]);
    return true;
  }

  /**
   * Saves the index (streams, versions, markers) and the inline projections' states (when
   * all can `save`) as of the head, once it is durable, if the storage keeps checkpoints
   * (the file WAL): the next open then reads only what came after. Done at `close` too;
   * call it now and then (say, every few million events) to keep a crash's open short.
   * Resolves false if the storage keeps none.
   */
  async checkpoint(): Promise<boolean> {
    this.#assertOpen();
    return await this.#saveCheckpoint();
  }

  async #saveCheckpoint(): Promise<boolean> {
    if (this.storage.saveCheckpoint === undefined || this.#shared) return false;
    const position = this.#head;
    await this.storage.whenDurable(position);
    const projections = this.#projections.length > 0 && this.#projections.every((p) => typeof p.save === "function")
      ? Object.fromEntries(this.#projections.map((p) => [p.name, p.save!()]))
      : undefined;
    await this.storage.saveCheckpoint({ position, bytes: encodeIndex(position, this.#index, this.#removals.positions, projections) });
    this.#checkpointed = position;
    return true;
  }

  /** The storage's durability mode. */
  get durability(): DurabilityMode {
    return this.storage.durability;
  }

  /** Position of the newest event in the log (0 when empty). */
  get headPosition(): number {
    return this.#head;
  }

  /** Highest position known durable. */
  get durablePosition(): number {
    return this.storage.durablePosition();
  }

  /** The stream's version: its number of events, 0 if it has none. */
  streamVersion(streamId: string): number {
    return this.#index.version(streamId);
  }

  /** Global position of the event at `version` of a stream. */
  positionOf(streamId: string, version: number): number {
    return this.#index.positionOf(streamId, version);
  }

  /** Every stream that has events (a deleted one has none). */
  streamIds(): string[] {
    const ids = [...this.#index.streamIds()];
    return this.#removals.any ? ids.filter((id) => !this.#removals.deleted(id)) : ids;
  }

  /** Whether the stream was deleted (`deleteStream`). */
  streamDeleted(streamId: string): boolean {
    return this.#removals.deleted(streamId);
  }

  /** The stream's first version reads return: 1, or the `before` of its latest truncation. */
  streamFirstVersion(streamId: string): number {
    return this.#removals.firstVersion(streamId);
  }

  /**
   * Whether reads leave `event` out: one of the store's own markers ("$" types), or an
   * event of a deleted stream or from before its stream's truncation. (For code that reads
   * `buffer` directly, as the command handler does.)
   */
  hides(event: { type: string; streamId: string; streamVersion: number }): boolean {
    return this.#removals.hides(event);
  }

  /**
   * Deletes a stream: appends a tombstone to it (its next version, the log's next position,
   * acknowledged per the durability mode). From then on the stream reads as gone (its reads
   * throw StreamDeletedError, it leaves `streamIds`, `readAll` and subscriptions), and
   * appends to it are refused with StreamDeletedError; it cannot be created again. The
   * global log keeps its positions. Throws UnknownStreamError for a stream with no events,
   * ConcurrencyError if `expectedVersion` does not hold. What is physically removed, and
   * when, depends on the storage (docs/guides/stream-removal.md).
   */
  deleteStream(streamId: string, options?: AppendOptions): Promise<StreamRemovalResult> {
    return this.#appendMarker(streamId, STREAM_DELETED, {}, options);
  }

  /**
   * Truncates a stream: its events before version `before` read as gone (GDPR-style
   * removal of old events; keep a snapshot of the state first if a decider needs it).
   * Appends a marker to the stream, which takes its next version; a later truncation
   * can only remove more. `before` runs from 1 to the stream's version + 1 (all of it).
   */
  truncateStream(streamId: string, before: number, options?: AppendOptions): Promise<StreamRemovalResult> {
    return this.#appendMarker(streamId, STREAM_TRUNCATED, { before }, options);
  }

  async #appendMarker(
    streamId: string,
    type: typeof STREAM_DELETED | typeof STREAM_TRUNCATED,
    data: Record<string, number>,
    options: AppendOptions | undefined,
  ): Promise<StreamRemovalResult> {
    this.#assertOpen();
    checkAppendArguments(streamId, []);
    checkKeys(type === STREAM_DELETED ? "deleteStream" : "truncateStream", options ?? {}, ["expectedVersion"]);
    const expected = options?.expectedVersion;
    if (expected !== undefined) checkExpectedShape(expected);
    // A shared log: judge the stream on what every writer appended.
    if (this.#shared) await this.catchUp();
    if (this.#removals.deleted(streamId)) throw new StreamDeletedError(streamId);
    const current = this.#index.version(streamId);
    if (current === 0) throw new UnknownStreamError(streamId);
    if (type === STREAM_TRUNCATED && !(Number.isSafeInteger(data.before) && data.before >= 1 && data.before <= current + 1)) {
      invalid("truncateStream", "before", `must be an integer from 1 to ${current + 1} (the stream's version + 1), got ${String(data.before)}`);
    }
    if (expected !== undefined) checkExpected(streamId, expected, current);
    let position: number;
    if (this.#shared) {
      const record = markerRecord(type, data, streamId, 0, 0);
      position = await this.storage.appendShared!(streamId, expected ?? current, [record]);
      await this.#takeIn(position, [record]);
    } else {
      const record = markerRecord(type, data, streamId, current + 1, this.#head + 1);
      this.storage.append([record]);
      this.#commit(streamId, [record as RecordedEvent<E>], false);
      position = record.position;
    }
    if (acknowledgesDurable(this.storage.durability)) await this.storage.whenDurable(position);
    // Reads leave the removed events out from here on; the storage may erase them now.
    await this.storage.redact?.(streamId, type === STREAM_DELETED ? this.#index.version(streamId) : data.before);
    return { streamVersion: this.#index.version(streamId), position };
  }

  /**
   * Validates, checks the expected version and hands the events to storage, all
   * synchronously. On any error nothing was appended. Await `durable(result.position)`
   * when the events must survive a crash.
   */
  enqueue(streamId: string, events: readonly E[], options?: AppendOptions): AppendResult<E> {
    const recorded = this.enqueueEvents(streamId, events, options?.expectedVersion);
    if (recorded.length > 0) return appendResultOf(recorded);
    return { streamVersion: this.#index.version(streamId), firstPosition: this.#head + 1, position: this.#head, events: recorded };
  }

  /**
   * `enqueue` for a hot path: the same checks and effects, but it returns only the recorded
   * events, and makes no result object (the last event carries the stream's version and
   * position; with none, nothing was appended).
   */
  enqueueEvents(streamId: string, events: readonly E[], expectedVersion?: ExpectedVersion): RecordedEvent<E>[] {
    return this.#enqueue(streamId, events, expectedVersion, false);
  }

  /**
   * `enqueueEvents`, but the recorded events (and the list) may be lent: objects it returned
   * before, refilled, valid only until the next `enqueueLent`. For a hot path that keeps
   * nothing of them past the command (CommandHandler.executeLent), so that an append makes
   * no object per event. It lends only where nothing else keeps them (`keepsNoEvents`), and
   * only records of events with no id (given or generated); otherwise it returns new ones,
   * as `enqueueEvents` does.
   */
  enqueueLent(streamId: string, events: readonly E[], expectedVersion?: ExpectedVersion): RecordedEvent<E>[] {
    return this.#enqueue(streamId, events, expectedVersion, this.keepsNoEvents && !this.#generateIds);
  }

  /**
   * Whether nothing keeps the events appended past their append: the storage holds them
   * encoded (StorageAdapter.keepRecent: the file WAL) and no inline projection sees them.
   * A hot path may then lend them (enqueueLent, Decider.decideLent).
   */
  get keepsNoEvents(): boolean {
    return this.#holdsAppends && this.#projections.length === 0;
  }

  /** The records enqueueLent lends, and its lists of them, by length. */
  readonly #lentRecords: StoredRecord[] = [];
  readonly #lentLists: StoredRecord[][] = [];

  #enqueue(streamId: string, events: readonly E[], expectedVersion: ExpectedVersion | undefined, lend: boolean): RecordedEvent<E>[] {
    if (this.#state !== "open") this.#assertOpen();
    checkAppendArguments(streamId, events);
    if (this.#shared) {
      throw new StorageError(`${this.storage.name} storage is shared with other writers: its appends are asynchronous, use append()`);
    }
    if (this.#removals.any && this.#removals.deleted(streamId)) throw new StreamDeletedError(streamId);
    const current = this.#index.version(streamId);
    const idsGiven = allHaveIds(events);
    if (idsGiven) {
      const original = this.#bufferedRetry(streamId, events, expectedVersion);
      if (original !== undefined) return original;
    }
    checkDistinctIds(events);
    if (expectedVersion !== undefined) checkExpected(streamId, expectedVersion, current);
    const count = events.length;
    if (count === 0) return [];
    const first = this.#head + 1;
    const timestamp = Date.now();
    const lent = lend ? this.#lentRecords : undefined;
    const records: StoredRecord[] = lent === undefined ? new Array(count) : this.#lentList(count);
    for (let i = 0; i < count; i++) {
      const event = events[i];
      const into = lent?.[i];
      // A lent record is refilled here with an event that needs no check but its type's
      // (`lendable`: in context, toRecord cost Node 40-60 ns a command more). toRecord checks
      // the others, and fills a lent record only for an event with no id (else makes a new one).
      const definition = into === undefined ? undefined : this.events.lendable(event);
      records[i] = definition === undefined
        ? this.events.toRecord(event, i, streamId, current + i + 1, first + i, timestamp, this.#generateIds, into)
        : refillRecord(into!, definition.type, event!.data, undefined, definition.version, streamId, current + i + 1, first + i, timestamp);
    }
    // Made the first time: kept to be lent again, up to the first with an id (a refill
    // would leave its id in place).
    if (lent !== undefined) for (let i = lent.length; i < count && i < MAX_LENT && records[i]!.id === undefined; i++) lent.push(records[i]!);
    this.storage.append(records);
    // Appended records double as the recorded events (same shape as decoded ones).
    const recorded = records as unknown as RecordedEvent<E>[];
    this.#commit(streamId, recorded, idsGiven);
    return recorded;
  }

  /** A lent list of `count` records (lists of up to 64 are kept, one per length). */
  #lentList(count: number): StoredRecord[] {
    if (count > MAX_LENT_LIST) return new Array(count);
    return this.#lentLists[count] ??= new Array(count);
  }

  /**
   * Appends and acknowledges by the storage's durability mode: after the covering
   * fdatasync in `durable` and `sync`, after it and the replica's acknowledgement in
   * `replicated`, at once in `async` and `memory`.
   */
  async append(streamId: string, events: readonly E[], options?: AppendOptions): Promise<AppendResult<E>> {
    const end = observe(this.observer, "append", { streamId, events: events?.length ?? 0, durability: this.storage.durability });
    try {
      let result: AppendResult<E>;
      try {
        if (this.#shared) result = await this.#appendShared(streamId, events, options);
        else result = this.enqueue(streamId, events, options);
      } catch (error) {
        // A retry whose original fell out of the buffer: with an exact expected version, read it back.
        const original = error instanceof ConcurrencyError ? await this.#storedRetry(streamId, events, options?.expectedVersion) : undefined;
        if (original === undefined) throw error;
        result = original;
      }
      if (acknowledgesDurable(this.storage.durability)) await this.storage.whenDurable(result.position);
      end();
      return result;
    } catch (error) {
      end(error);
      throw error;
    }
  }

  /** The original events of `events`, if they are a retry of an append still in the buffer. */
  #bufferedRetry(streamId: string, events: readonly E[], expected: ExpectedVersion | undefined): RecordedEvent<E>[] | undefined {
    const position = this.#recentIds.find(streamId, events[0]!.id!);
    if (position === undefined) return undefined;
    const buffered = Array.from({ length: events.length }, (_, i) => this.buffer.get(position + i));
    return retriedAppend(streamId, events, expected, buffered);
  }

  /** The original result of `events` (all with ids), read back at the exact version `expected` says they were appended at. */
  async #storedRetry(streamId: string, events: readonly E[], expected: ExpectedVersion | undefined): Promise<AppendResult<E> | undefined> {
    if (typeof expected !== "number" || !allHaveIds(events) || this.#index.version(streamId) < expected + events.length) return undefined;
    const stored = await this.readStream(streamId, { from: expected + 1, limit: events.length });
    const original = retriedAppend(streamId, events, expected, stored);
    return original && appendResultOf(original);
  }

  /**
   * Appends records another log already numbered and stamped (a follower applying its
   * primary's log): each must be the log's next position and its stream's next version.
   * They are decoded and validated like replayed records; on any error nothing is
   * appended. Returns them as recorded events. Synchronous, like `enqueue`.
   */
  appendReplicated(records: readonly StoredRecord[]): RecordedEvent<E>[] {
    if (this.#state !== "open") this.#assertOpen();
    if (this.#shared) throw new StorageError(`${this.storage.name} storage is shared: it has its own writers`);
    const versions = new Map<string, number>();
    const events = records.map((record, i) => {
      const version = versions.get(record.streamId) ?? this.#index.version(record.streamId);
      if (record.position !== this.#head + 1 + i || record.streamVersion !== version + 1) {
        throw new StorageError(
          `replicated record ${record.streamId}@${record.streamVersion} at position ${record.position} does not follow ` +
            `position ${this.#head + i} (the stream is at version ${version})`,
        );
      }
      versions.set(record.streamId, version + 1);
      return this.#decode(record);
    });
    if (events.length === 0) return events;
    this.storage.append(records);
    // Committed in runs of one stream, as the index keeps them.
    for (let start = 0; start < events.length;) {
      let end = start + 1;
      while (end < events.length && events[end]!.streamId === events[start]!.streamId) end++;
      this.#commit(events[start]!.streamId, events.slice(start, end));
      start = end;
    }
    return events;
  }

  /**
   * A shared log's append: validated here, committed by the log (which assigns positions
   * and checks the expected version against every writer's events), then taken in with
   * whatever other writers committed before it, in position order.
   */
  async #appendShared(streamId: string, events: readonly E[], options?: AppendOptions): Promise<AppendResult<E>> {
    this.#assertOpen();
    checkAppendArguments(streamId, events);
    const expected = options?.expectedVersion ?? "any";
    checkExpectedShape(expected);
    if (this.#removals.deleted(streamId)) throw new StreamDeletedError(streamId);
    if (events.length === 0) {
      await this.catchUp();
      return { streamVersion: this.#index.version(streamId), firstPosition: this.#head + 1, position: this.#head, events: [] };
    }
    if (allHaveIds(events)) {
      // A retry must be judged on what every writer appended: take their appends in first.
      await this.catchUp();
      const original = this.#bufferedRetry(streamId, events, options?.expectedVersion);
      if (original !== undefined) return appendResultOf(original);
    }
    const timestamp = Date.now();
    checkDistinctIds(events);
    const records = events.map((event, i) => this.events.toRecord(event, i, streamId, 0, 0, timestamp, this.#generateIds));
    const position = await this.storage.appendShared!(streamId, expected, records);
    // Committed: from here on the append is done, whatever happens. The log assigned the
    // records' positions and versions, so they double as the recorded events.
    const recorded = records as unknown as RecordedEvent<E>[];
    const result = { streamVersion: recorded.at(-1)!.streamVersion, firstPosition: recorded[0]!.position, position, events: recorded };
    if (this.#catchUps === 0 && this.#head + 1 === recorded[0]!.position && this.#state === "open") {
      // Nothing is being caught up and ours come next (the usual case: a log answers its
      // appends in position order): take them in now, without a turn of the event loop.
      this.#admit(recorded);
      return result;
    }
    try {
      await this.#takeIn(position, records);
    } catch {
      // Taking in the log (ours and the others' appends) failed, say on a lost connection:
      // that must not turn a committed append into a failed one. The store's view lags
      // until the next catchUp, which reads from where this one stopped (and fails loudly
      // if the log is still out of reach).
    }
    return result;
  }

  /** Whether the log is shared with other writers (appends are then asynchronous only). */
  get shared(): boolean {
    return this.#shared;
  }

  /**
   * Takes in what other writers committed to a shared log, up to `position` (default: the
   * log's head): index, buffer, inline projections, subscriptions. A no-op for logs this
   * store alone writes. Runs one at a time.
   */
  catchUp(position?: number): Promise<void> {
    if (!this.#shared) return Promise.resolve();
    return this.#takeIn(position);
  }

  /** catchUp, given this store's own just-committed `own` records (not read back from the log). */
  #takeIn(position: number | undefined, own?: StoredRecord[]): Promise<void> {
    this.#catchUps++;
    const next = this.#catchingUp.then(() => this.#catchUpTo(position, own)).finally(() => this.#catchUps--);
    this.#catchingUp = next.catch(() => {});
    return next;
  }

  async #catchUpTo(position: number | undefined, own: StoredRecord[] | undefined): Promise<void> {
    this.#assertOpen();
    const target = position ?? await this.storage.head!();
    const ownFrom = own?.[0]?.position ?? Infinity;
    while (this.#head < target) {
      // What others committed before our own records is read from the log; ours, we have.
      const records = this.#head + 1 === ownFrom ? own! : await this.storage.read(
        this.#head + 1,
        Math.min(target, this.#head + REPLAY_CHUNK, this.#head < ownFrom ? ownFrom - 1 : Infinity),
      );
      if (records.length === 0 || records[0]!.position !== this.#head + 1) {
        throw new StorageError(`${this.storage.name} storage returned no record at position ${this.#head + 1} (head ${target})`);
      }
      // Our own records were validated when appended (toRecord): they are recorded events
      // already, as on the file WAL's path; what others wrote is decoded and validated.
      this.#admit(records === own ? records as RecordedEvent<E>[] : records.map((record) => this.#decode(record)));
    }
  }

  /** Takes in the log's next events: index, head, buffer, inline projections, subscriptions. */
  #admit(events: readonly RecordedEvent<E>[]): void {
    for (const event of events) {
      this.#index.add(event.streamId, event.position, 1);
      this.#head = event.position;
      this.buffer.push(event);
      if (isSystemType(event.type)) this.#removals.apply(event);
      else if (this.#projections.length > 0) this.#project(event);
    }
    this.#recentIds.add(events);
    if (this.#wakeAppended.length > 0) this.#wake();
  }

  /** Resolves once every event up to `position` (default: the head) is durable. */
  durable(position: number = this.#head): Promise<void> {
    if (this.#state === "closed" && position > this.storage.durablePosition()) {
      return Promise.reject(new ClosedError("event store"));
    }
    if (this.observer?.durable === undefined) return this.storage.whenDurable(position);
    const end = observe(this.observer, "durable", { position });
    return this.storage.whenDurable(position).then(() => end(), (error) => {
      end(error);
      throw error;
    });
  }

  /** Registers an inline projection; it sees every event appended from now on (pass
   * projections to the constructor to have them see the replayed log as well). */
  project(projection: InlineProjection<E>): void {
    checkProjection(projection, "projection");
    this.#projections.push(projection);
  }

  /** The inline projections that threw, each with its error (they receive no more events). */
  get projectionFaults(): readonly ProjectionError[] {
    return this.#faults;
  }

  /** Reads a stream's events. Throws UnknownStreamError if it has none. */
  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    const version = this.#index.version(streamId);
    const limit = checkReadOptions(options, ["from", "to", "limit", "direction"]);
    if (options.direction !== undefined && options.direction !== "forwards" && options.direction !== "backwards") {
      invalid("read", "direction", `must be "forwards" or "backwards", got ${JSON.stringify(options.direction)}`);
    }
    if (version === 0) throw new UnknownStreamError(streamId);
    if (this.#removals.deleted(streamId)) throw new StreamDeletedError(streamId);
    const backwards = options.direction === "backwards";
    const versions: number[] = [];
    // Truncated events and markers read as gone.
    const first = this.#removals.firstVersion(streamId);
    if (backwards) {
      const start = Math.min(options.from ?? version, version);
      const lowest = Math.max(options.to ?? 1, first);
      for (let v = start; v >= lowest && versions.length < limit; v--) {
        if (!this.#removals.isMarker(streamId, v)) versions.push(v);
      }
    } else {
      const end = Math.min(options.to ?? version, version);
      for (let v = Math.max(options.from ?? 1, first); v <= end && versions.length < limit; v++) {
        if (!this.#removals.isMarker(streamId, v)) versions.push(v);
      }
    }
    return await this.#readPositions(versions.map((v) => this.#index.positionOf(streamId, v)));
  }

  /**
   * Reads a stream forwards from `from` in chunks of at most `chunk` events, so a long
   * stream (a hot aggregate's, rebuilt without a snapshot) never sits in memory at once.
   */
  async *readStreamChunks(streamId: string, from = 1, chunk = REPLAY_CHUNK): AsyncGenerator<RecordedEvent<E>[]> {
    this.#assertOpen();
    if (this.#removals.deleted(streamId)) throw new StreamDeletedError(streamId);
    const first = Math.max(from, this.#removals.firstVersion(streamId));
    for (const [, firstPosition, count] of this.#index.runs(streamId, first, Infinity)) {
      for (let offset = 0; offset < count; offset += chunk) {
        const start = firstPosition + offset;
        const end = firstPosition + Math.min(count, offset + chunk) - 1;
        const events = await this.#readRange(start, end);
        yield this.#removals.any ? events.filter((event) => !this.#removals.hides(event)) : events;
      }
    }
  }

  /**
   * Calls `visit` with each event of the stream from version `from` on, in order: what
   * readStreamChunks gives, one event at a time, but lent. Events the buffer no longer
   * holds are read through the storage's `readEach` where it has one, which may refill
   * one object for the next event: an event is valid only during its call, and `visit`
   * must copy what it keeps. A command handler folds a decider whose `evolve` keeps no
   * events this way (Decider.evolveKeepsNoEvents). Rejects with what `visit` throws.
   */
  async visitStream(streamId: string, from: number, visit: (event: RecordedEvent<E>) => void): Promise<void> {
    this.#assertOpen();
    if (!Number.isSafeInteger(from) || from < 1) invalid("visitStream", "from", `must be an integer >= 1, got ${String(from)}`);
    if (typeof visit !== "function") invalid("visitStream", "visit", "must be a function");
    if (this.#removals.deleted(streamId)) throw new StreamDeletedError(streamId);
    const removals = this.#removals;
    const pass = (event: RecordedEvent<E>) => {
      if (!removals.any || !removals.hides(event)) visit(event);
    };
    const passStored = (record: StoredRecord) => pass(this.#decode(record));
    const first = Math.max(from, removals.firstVersion(streamId));
    for (const [, firstPosition, count] of this.#index.runs(streamId, first, Infinity)) {
      const last = firstPosition + count - 1;
      for (let position = firstPosition; position <= last;) {
        const oldest = this.buffer.oldestPosition;
        if (position >= oldest) {
          // Nothing is awaited here: the buffer keeps what it holds (unless `visit` appends
          // enough to push events out, which are then read from the storage).
          for (let event; position <= last && (event = this.buffer.get(position)) !== undefined; position++) pass(event);
        } else {
          const to = Math.min(last, oldest - 1, position + LENT_CHUNK - 1);
          if (this.storage.readEach !== undefined) await this.storage.readEach(position, to, passStored);
          else for (const record of await this.storage.read(position, to)) passStored(record);
          position = to + 1;
        }
      }
    }
  }

  /** Events at positions `from..to`, from the buffer where it still holds them. */
  async #readRange(from: number, to: number): Promise<RecordedEvent<E>[]> {
    // Sized once: this runs for every chunk of a replay, and a pushed-to array is copied as it grows.
    const result: RecordedEvent<E>[] = new Array(to - from + 1);
    const oldest = this.buffer.oldestPosition;
    let i = 0;
    if (from < oldest) {
      for (const record of await this.storage.read(from, Math.min(to, oldest - 1))) result[i++] = this.#decode(record);
    }
    for (let p = Math.max(from, oldest); p <= to; p++) result[i++] = this.buffer.get(p)!;
    result.length = i; // as many as the storage gave
    return result;
  }

  /** Reads the global log from `from` (default 1) in position order. */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    const limit = checkReadOptions(options, ["from", "to", "limit", "filter"]);
    const filter = eventPredicate<E>("read", options.filter);
    const from = Math.max(options.from ?? 1, 1);
    const removals = this.#removals;
    // Markers, and what they removed, read as gone.
    const matches = !removals.any ? filter : (event: RecordedEvent<E>) => !removals.hides(event) && (filter === undefined || filter(event));
    if (matches === undefined) {
      const to = Math.min(options.to ?? this.#head, this.#head, from + limit - 1);
      if (to < from) return [];
      return await this.#readRange(from, to);
    }
    // Filtered: read the range chunk by chunk until `limit` events matched.
    const last = Math.min(options.to ?? this.#head, this.#head);
    const found: RecordedEvent<E>[] = [];
    for (let start = from; start <= last && found.length < limit; start += REPLAY_CHUNK) {
      for (const event of await this.#readRange(start, Math.min(last, start + REPLAY_CHUNK - 1))) {
        if (matches(event) && found.push(event) === limit) break;
      }
    }
    return found;
  }

  /**
   * Delivers every event from `from` on to `handler`, in order, one at a time; then
   * follows new appends. With `durableOnly` (the default in `durable` mode) an event is
   * delivered only once it is durable, so nothing a crash can lose leaves the process.
   */
  subscribe(
    handler: (event: RecordedEvent<E>) => void | Promise<void>,
    options: SubscriptionOptions = {},
  ): Subscription<E> {
    this.#assertOpen();
    if (typeof handler !== "function") invalid("subscribe", "handler", "must be a function");
    checkSubscriptionOptions(options);
    const subscription = new Subscription<E>(this, handler, {
      from: options.from ?? this.#head + 1,
      durableOnly: options.durableOnly ?? (this.storage.durability === "durable" || this.storage.durability === "replicated"),
      onError: options.onError,
      matches: eventPredicate<E>("subscription options", options.filter),
      onPosition: options.onPosition,
    }, () => this.#subscriptions.delete(subscription));
    this.#subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  /** Resolves at the next append (used by subscriptions waiting for new events). */
  nextAppend(): Promise<void> {
    return new Promise((resolve) => this.#wakeAppended.push(resolve));
  }

  /** Whether the store was closed. */
  get closed(): boolean {
    return this.#state === "closed";
  }

  /** Stops subscriptions, then flushes and closes storage. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#unwatch?.();
    for (const subscription of this.#subscriptions) subscription.close();
    this.#wake();
    // A checkpoint of what this store added, for a fast next open. A log that failed has
    // reported its failure already (to appends and waiters): it gets no checkpoint.
    let failure: unknown;
    if (this.#opened && this.#head > this.#checkpointed && this.storage.saveCheckpoint !== undefined) {
      const durable = await this.storage.whenDurable(this.#head).then(() => true, () => false);
      if (durable) failure = await this.#saveCheckpoint().then(() => undefined, (error) => error);
    }
    await this.storage.close();
    if (failure !== undefined) throw failure;
  }

  /**
   * Takes appended events in. `indexIds`: note their ids for retries (an own append notes
   * them only when the caller gave them: generated ids are never sent again).
   */
  #commit(streamId: string, recorded: RecordedEvent<E>[], indexIds = true): void {
    this.#index.add(streamId, recorded[0].position, recorded.length);
    this.#head = recorded[recorded.length - 1].position;
    const projecting = this.#projections.length > 0;
    const held = this.#holdsAppends;
    for (const event of recorded) {
      if (held) this.buffer.pushHeld(event.position);
      else this.buffer.push(event);
      if (isSystemType(event.type)) this.#removals.apply(event);
      else if (projecting) this.#project(event);
    }
    if (indexIds) this.#recentIds.add(recorded);
    if (this.#wakeAppended.length > 0) this.#wake();
  }

  /**
   * Applies one event to every inline projection. The event is already in the log, so a
   * projection that throws cannot undo it: that projection is faulted and taken out
   * (it would only drift further from the log), and the error is reported.
   */
  #project(event: RecordedEvent<E>): void {
    const projections = this.#projections;
    for (let i = 0; i < projections.length; i++) {
      const projection = projections[i]!;
      try {
        projection.apply(event);
      } catch (cause) {
        projections.splice(i--, 1);
        const error = new ProjectionError(projection.name, event.position, cause);
        this.#faults.push(error);
        try {
          projection.fault?.(error);
        } finally {
          this.#onProjectionError(error);
        }
      }
    }
  }

  #wake(): void {
    const waiting = this.#wakeAppended;
    this.#wakeAppended = [];
    for (const resolve of waiting) resolve();
  }

  async #readPositions(positions: number[]): Promise<RecordedEvent<E>[]> {
    const result: RecordedEvent<E>[] = new Array(positions.length);
    const missing: number[] = [];
    for (let i = 0; i < positions.length; i++) {
      const event = this.buffer.get(positions[i]);
      if (event === undefined) missing.push(i);
      else result[i] = event;
    }
    // Fetch what the buffer no longer holds in contiguous ranges, one adapter read each.
    let k = 0;
    while (k < missing.length) {
      let end = k;
      while (end + 1 < missing.length && positions[missing[end + 1]] === positions[missing[end]] + 1) end++;
      const stored = await this.storage.read(positions[missing[k]], positions[missing[end]]);
      for (let j = k; j <= end; j++) result[missing[j]] = this.#decode(stored[j - k]);
      k = end + 1;
    }
    return result;
  }

  /** A stored record as an event: decoded, unless reads hide it (a marker, or what one removed, which may be redacted). */
  #decode(record: StoredRecord): RecordedEvent<E> {
    if (this.#removals.hides(record)) return record as RecordedEvent<E>;
    return this.events.decode(record);
  }

  #assertOpen(): void {
    if (this.#state === "closed") throw new ClosedError("event store");
    if (this.#state !== "open") throw new StorageError("event store is not opened yet: call open()");
  }
}

function checkExpected(streamId: string, expected: ExpectedVersion, current: number): void {
  if (expectedVersionHolds(expected, current)) return;
  checkExpectedShape(expected);
  throw new ConcurrencyError(streamId, expected, current);
}

function checkExpectedShape(expected: unknown): void {
  const ok = typeof expected === "number"
    ? Number.isInteger(expected) && expected >= 0
    : expected === "any" || expected === "no_stream" || expected === "stream_exists";
  if (!ok) {
    invalid("append", "expectedVersion", `must be "no_stream", "stream_exists", "any" or an integer >= 0, got ${JSON.stringify(expected)}`);
  }
}

function checkAppendArguments(streamId: unknown, events: unknown): void {
  if (typeof streamId !== "string" || streamId.length === 0) invalid("append", "streamId", "must be a non-empty string");
  if (!Array.isArray(events)) invalid("append", "events", "must be an array");
}

function checkStoreOptions<E extends Event>(options: EventStoreOptions<E>): void {
  const what = "event store options";
  checkKeys(what, options, ["events", "storage", "bufferSize", "projections", "onProjectionError", "observer", "eventIds"]);
  if (options.eventIds !== undefined && options.eventIds !== "generate" && options.eventIds !== "given") {
    invalid(what, "eventIds", `must be "generate" or "given", got ${String(options.eventIds)}`);
  }
  const observer = options.observer as Record<string, unknown> | undefined;
  if (observer !== undefined) {
    if (typeof observer !== "object" || observer === null) invalid(what, "observer", "must be an object of hooks");
    for (const hook of Object.keys(observer)) {
      if (!["command", "append", "durable", "synced", "attach"].includes(hook)) invalid(what, `observer.${hook}`, "unknown hook");
      if (typeof observer[hook] !== "function") invalid(what, `observer.${hook}`, "must be a function");
    }
  }
  const events = options.events as Partial<EventRegistry> | undefined;
  if (typeof events?.toRecord !== "function" || typeof events.decode !== "function") {
    invalid(what, "events", "must be an event registry (eventRegistry(...))");
  }
  const storage = options.storage as Partial<StorageAdapter> | undefined;
  if (typeof storage !== "object" || storage === null || typeof storage.open !== "function" || typeof storage.append !== "function") {
    invalid(what, "storage", "must be a storage adapter");
  }
  checkInteger(what, "bufferSize", options.bufferSize, 1);
  if (options.projections !== undefined) {
    if (!Array.isArray(options.projections)) invalid(what, "projections", "must be an array");
    options.projections.forEach((projection, i) => checkProjection(projection, `projections[${i}]`));
  }
  checkFunction(what, "onProjectionError", options.onProjectionError);
}

function checkProjection(projection: unknown, path: string): void {
  const candidate = projection as Partial<InlineProjection> | null;
  if (typeof candidate !== "object" || candidate === null || typeof candidate.apply !== "function" || typeof candidate.name !== "string") {
    invalid("event store options", path, "must be an inline projection ({ name, apply })");
  }
}

function checkSubscriptionOptions(options: SubscriptionOptions): void {
  const what = "subscription options";
  checkKeys(what, options, ["from", "durableOnly", "onError", "filter", "onPosition"]);
  checkInteger(what, "from", options.from, 1);
  if (options.durableOnly !== undefined && typeof options.durableOnly !== "boolean") invalid(what, "durableOnly", "must be a boolean");
  checkFunction(what, "onError", options.onError);
  checkFunction(what, "onPosition", options.onPosition);
}

/** Checks a read's options; returns its limit (Infinity when none). */
function checkReadOptions(options: ReadAllOptions | ReadStreamOptions, known: readonly string[]): number {
  checkKeys("read", options, known);
  checkInteger("read", "from", options.from, 0);
  checkInteger("read", "to", options.to, 0);
  checkInteger("read", "limit", options.limit, 0);
  return options.limit ?? Infinity;
}

/** An append's result from its recorded events. */
function appendResultOf<E extends Event>(events: RecordedEvent<E>[]): AppendResult<E> {
  return { streamVersion: events.at(-1)!.streamVersion, firstPosition: events[0]!.position, position: events.at(-1)!.position, events };
}

/**
 * Refuses an append that gives two of its events one id (it could never be told apart from
 * a retry). Only given ids are checked (generated ones are unique), and no set is made for
 * an append that gives none: the hot path of a single event, or of a decider's events.
 */
function checkDistinctIds(events: readonly Event[]): void {
  if (events.length < 2) return;
  let seen: Set<unknown> | undefined;
  for (let i = 0; i < events.length; i++) {
    const id = events[i]?.id;
    if (id === undefined) continue;
    seen ??= new Set();
    if (seen.has(id)) invalid("append", `events[${i}].id`, `"${id}" is given to two events of the append`);
    seen.add(id);
  }
}
