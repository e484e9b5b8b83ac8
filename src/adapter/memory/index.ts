/**
 * The memory adapter: the log is an array. Nothing survives the process; it is the
 * default storage, the reference for the conformance suite, and the `memory` baseline.
 */
import type { StoredRecord } from "../../core/events.ts";
import type { DurabilityMode, StorageAdapter } from "../../core/storage.ts";
import { MemorySnapshotStore, type SnapshotStore } from "../../core/snapshots.ts";
import { ClosedError, StorageError } from "../../core/errors.ts";

/** The records a memory adapter keeps; pass the same log to a new adapter to "reopen". */
export interface MemoryLog {
  /** Every appended record, in position order. */
  records: StoredRecord[];
  /** Snapshots kept beside the log. */
  snapshots: SnapshotStore;
}

/** A new, empty memory log (share one between adapters to reopen the same log). */
export function createMemoryLog(): MemoryLog {
  return { records: [], snapshots: new MemorySnapshotStore() };
}

/** Storage in memory: nothing survives the process. The reference adapter of the conformance suite. */
export class MemoryAdapter implements StorageAdapter {
  readonly name = "memory";
  /** Always `memory`: acknowledged at once, lost with the process. */
  readonly durability: DurabilityMode = "memory";
  readonly snapshots: SnapshotStore;
  readonly #log: MemoryLog;
  #closed = false;

  /** An adapter over `log` (a fresh one by default). */
  constructor(log: MemoryLog = createMemoryLog()) {
    this.#log = log;
    this.snapshots = log.snapshots;
  }

  open(onRecord: (streamId: string, streamVersion: number, position: number) => void): Promise<void> {
    for (const record of this.#log.records) onRecord(record.streamId, record.streamVersion, record.position);
    return Promise.resolve();
  }

  append(records: readonly StoredRecord[]): void {
    if (this.#closed) throw new ClosedError("memory storage");
    const log = this.#log.records;
    if (records.length > 0 && records[0].position !== log.length + 1) {
      throw new StorageError(`append at position ${records[0].position}, but the log ends at ${log.length}`);
    }
    for (const record of records) log.push(record);
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

  read(from: number, to: number): Promise<StoredRecord[]> {
    return Promise.resolve(this.#log.records.slice(Math.max(from, 1) - 1, Math.max(to, 0)));
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** A memory adapter, optionally over an existing log. */
export function memoryStorage(log?: MemoryLog): MemoryAdapter {
  return new MemoryAdapter(log);
}
