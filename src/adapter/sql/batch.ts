/**
 * Group commit for the SQL adapters: the appends waiting for one transaction, checked and
 * numbered under the log's write lock (here for SQLite; PostgreSQL does the same in its
 * append_batch function, schema.ts). Each append is all or nothing: a stream at another
 * version than expected refuses that append only, the others go on.
 */
import { ConcurrencyError } from "../../core/errors.ts";
import type { StoredRecord } from "../../core/events.ts";
import { type ExpectedVersion, expectedVersionHolds } from "../../core/storage.ts";

/** An append waiting for the next transaction. */
export interface PendingAppend {
  streamId: string;
  expected: ExpectedVersion;
  records: StoredRecord[];
  resolve(position: number): void;
  reject(error: unknown): void;
}

/** What one transaction inserts, and how to answer its appends once it has committed. */
export interface SequencedBatch {
  /** The records to insert, positions and stream versions assigned. */
  records: StoredRecord[];
  /** The log's head after them. */
  head: number;
  /** Resolves or refuses each append (call after COMMIT only). */
  settle(): void;
}

/**
 * Numbers `batch` after `head`: each append whose stream (at `versionOf(streamId)`, read
 * under the lock) is at its expected version gets the next positions and versions.
 */
export function sequenceBatch(batch: readonly PendingAppend[], head: number, versionOf: (streamId: string) => number): SequencedBatch {
  const records: StoredRecord[] = [];
  const versions = new Map<string, number>();
  const answers: (() => void)[] = [];
  let position = head;
  for (const append of batch) {
    let current = versions.get(append.streamId) ?? versionOf(append.streamId);
    versions.set(append.streamId, current);
    if (!expectedVersionHolds(append.expected, current)) {
      const error = new ConcurrencyError(append.streamId, append.expected, current);
      answers.push(() => append.reject(error));
      continue;
    }
    for (const record of append.records) {
      record.position = ++position;
      record.streamVersion = ++current;
      records.push(record);
    }
    versions.set(append.streamId, current);
    const last = position;
    answers.push(() => append.resolve(last));
  }
  return { records, head: position, settle: () => answers.forEach((answer) => answer()) };
}
