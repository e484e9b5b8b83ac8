/**
 * SQLite storage: one log in one file, shared by every store and process that opens it
 * (StorageAdapter.shared). The database runs in WAL journal mode, so readers never wait
 * for the writer; `synchronous=FULL` makes each COMMIT durable before it is acknowledged.
 * The schema is in docs/sqlite.md; the driver (node:sqlite or better-sqlite3) in driver.ts.
 *
 * Global order without gaps: an append transaction starts with BEGIN IMMEDIATE, which
 * takes the database's one write lock before positions are picked, so positions commit
 * in order and a reader that sees position p has already seen every lower one. Expected
 * versions are checked under that lock. Group commit: the appends made in one turn of the
 * event loop (up to the next setImmediate) share one transaction (one COMMIT, one fsync); each is still all or nothing
 * and a conflict refuses only its own append.
 */
import { setImmediate } from "node:timers";
import { ClosedError, StorageError } from "../../core/errors.ts";
import type { StoredRecord } from "../../core/events.ts";
import type { Snapshot, SnapshotStore } from "../../core/snapshots.ts";
import type { ConsumerStore } from "../../core/consumer-store.ts";
import { SqliteConsumerStore } from "./consumers.ts";
import type { DurabilityMode, ExpectedVersion, RecordReporter, StorageAdapter } from "../../core/storage.ts";
import { checkInteger, checkKeys, invalid } from "../../core/check.ts";
import { type SqliteDatabase, sqliteDriver, sqliteFailure, type SqliteStatement } from "./driver.ts";
import { SCHEMA_VERSION, sqliteSchema } from "./schema.ts";
import { EVENT_COLUMNS, MARKER_TYPES, recordColumns, recordOfRow, redactStatement } from "../sql/rows.ts";
import { type PendingAppend, sequenceBatch } from "../sql/batch.ts";

/** Options of SQLite storage. */
export interface SqliteOptions {
  /** The database file (created if missing; its directory must exist). */
  path: string;
  /**
   * `durable` (default): acknowledged after the COMMIT's fsync (`synchronous=FULL`).
   * `async`: `synchronous=NORMAL`: a crash of the process loses nothing, a power loss
   * can lose the last commits.
   */
  durability?: "durable" | "async";
  /** Appends committed in one transaction at most (default 512). */
  maxBatch?: number;
  /** How often to look for other processes' appends (default 50 ms; a cheap pragma). */
  pollMs?: number;
  /** How long a writer waits for another one's write lock before it fails (default 5000 ms). */
  busyTimeoutMs?: number;
}

/** The statements an open log runs, prepared once. */
interface Statements {
  head: SqliteStatement;
  streamVersion: SqliteStatement;
  insert: SqliteStatement;
  read: SqliteStatement;
  index: SqliteStatement;
  dataVersion: SqliteStatement;
}

/** SQLite storage in the file at `options.path`. Throws ValidationError on bad options. */
export function sqliteStorage(options: SqliteOptions): SqliteStorage {
  return new SqliteStorage(options);
}

/** The event log in an SQLite file, shared by every store and process that opens it. */
export class SqliteStorage implements StorageAdapter {
  readonly name = "sqlite";
  readonly durability: DurabilityMode;
  readonly shared = true;
  readonly snapshots: SnapshotStore;
  readonly consumers: ConsumerStore;
  /** The database file. */
  readonly path: string;
  readonly #maxBatch: number;
  readonly #pollMs: number;
  readonly #busyTimeoutMs: number;
  #db?: SqliteDatabase;
  #sql?: Statements;
  #pending: PendingAppend[] = [];
  #flushScheduled = false;
  #committed = 0;
  #closed = false;
  #failure?: StorageError;
  readonly #watchers = new Set<() => void>();
  #poll?: ReturnType<typeof setInterval>;
  #dataVersion = 0;

  /** Use `sqliteStorage`. */
  constructor(options: SqliteOptions) {
    const what = "SQLite options";
    if (typeof options !== "object" || options === null) invalid(what, "options", "must be an object with a path");
    checkKeys(what, options, ["path", "durability", "maxBatch", "pollMs", "busyTimeoutMs"]);
    if (typeof options.path !== "string" || options.path === "") invalid(what, "path", "must be the database file's path");
    if (options.path === ":memory:" || options.path.startsWith("file:")) {
      invalid(what, "path", "must be a file path (for a log in memory, use memoryStorage)");
    }
    if (options.durability !== undefined && options.durability !== "durable" && options.durability !== "async") {
      invalid(what, "durability", `must be "durable" or "async", got ${JSON.stringify(options.durability)}`);
    }
    checkInteger(what, "maxBatch", options.maxBatch, 1);
    checkInteger(what, "pollMs", options.pollMs, 1);
    checkInteger(what, "busyTimeoutMs", options.busyTimeoutMs, 0);
    this.path = options.path;
    this.durability = options.durability ?? "durable";
    this.#maxBatch = options.maxBatch ?? 512;
    this.#pollMs = options.pollMs ?? 50;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.snapshots = new SqliteSnapshotStore(() => this.#database(), (error, doing) => this.#storageError(error, doing));
    this.consumers = new SqliteConsumerStore(() => this.#database(), (error, doing) => this.#storageError(error, doing));
  }

  #storageError(error: unknown, doing: string): StorageError {
    if (error instanceof StorageError) return error;
    const message = (error as Error)?.message ?? String(error);
    return new StorageError(`SQLite ${doing} failed: ${message} (${this.path})`, { cause: error });
  }

  /** The open connection; throws the log's failure, or ClosedError. */
  #database(): SqliteDatabase {
    if (this.#failure) throw this.#failure;
    if (this.#closed || this.#db === undefined) throw new ClosedError("SQLite storage");
    return this.#db;
  }

  async open(onRecord: RecordReporter): Promise<void> {
    const { open } = await sqliteDriver();
    let db: SqliteDatabase | undefined;
    try {
      db = open(this.path, this.#busyTimeoutMs);
      db.exec("pragma journal_mode = wal");
      db.exec(`pragma synchronous = ${this.durability === "durable" ? "full" : "normal"}`);
      // One writer at a time creates the tables (BEGIN IMMEDIATE takes the write lock).
      db.exec("begin immediate");
      try {
        for (const statement of sqliteSchema) db.exec(statement);
        // event_id came after the first layout: a file made before it gains the column.
        if (!db.prepare("select 1 from pragma_table_info('events') where name = 'event_id'").get()) {
          db.exec("alter table events add column event_id text");
        }
        const row = db.prepare("select version from schema_version").get();
        if (row === undefined) db.exec(`insert into schema_version (version) values (${SCHEMA_VERSION})`);
        else if (row.version !== SCHEMA_VERSION) {
          throw new StorageError(`${this.path} holds schema version ${row.version}; this eventfold uses version ${SCHEMA_VERSION}`);
        }
        db.exec("commit");
      } catch (error) {
        rollback(db);
        throw error;
      }
      const sql: Statements = {
        head: db.prepare("select coalesce(max(position), 0) as head from events"),
        streamVersion: db.prepare("select coalesce(max(stream_version), 0) as version from events where stream_id = ?"),
        insert: db.prepare(`insert into events (${EVENT_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
        read: db.prepare(`select ${EVENT_COLUMNS} from events where position between ? and ? order by position`),
        index: db.prepare(`select stream_id, stream_version, position, type in ${MARKER_TYPES} as marker from events where position > ? order by position limit 10000`),
        dataVersion: db.prepare("pragma data_version"),
      };
      // The index, in pages by position.
      let head = 0;
      for (;;) {
        const rows = sql.index.all(head);
        for (const row of rows) {
          onRecord(row.stream_id as string, Number(row.stream_version), Number(row.position), row.marker === 1);
          head = Number(row.position);
        }
        if (rows.length < 10000) break;
      }
      this.#committed = head;
      this.#dataVersion = Number(sql.dataVersion.get()!.data_version);
      this.#db = db;
      this.#sql = sql;
    } catch (error) {
      this.#closed = true;
      try {
        db?.close();
      } catch { /* the open's own error is the one to report */ }
      throw this.#storageError(error, "open");
    }
  }

  append(): void {
    throw new StorageError("SQLite storage is shared: the store appends through appendShared");
  }

  appendShared(streamId: string, expected: ExpectedVersion, records: StoredRecord[]): Promise<number> {
    try {
      this.#database(); // refused before open, after close, or once failed: not left to the flush
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ streamId, expected, records, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // After the I/O callbacks and promise continuations of this turn: the appends they
        // make join this commit (a microtask would commit each one alone).
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Group commit: every append made this turn, in transactions of at most maxBatch. */
  #flush(): void {
    this.#flushScheduled = false;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#maxBatch);
      if (this.#failure) {
        for (const append of batch) append.reject(this.#failure);
        continue;
      }
      const db = this.#db!;
      const sql = this.#sql!;
      let sequenced;
      try {
        db.exec("begin immediate");
        try {
          sequenced = sequenceBatch(batch, Number(sql.head.get()!.head), (streamId) => Number(sql.streamVersion.get(streamId)!.version));
          for (const record of sequenced.records) sql.insert.run(...recordColumns(record));
          db.exec("commit");
        } catch (error) {
          rollback(db);
          throw error;
        }
      } catch (error) {
        // None of this batch is acknowledged. A lock held too long by another writer
        // refuses this batch only; a failed disk stops the log (fail-stop).
        const failure = this.#storageError(error, "append");
        if (sqliteFailure(error) === "fatal") this.#failure = failure;
        for (const append of batch) append.reject(failure);
        continue;
      }
      this.#committed = Math.max(this.#committed, sequenced.head);
      sequenced.settle();
    }
  }

  head(): Promise<number> {
    try {
      this.#database();
      const head = Number(this.#sql!.head.get()!.head);
      this.#committed = Math.max(this.#committed, head);
      return Promise.resolve(head);
    } catch (error) {
      return Promise.reject(this.#storageError(error, "read"));
    }
  }

  durablePosition(): number {
    return this.#committed;
  }

  async whenDurable(position: number): Promise<void> {
    if (position <= this.#committed) return;
    if (position > await this.head()) {
      throw new StorageError(`position ${position} is past the end of the log (${this.#committed})`);
    }
  }

  redact(streamId: string, before: number): Promise<void> {
    try {
      const db = this.#database();
      // secure_delete zeroes the freed bytes, so the erased contents leave the file too.
      db.exec("pragma secure_delete = on");
      db.prepare(redactStatement("events", "?", "?")).run(streamId, before);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof ClosedError ? error : this.#storageError(error, "redact"));
    }
  }

  read(from: number, to: number): Promise<StoredRecord[]> {
    try {
      this.#database();
      const rows = this.#sql!.read.all(Math.max(from, 1), to);
      return Promise.resolve(rows.map(recordOfRow));
    } catch (error) {
      return Promise.reject(error instanceof ClosedError ? error : this.#storageError(error, "read"));
    }
  }

  /**
   * SQLite cannot notify another process, so the log is polled: `pragma data_version`
   * changes when another connection has committed, and costs next to nothing.
   */
  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    if (this.#watchers.size === 1) {
      // Not unref'd: like PostgreSQL's LISTEN connection, an open log keeps the process
      // alive for its subscribers until the store is closed.
      this.#poll = setInterval(() => this.#look(), this.#pollMs);
    }
    return () => {
      this.#watchers.delete(listener);
      if (this.#watchers.size === 0) clearInterval(this.#poll);
    };
  }

  #look(): void {
    if (this.#closed || this.#failure) return;
    let version: number;
    try {
      version = Number(this.#sql!.dataVersion.get()!.data_version);
    } catch {
      return; // a read that fails here fails again, with its error, in the catch-up it would start
    }
    if (version === this.#dataVersion) return;
    this.#dataVersion = version;
    for (const watcher of this.#watchers) watcher();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#flush();
    this.#closed = true;
    clearInterval(this.#poll);
    this.#watchers.clear();
    try {
      this.#db?.close();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(this.#storageError(error, "close"));
    } finally {
      this.#db = undefined;
    }
  }
}

/** Ends the open transaction, if SQLite has not already (an I/O error or a full disk rolls back itself). */
function rollback(db: SqliteDatabase): void {
  try {
    db.exec("rollback");
  } catch { /* nothing left to roll back: the error that brought us here is the one to report */ }
}

/** Snapshots beside the log, one row per stream (upserted). */
class SqliteSnapshotStore implements SnapshotStore {
  constructor(
    private readonly database: () => SqliteDatabase,
    private readonly errors: (error: unknown, doing: string) => StorageError,
  ) {}

  load(streamId: string): Promise<Snapshot | undefined> {
    try {
      const row = this.database().prepare("select stream_version, schema_version, state from snapshots where stream_id = ?").get(streamId);
      if (row === undefined) return Promise.resolve(undefined);
      return Promise.resolve({
        streamId,
        streamVersion: Number(row.stream_version),
        schemaVersion: Number(row.schema_version),
        state: JSON.parse(row.state as string),
      });
    } catch (error) {
      return Promise.reject(error instanceof ClosedError ? error : this.errors(error, "snapshot load"));
    }
  }

  save(snapshot: Snapshot): Promise<void> {
    try {
      this.database().prepare(
        `insert into snapshots (stream_id, stream_version, schema_version, state) values (?, ?, ?, ?)
         on conflict (stream_id) do update set stream_version = excluded.stream_version,
           schema_version = excluded.schema_version, state = excluded.state`,
      ).run(snapshot.streamId, snapshot.streamVersion, snapshot.schemaVersion, JSON.stringify(snapshot.state));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof ClosedError ? error : this.errors(error, "snapshot save"));
    }
  }
}
