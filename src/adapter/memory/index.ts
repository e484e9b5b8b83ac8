/**
 * The memory adapter: the log is an array. Nothing survives the process; it is the
 * default storage, the reference for the conformance suite, and the `memory` baseline.
 */
import type { StoredRecord } from "../../core/events.ts";
import { isMarkerType, isSystemType, redactedRecord } from "../../core/stream-removal.ts";
import { type DurabilityMode, type ExpectedVersion, expectedVersionHolds, type RecordReporter, type StorageAdapter } from "../../core/storage.ts";
import { MemorySnapshotStore, type SnapshotStore } from "../../core/snapshots.ts";
import { type ConsumerStore, MemoryConsumerStore } from "../../core/consumer-store.ts";
import { ClosedError, ConcurrencyError, StorageError } from "../../core/errors.ts";

/** The records a memory adapter keeps; pass the same log to a new adapter to "reopen". */
export interface MemoryLog {
  /** Every appended record, in position order. */
  records: StoredRecord[];
  /** Snapshots kept beside the log. */
  snapshots: SnapshotStore;
  /** Consumers' checkpoints beside the log (created on first use when absent). */
  consumers?: ConsumerStore;
  /** Each stream's version (kept by shared adapters over this log). */
  versions?: Map<string, number>;
  /** Shared adapters over this log to tell of an append. */
  watchers?: Set<() => void>;
}

/** A new, empty memory log (share one between adapters to reopen the same log). */
export function createMemoryLog(): MemoryLog {
  return { records: [], snapshots: new MemorySnapshotStore(), consumers: new MemoryConsumerStore() };
}

/** Storage in memory: nothing survives the process. The reference adapter of the conformance suite. */
export class MemoryAdapter implements StorageAdapter {
  readonly name = "memory";
  /** Always `memory`: acknowledged at once, lost with the process. */
  readonly durability: DurabilityMode = "memory";
  readonly snapshots: SnapshotStore;
  readonly consumers: ConsumerStore;
  readonly #log: MemoryLog;
  #closed = false;

  /** Several stores share this log (see StorageAdapter.shared). */
  readonly shared: boolean;

  /** An adapter over `log` (a fresh one by default); `shared` for several stores over one log. */
  constructor(log: MemoryLog = createMemoryLog(), options: { shared?: boolean } = {}) {
    this.#log = log;
    this.snapshots = log.snapshots;
    this.consumers = log.consumers ??= new MemoryConsumerStore();
    this.shared = options.shared === true;
  }

  open(onRecord: RecordReporter): Promise<void> {
    for (const record of this.#log.records) onRecord(record.streamId, record.streamVersion, record.position, isMarkerType(record.type));
    return Promise.resolve();
  }

  append(records: readonly StoredRecord[]): void {
    if (this.#closed) throw new ClosedError("memory storage");
    if (this.shared) throw new StorageError("a shared memory log is appended with appendShared");
    const log = this.#log.records;
    if (records.length > 0 && records[0].position !== log.length + 1) {
      throw new StorageError(`append at position ${records[0].position}, but the log ends at ${log.length}`);
    }
    for (const record of records) {
      log.push(record);
      this.#log.versions?.set(record.streamId, record.streamVersion);
    }
  }

  durablePosition(): number {
    return this.#log.records.length;
  }

  whenDurable(position: number): Promise<void> {
    if (position > this.#log.records.length) {
      return Promise.reject(new StorageError(`position ${position} is past the end of the log (${this.#log.records.length})`));
    }
    return Promise.resolve();
  }

  redact(streamId: string, before: number): Promise<void> {
    const records = this.#log.records;
    records.forEach((record, i) => {
      if (record.streamId === streamId && record.streamVersion < before && !isSystemType(record.type)) records[i] = redactedRecord(record);
    });
    return Promise.resolve();
  }

  read(from: number, to: number): Promise<StoredRecord[]> {
    return Promise.resolve(this.#log.records.slice(Math.max(from, 1) - 1, Math.max(to, 0)));
  }

  appendShared(streamId: string, expected: ExpectedVersion, records: StoredRecord[]): Promise<number> {
    if (this.#closed) return Promise.reject(new ClosedError("memory storage"));
    const log = this.#log;
    const versions = log.versions ??= streamVersions(log.records);
    const current = versions.get(streamId) ?? 0;
    if (!expectedVersionHolds(expected, current)) return Promise.reject(new ConcurrencyError(streamId, expected, current));
    records.forEach((record, i) => {
      record.streamVersion = current + i + 1;
      record.position = log.records.length + 1;
      log.records.push(record);
    });
    versions.set(streamId, current + records.length);
    for (const watcher of log.watchers ?? []) queueMicrotask(watcher);
    return Promise.resolve(log.records.length);
  }

  head(): Promise<number> {
    return Promise.resolve(this.#log.records.length);
  }

  watch(listener: () => void): () => void {
    const watchers = this.#log.watchers ??= new Set();
    watchers.add(listener);
    return () => watchers.delete(listener);
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** Each stream's version in `records`. */
function streamVersions(records: readonly StoredRecord[]): Map<string, number> {
  const versions = new Map<string, number>();
  for (const record of records) versions.set(record.streamId, record.streamVersion);
  return versions;
}

/** A memory adapter, optionally over an existing log; `{ shared: true }` lets several stores share one log. */
export function memoryStorage(log?: MemoryLog, options?: { shared?: boolean }): MemoryAdapter {
  return new MemoryAdapter(log, options);
}
