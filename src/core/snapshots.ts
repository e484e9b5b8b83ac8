/**
 * Snapshots: an aggregate's state saved at a stream version, so loading it replays only
 * the tail. A snapshot records the state schema version it was written with; a snapshot
 * of another schema version is ignored (and a fresh one is taken), never misread.
 */
export interface Snapshot {
  /** The stream the state belongs to. */
  streamId: string;
  /** The stream version the state includes. */
  streamVersion: number;
  /** The version of the state's shape; bump it whenever the state type changes. */
  schemaVersion: number;
  /** The state, in the JSON-compatible form the aggregate's serializer produced. */
  state: unknown;
}

/** Where snapshots are kept. */
export interface SnapshotStore {
  /** The latest snapshot of `streamId`, if any. */
  load(streamId: string): Promise<Snapshot | undefined>;
  /** Saves `snapshot`, replacing the stream's previous one. */
  save(snapshot: Snapshot): Promise<void>;
}

/** Keeps snapshots in a Map (the memory adapter's, and a handy test double). */
export class MemorySnapshotStore implements SnapshotStore {
  readonly #snapshots = new Map<string, Snapshot>();

  /** The latest snapshot of `streamId`, if any. */
  load(streamId: string): Promise<Snapshot | undefined> {
    const snapshot = this.#snapshots.get(streamId);
    return Promise.resolve(snapshot === undefined ? undefined : structuredClone(snapshot));
  }

  /** Saves `snapshot`, replacing the stream's previous one. */
  save(snapshot: Snapshot): Promise<void> {
    this.#snapshots.set(snapshot.streamId, structuredClone(snapshot));
    return Promise.resolve();
  }
}
