/**
 * PostgreSQL storage: one log shared by every process that opens the same database and
 * schema (StorageAdapter.shared). Client: node-postgres (`pg`, an optional peer
 * dependency), on Node, Deno and Bun: it reports a connection's death as an event, which
 * this adapter handles, never as an uncaught exception. The schema is in docs/postgres.md.
 *
 * Global order without gaps: every append transaction takes one transaction-scoped
 * advisory lock before it picks positions, and holds it until it commits, so positions
 * commit in order and a reader that sees position p has already seen every lower one.
 * Expected versions are checked under that lock (exact), and `(stream_id, stream_version)`
 * is unique besides. Group commit: the appends made in one turn of the event loop go
 * together into one call of the schema's `append_batch` function (one statement, its own
 * transaction: one round trip, one COMMIT); each is still all or nothing and a conflict
 * refuses only its own append.
 */
import pg from "pg";
import { setImmediate } from "node:timers";
import { ClosedError, ConcurrencyError, StorageError } from "../../core/errors.ts";
import type { StoredRecord } from "../../core/events.ts";
import type { Snapshot, SnapshotStore } from "../../core/snapshots.ts";
import type { ConsumerStore } from "../../core/consumer-store.ts";
import { PostgresConsumerStore } from "./consumers.ts";
import type { DurabilityMode, ExpectedVersion, RecordReporter, StorageAdapter } from "../../core/storage.ts";
import { checkInteger, checkKeys, invalid } from "../../core/check.ts";
import { postgresSchema, SCHEMA_VERSION } from "./schema.ts";
import { MARKER_TYPES, recordOfRow, redactStatement } from "../sql/rows.ts";
import { numberArray, textArray } from "./literals.ts";
import type { PendingAppend } from "../sql/batch.ts";

export { PostgresProjection, postgresProjection, type PostgresProjectionOptions } from "./projection.ts";

/** Options of PostgreSQL storage. */
export interface PostgresOptions {
  /** Connection string (default: the DATABASE_URL environment variable). */
  url?: string;
  /** The PostgreSQL schema holding the tables (default "eventfold"); one log per schema. */
  schema?: string;
  /** Appends committed in one transaction at most (default 1024). */
  maxBatch?: number;
  /** How often to look for other writers' appends when no notification came (default 1000 ms). */
  pollMs?: number;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutSeconds?: number;
}

type Row = Record<string, unknown>;
/** How append_batch takes an expected version that is not a number (schema.ts). */
const EXPECTED_CODE: Record<string, number> = { any: -1, no_stream: -2, stream_exists: -3 };
/** Waiting appends from which, with no statement in flight, the group commit sends two statements (#scheduleFlush). */
const SPLIT_AT = 64;
/** A connection or the pool: what runs a query (a node-postgres client). */
export type Queryable = { query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> };

/** PostgreSQL storage over `options.url` (or DATABASE_URL). Throws ValidationError on bad options. */
export function postgresStorage(options: PostgresOptions = {}): PostgresStorage {
  return new PostgresStorage(options);
}

/** The event log in PostgreSQL, shared by every process that opens it. */
export class PostgresStorage implements StorageAdapter {
  readonly name = "postgres";
  /** Acknowledged after COMMIT (PostgreSQL's own WAL, synchronous_commit). */
  readonly durability: DurabilityMode = "durable";
  readonly shared = true;
  readonly snapshots: SnapshotStore;
  readonly consumers: ConsumerStore;
  /** The schema holding the log. */
  readonly schema: string;
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #maxBatch: number;
  readonly #pollMs: number;
  #pending: PendingAppend[] = [];
  /** The append_batch statements in flight (at most two: see #scheduleFlush). */
  readonly #flushes = new Set<Promise<void>>();
  #scheduled = false;
  #writer?: Promise<pg.PoolClient>;
  #committed = 0;
  /** The highest head another writer notified while this storage's appends were in flight. */
  #noticed = 0;
  #closed = false;
  #listener?: pg.PoolClient;
  #listenReady?: Promise<void>;
  readonly #watchers = new Set<() => void>();
  #poll?: ReturnType<typeof setInterval>;

  /** Use `postgresStorage`. */
  constructor(options: PostgresOptions = {}) {
    const what = "PostgreSQL options";
    checkKeys(what, options, ["url", "schema", "maxBatch", "pollMs", "connectTimeoutSeconds"]);
    const url = options.url ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.DATABASE_URL;
    if (typeof url !== "string" || !/^postgres(ql)?:\/\//.test(url)) {
      invalid(what, "url", "must be a postgres:// connection string (or set DATABASE_URL)");
    }
    const schema = options.schema ?? "eventfold";
    if (typeof schema !== "string" || !/^[a-z_][a-z0-9_]{0,47}$/.test(schema)) {
      invalid(what, "schema", `must be a lower-case SQL identifier, got ${JSON.stringify(schema)}`);
    }
    checkInteger(what, "maxBatch", options.maxBatch, 1);
    checkInteger(what, "pollMs", options.pollMs, 10);
    checkInteger(what, "connectTimeoutSeconds", options.connectTimeoutSeconds, 1);
    this.schema = schema;
    this.#url = redact(url);
    this.#maxBatch = options.maxBatch ?? 1024;
    this.#pollMs = options.pollMs ?? 1000;
    this.#pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: (options.connectTimeoutSeconds ?? 10) * 1000, max: 4 });
    // An idle connection that dies is reported here (and dropped by the pool); the next
    // query takes a new one. Without a listener, node-postgres would crash the process.
    this.#pool.on("error", () => {});
    this.snapshots = new PostgresSnapshotStore(this.#pool, schema, () => this.#storageError);
    this.consumers = new PostgresConsumerStore(this.#pool, schema, () => this.#storageError);
  }

  /** A failure while `doing` something, as a StorageError naming the database (a StorageError is kept as it is). */
  #storageError = (error: unknown, doing: string): StorageError => {
    if (error instanceof StorageError) return error;
    const message = (error as Error)?.message ?? String(error);
    return new StorageError(`PostgreSQL ${doing} failed: ${message} (${this.#url}, schema ${this.schema})`, { cause: error });
  };

  async open(onRecord: RecordReporter): Promise<void> {
    try {
      await this.#transaction(async (client) => {
        // Two processes creating the schema at once would collide in the catalog: serialize.
        await client.query("select pg_advisory_xact_lock(hashtext($1))", [`eventfold schema ${this.schema}`]);
        for (const statement of postgresSchema(this.schema)) await client.query(statement);
        const { rows: [row] } = await client.query(`select version from "${this.schema}".schema_version`);
        if (row === undefined) await client.query(`insert into "${this.schema}".schema_version (version) values (${SCHEMA_VERSION})`);
        else if (row.version !== SCHEMA_VERSION) {
          throw new StorageError(`schema "${this.schema}" is at version ${row.version}; this eventfold uses version ${SCHEMA_VERSION}`);
        }
      });
      // The index, in pages by position (no cursor needed, no page held in a transaction).
      let head = 0;
      for (;;) {
        const { rows } = await this.#pool.query(
          `select stream_id, stream_version, position, type in ${MARKER_TYPES} as marker from "${this.schema}".events where position > $1 order by position limit 10000`,
          [head],
        );
        for (const row of rows) {
          onRecord(row.stream_id as string, Number(row.stream_version), Number(row.position), row.marker === true);
          head = Number(row.position);
        }
        if (rows.length < 10000) break;
      }
      this.#committed = head;
    } catch (error) {
      this.#closed = true;
      await this.#pool.end().catch(() => {});
      throw this.#storageError(error, "open");
    }
  }

  /**
   * Runs `work` in a transaction on one of the log's pooled connections: COMMIT if it
   * resolves, ROLLBACK if it throws (the error is passed on as it is). For read models
   * kept beside the log (see `postgresProjection`).
   */
  async transaction<T>(work: (client: Queryable) => Promise<T>): Promise<T> {
    if (this.#closed) throw new ClosedError("PostgreSQL storage");
    return await this.#transaction(work);
  }

  /** Runs `work` in a transaction on one pooled connection; rolls back on failure. */
  async #transaction<T>(work: (client: Queryable) => Promise<T>, begin = "begin"): Promise<T> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    // A connection that dies mid-transaction also emits "error": its queries reject with
    // it (below), so the event itself needs only a listener, else it would be thrown.
    const onError = (error: Error) => void (broken ??= error);
    client.on("error", onError);
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query("commit");
      return result;
    } catch (error) {
      broken = error as Error;
      await client.query("rollback").catch(() => {}); // on a dead connection there is nothing to roll back
      throw error;
    } finally {
      // A connection that failed goes away instead of back into the pool (keeping our
      // listener: it may still report its end); a healthy one goes back without it.
      if (broken === undefined) client.off("error", onError);
      client.release(broken);
    }
  }

  append(): void {
    throw new StorageError("PostgreSQL storage is shared: the store appends through appendShared");
  }

  appendShared(streamId: string, expected: ExpectedVersion, records: StoredRecord[]): Promise<number> {
    if (this.#closed) return Promise.reject(new ClosedError("PostgreSQL storage"));
    return new Promise((resolve, reject) => {
      this.#pending.push({ streamId, expected, records, resolve, reject });
      this.#scheduleFlush();
    });
  }

  /**
   * Group commit: at the next turn of the event loop (so a burst of appends goes together),
   * the waiting appends become one `append_batch` statement on the log's writer
   * connection, if fewer than two are in flight there. The second is sent while the first
   * runs: the server starts it the moment the first commits, while this side takes in the
   * first one's acknowledgements (one connection keeps them in order).
   */
  #scheduleFlush(): void {
    if (this.#scheduled || this.#flushes.size >= 2 || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#flushes.size < 2 && this.#pending.length > 0) {
        // With none in flight, a large group goes as two statements: the second runs while
        // the first one's appends are answered, and their next appends form the third.
        const share = this.#flushes.size === 0 && this.#pending.length >= SPLIT_AT ? Math.ceil(this.#pending.length / 2) : this.#pending.length;
        const flush = this.#flush(this.#pending.splice(0, Math.min(share, this.#maxBatch))).finally(() => {
          this.#flushes.delete(flush);
          this.#tellNoticed();
          this.#scheduleFlush();
        });
        this.#flushes.add(flush);
      }
    });
  }

  /** Commits `batch` (one statement, its own transaction) and answers its appends. */
  async #flush(batch: PendingAppend[]): Promise<void> {
    const records: StoredRecord[] = [];
    const rowAppends: number[] = [];
    const rowOffsets: number[] = [];
    const rowStreams: string[] = [];
    batch.forEach((append, i) => {
      append.records.forEach((record, k) => {
        records.push(record);
        rowAppends.push(i + 1);
        rowOffsets.push(k + 1);
        rowStreams.push(append.streamId);
      });
    });
    let answer: string[];
    try {
      const writer = await this.#writerConnection();
      const { rows: [row] } = await writer.query({
        // Named: parsed and planned once per connection.
        name: `eventfold_append_${this.schema}`,
        text: `select "${this.schema}".append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) as answer`,
        values: [
          textArray(batch.map((append) => append.streamId)),
          numberArray(batch.map((append) => EXPECTED_CODE[append.expected as string] ?? append.expected as number)),
          numberArray(batch.map((append) => append.records.length)),
          numberArray(rowAppends),
          numberArray(rowOffsets),
          textArray(rowStreams),
          textArray(records.map((record) => record.type)),
          numberArray(records.map((record) => record.schemaVersion)),
          JSON.stringify(records.map((record) => record.data)),
          JSON.stringify(records.map((record) => record.metadata ?? null)),
          numberArray(records.map((record) => record.timestamp)),
          textArray(records.map((record) => record.id)),
          this.#channel,
        ],
      });
      answer = row!.answer as string[];
    } catch (error) {
      // None of this batch is acknowledged. Had the connection died at COMMIT, the server
      // may still have committed it (no client can know): say so, so a caller reads the
      // stream (or relies on event ids) before appending again.
      const failure = this.#storageError(error, "append (if the connection was lost at COMMIT, the append may have committed: read the stream before retrying)");
      for (const append of batch) append.reject(failure);
      return;
    }
    // The statement committed: give the records the positions and versions it gave them,
    // then answer the appends (all of them numbered first: an answered caller may look).
    let position = Number(answer[0]);
    const lasts = new Array<number>(batch.length);
    batch.forEach((append, i) => {
      let version = Number(answer[i + 1]);
      if (version < 0) return;
      for (const record of append.records) {
        record.position = ++position;
        record.streamVersion = ++version;
      }
      lasts[i] = position;
    });
    this.#committed = Math.max(this.#committed, position);
    batch.forEach((append, i) => {
      if (lasts[i] !== undefined) append.resolve(lasts[i]);
      else append.reject(new ConcurrencyError(append.streamId, append.expected, -1 - Number(answer[i + 1])));
    });
  }

  /** Wakes the store for what another writer committed past our appends while they were in flight. */
  #tellNoticed(): void {
    if (this.#noticed <= this.#committed) return;
    this.#noticed = 0;
    // A turn later: once the store has taken in its own appends (else it would read them).
    setImmediate(() => this.#notify());
  }

  /** The connection appends go through (one, so they reach the server in the order made). */
  #writerConnection(): Promise<pg.PoolClient> {
    if (this.#writer) return this.#writer;
    const writer = this.#pool.connect().then((client) => {
      client.on("error", () => {
        // Its queries reject with the error; the next append takes a new connection.
        if (this.#writer !== writer) return;
        this.#writer = undefined;
        client.release(true);
      });
      return client;
    });
    writer.catch(() => {
      if (this.#writer === writer) this.#writer = undefined;
    });
    return this.#writer = writer;
  }

  get #channel(): string {
    return `eventfold_${this.schema}`;
  }

  async head(): Promise<number> {
    try {
      const { rows: [{ head }] } = await this.#pool.query(`select coalesce(max(position), 0) as head from "${this.schema}".events`) as { rows: Row[] };
      this.#committed = Math.max(this.#committed, Number(head));
      return Number(head);
    } catch (error) {
      throw this.#storageError(error, "read");
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

  async redact(streamId: string, before: number): Promise<void> {
    if (this.#closed) throw new ClosedError("PostgreSQL storage");
    try {
      // The old row versions stay in the table's pages until VACUUM reclaims them.
      await this.#pool.query(
        redactStatement(`"${this.schema}".events`, "$1", "$2"),
        [streamId, before],
      );
    } catch (error) {
      throw this.#storageError(error, "redact");
    }
  }

  async read(from: number, to: number): Promise<StoredRecord[]> {
    if (this.#closed) throw new ClosedError("PostgreSQL storage");
    try {
      const { rows } = await this.#pool.query(
        `select position, stream_id, stream_version, type, schema_version, data::text as data, metadata::text as metadata, timestamp,
                event_id
         from "${this.schema}".events where position between $1 and $2 order by position`,
        [Math.max(from, 1), to],
      );
      return rows.map(recordOfRow);
    } catch (error) {
      throw this.#storageError(error, "read");
    }
  }

  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    if (this.#watchers.size === 1) {
      // LISTEN wakes the store at once; the poll covers a notification lost with a
      // connection, and a LISTEN connection that died until it is back.
      this.#listenReady = this.#listen();
      this.#poll = setInterval(() => this.#notify(), this.#pollMs);
      (this.#poll as { unref?(): void }).unref?.();
    }
    return () => this.#watchers.delete(listener);
  }

  /** Holds one connection LISTENing on the log's channel; takes a new one if it dies. */
  async #listen(): Promise<void> {
    if (this.#closed) return;
    try {
      const client = await this.#pool.connect();
      // The payload is the head the committing writer left. Up to this storage's own
      // latest commit there is nothing to tell: its store took in its own appends, and read
      // what others committed before them. While its appends are in flight a notification
      // may be theirs (it can come before the statement's answer) or another writer's: it
      // is kept until they are answered, then told if it is past them (#flush).
      client.on("notification", (message) => {
        const head = Number(message.payload);
        if (this.#flushes.size > 0) this.#noticed = Math.max(this.#noticed, head);
        else if (!(head <= this.#committed)) this.#notify();
      });
      client.on("error", () => {
        // The LISTEN connection died: drop it, let the poll carry on, listen again soon.
        client.release(true);
        if (this.#listener === client) this.#listener = undefined;
        if (!this.#closed) setTimeout(() => void (this.#listenReady = this.#listen()), this.#pollMs);
      });
      await client.query(`listen "${this.#channel}"`);
      if (this.#closed) client.release();
      else this.#listener = client;
    } catch (error) {
      if (!this.#closed) console.error(`eventfold: ${this.#storageError(error, "LISTEN").message}; polling every ${this.#pollMs} ms`);
    }
  }

  #notify(): void {
    for (const watcher of this.#watchers) watcher();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Appends made before close are committed (or fail) first.
    while (this.#flushes.size > 0 || this.#pending.length > 0) {
      await (this.#flushes.size > 0 ? Promise.all(this.#flushes) : new Promise((done) => setImmediate(done)));
    }
    this.#closed = true;
    clearInterval(this.#poll);
    this.#watchers.clear();
    try {
      await this.#listenReady;
      this.#listener?.release();
      this.#listener = undefined;
      const writer = this.#writer;
      this.#writer = undefined;
      (await writer?.catch(() => undefined))?.release();
      await this.#pool.end();
    } catch (error) {
      throw this.#storageError(error, "close");
    }
  }
}

/** A connection string without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

/** Snapshots in the log's schema, one row per stream (upserted). */
class PostgresSnapshotStore implements SnapshotStore {
  constructor(
    private readonly sql: Queryable,
    private readonly schema: string,
    private readonly errors: () => (error: unknown, doing: string) => StorageError,
  ) {}

  async load(streamId: string): Promise<Snapshot | undefined> {
    try {
      const { rows: [row] } = await this.sql.query(
        `select stream_version, schema_version, state::text as state from "${this.schema}".snapshots where stream_id = $1`,
        [streamId],
      );
      if (row === undefined) return undefined;
      return { streamId, streamVersion: Number(row.stream_version), schemaVersion: Number(row.schema_version), state: JSON.parse(row.state as string) };
    } catch (error) {
      throw this.errors()(error, "snapshot load");
    }
  }

  async save(snapshot: Snapshot): Promise<void> {
    try {
      await this.sql.query(
        `insert into "${this.schema}".snapshots (stream_id, stream_version, schema_version, state) values ($1, $2, $3, $4::json)
         on conflict (stream_id) do update set stream_version = excluded.stream_version,
           schema_version = excluded.schema_version, state = excluded.state`,
        [snapshot.streamId, snapshot.streamVersion, snapshot.schemaVersion, JSON.stringify(snapshot.state)],
      );
    } catch (error) {
      throw this.errors()(error, "snapshot save");
    }
  }
}
