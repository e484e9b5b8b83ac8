/**
 * The storage-adapter interface: what a log must do for the event store.
 *
 * The store keeps the stream index, the event buffer and the concurrency checks in
 * memory; an adapter only has to hold an append-only log of records with consecutive
 * global positions, read ranges of it back, say how far it is durable, and keep
 * snapshots. Every adapter must pass the conformance suite in `test/conformance.ts`.
 */
import type { StoredRecord } from "./events.ts";
import type { SnapshotStore } from "./snapshots.ts";
import type { ConsumerStore } from "./consumer-store.ts";
import type { Observer, StorageStats } from "./observer.ts";
import type { HeldRecords } from "./event-buffer.ts";

/**
 * How an adapter acknowledges appends, and what a crash can lose:
 * - `memory`: nothing is ever written; everything is lost with the process.
 * - `async`: acknowledged when enqueued; a crash loses at most the group-commit window.
 * - `durable`: acknowledged after the fdatasync that covers the record has returned.
 * - `sync`: one fdatasync per append before acknowledging (the slow baseline).
 * - `replicated`: acknowledged after the local fdatasync and the replica's acknowledgement
 *   (a JetStream stream's quorum): a lost machine loses nothing acknowledged.
 */
export type DurabilityMode = "memory" | "async" | "durable" | "sync" | "replicated";

/** Whether appends in `mode` are acknowledged only once durable (`whenDurable`). */
export function acknowledgesDurable(mode: DurabilityMode): boolean {
  return mode === "durable" || mode === "sync" || mode === "replicated";
}

/** What the stream's version must be for an append: `no_stream`, `stream_exists`, `any`, or an exact version. */
export type ExpectedVersion = "no_stream" | "stream_exists" | "any" | number;

/** Whether a stream at version `current` satisfies `expected` (the one rule every store and adapter applies). */
export function expectedVersionHolds(expected: ExpectedVersion, current: number): boolean {
  return expected === "any" || (expected === "no_stream" && current === 0) ||
    (expected === "stream_exists" && current > 0) || expected === current;
}

/**
 * Told of each stored record at open. `marker`: the record is a stream-removal marker
 * (type `$streamDeleted` or `$streamTruncated`, see `isMarkerType`); the store reads those
 * back at open to know what reads must leave out. An adapter must say so, or a deleted
 * stream would come back after a restart (the conformance suite checks it).
 */
export type RecordReporter = (streamId: string, streamVersion: number, position: number, marker?: boolean) => void;

/**
 * The store's index as of `position` (a durable position), as bytes (see
 * src/core/index-checkpoint.ts): a storage may keep it, and hand it back at the next open
 * so the store need not be told every record again.
 */
export interface IndexCheckpoint {
  /** The position the index is current with. */
  position: number;
  /** The encoded index. */
  bytes: Uint8Array;
}

/** What a log must do for the event store (see docs/guides/storage-adapters.md). */
export interface StorageAdapter {
  /** A short name for messages and benchmarks ("memory", "wal"). */
  readonly name: string;
  /** How appends are acknowledged, and what a crash can lose. */
  readonly durability: DurabilityMode;
  /**
   * Opens the log, verifies it, and reports every stored record's stream, stream version
   * and position to `onRecord`, in position order, so the store can rebuild its index
   * (records are decoded later, when read). Throws StorageError if the log cannot be trusted.
   */
  open(onRecord: RecordReporter, onCheckpoint?: (checkpoint: IndexCheckpoint) => boolean): Promise<void>;
  /**
   * Keeps `checkpoint` (its position is durable) for the next open, replacing the last one.
   * Optional (the file WAL keeps one). An adapter that has a checkpoint still valid for its
   * log (the records it covers unchanged) may give it to `onCheckpoint` at open before any
   * record; if that returns true it reports only the records after its position, else all.
   */
  saveCheckpoint?(checkpoint: IndexCheckpoint): Promise<void>;
  /**
   * Appends records whose positions continue the log. Synchronous: it only has to
   * enqueue. Throws StorageError (and appends nothing) once the log has failed.
   */
  append(records: readonly StoredRecord[]): void;
  /** The highest position known to be durable (the head, for `memory`). */
  durablePosition(): number;
  /** Resolves once `position` is durable; rejects with the log's failure, if any. */
  whenDurable(position: number): Promise<void>;
  /** Records with `from <= position <= to`, in order. */
  read(from: number, to: number): Promise<StoredRecord[]>;
  /**
   * Optional: calls `visit` with each record `from <= position <= to`, in order, as `read`
   * would give them, but lent: the adapter may refill one object (record, data) for the
   * next, so a record is valid only during its call, and `visit` must copy what it keeps.
   * For replays that keep nothing of the events (Decider.evolveKeepsNoEvents): the file
   * WAL then makes no objects per record. Resolves when every record was visited; rejects
   * with what `visit` threw.
   */
  readEach?(from: number, to: number, visit: (record: StoredRecord) => void): Promise<void>;
  /**
   * Erases what a stream's removal took away, for good: the stream's events (markers
   * excepted) with versions below `before` become `$redacted` records that keep their
   * stream, version and position (no gap) but no type, data, metadata or id. The store
   * calls it once the marker is durable. Optional: the file WAL erases at `scavenge`.
   */
  redact?(streamId: string, before: number): Promise<void>;
  /** Where snapshots of aggregate state are kept. */
  readonly snapshots: SnapshotStore;
  /** Where consumers keep their checkpoints, group leases and parked events (see Consumer), if the adapter keeps them. */
  readonly consumers?: ConsumerStore;
  /** Its gauges, for metrics (the file WAL: its ring's fill). */
  stats?(): StorageStats;
  /** Tells `observer` of each group it makes durable (`synced`). */
  observe?(observer: Observer): void;
  /**
   * Optional, for logs this store alone writes: from now on, keeps the last `count`
   * records appended readable from memory where the adapter has them encoded anyway (the
   * file WAL: its ring), for as long as it still has them. The store's event buffer then
   * holds its own appends as those bytes, not as objects (src/core/event-buffer.ts says
   * why). Called once, before `open`. An adapter that has it keeps no reference to the
   * records `append` was given, nor to their data, once `append` returns: the store's hot
   * path refills the same record objects for its next append (EventStore.enqueueLent).
   */
  keepRecent?(count: number): HeldRecords<StoredRecord>;
  /** Flushes, makes everything durable and releases the storage. */
  close(): Promise<void>;
  /**
   * True for a shared log: other stores (in this process or others) append to it too, so
   * positions and stream versions are the log's to assign. The store then appends through
   * `appendShared` (asynchronously: `append`, not `enqueue`) and follows what the others
   * wrote (`head`, `watch`). A shared adapter's `append` is never called.
   */
  readonly shared?: boolean;
  /**
   * Shared logs: appends `records` (their `position` and `streamVersion` are assigned here)
   * as one all-or-nothing unit if `streamId` is at `expected`, else throws ConcurrencyError.
   * Resolves, once committed per the durability mode, to the last record's position. The
   * log's readers never see a position before every lower one is committed.
   */
  appendShared?(streamId: string, expected: ExpectedVersion, records: StoredRecord[]): Promise<number>;
  /** Shared logs: the position of the last committed record, every writer's. */
  head?(): Promise<number>;
  /** Shared logs: calls `listener` when another writer may have appended; returns what stops it. */
  watch?(listener: () => void): () => void;
}
