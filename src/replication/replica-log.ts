/**
 * The log a primary replicates to and followers read from (a JetStream stream in
 * `eventfold/adapter/nats`): a sequence of batches, each appended only after a given
 * sequence, so that a deposed primary cannot append after its successor took over.
 *
 * A batch is one message: records `first..last` of the primary's WAL, in the WAL's own
 * encoding (docs/wal-format.md: each record framed, CRC32C-checked, whole appends only),
 * or, with no records (`first = last + 1`), the marker a primary appends when it claims a
 * term. Every batch names the term and the primary that wrote it.
 */

/** One batch of the replicated log. */
export interface ReplicaBatch {
  /** Its sequence in the log (1, 2, ...). */
  sequence: number;
  /** The term of the primary that appended it. */
  term: number;
  /** That primary's id (random, chosen when it claimed the term). */
  primary: string;
  /** Position of its first record (`last + 1` for a term marker, which has none). */
  first: number;
  /** Position of its last record (for a marker: the log's last position before it). */
  last: number;
  /** The records, as the WAL encodes them (empty for a marker). */
  bytes: Uint8Array;
}

/** What a primary appends (the log assigns the sequence). */
export type NewBatch = Omit<ReplicaBatch, "sequence">;

/** What is being followed, and how to stop. */
export interface Following {
  /** Stops delivering batches; resolves once the last delivery has returned. */
  stop(): Promise<void>;
  /** Resolves when following ends: stopped, or failed (then it rejects with the error). */
  readonly done: Promise<void>;
}

/** A replicated log (see the module comment). */
export interface ReplicaLog {
  /** Names the log in messages. */
  readonly name: string;
  /** Connects and creates the log where it does not exist. */
  open(): Promise<void>;
  /** The last batch, or undefined if the log is empty. */
  last(): Promise<ReplicaBatch | undefined>;
  /** The batch at `sequence`. */
  batch(sequence: number): Promise<ReplicaBatch>;
  /** The sequence of the first batch whose `last` is at least `position`, if any. */
  find(position: number): Promise<number | undefined>;
  /**
   * Appends `batch` if the log's last sequence is `after`; resolves with its sequence once
   * the log has it (a JetStream stream: its quorum). The same batch sent again (a retry)
   * is not stored twice. Rejects with FencedError if the log's last sequence is another.
   * `batch.bytes` is lent until the promise resolves (then reused for later batches): a
   * log that keeps the records copies them.
   */
  append(batch: NewBatch, after: number): Promise<number>;
  /** Calls `onBatch` for each batch after `after`, in order, as they come, one at a time. */
  follow(after: number, onBatch: (batch: ReplicaBatch) => Promise<void> | void): Following;
  /** Disconnects. */
  close(): Promise<void>;
}
