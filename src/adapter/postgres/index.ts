/**
 * PostgreSQL storage: one log shared by every process that opens the same database and
 * schema (StorageAdapter.shared). Client: the `postgres` npm package (an optional peer
 * dependency), on Node, Deno and Bun. The schema is in docs/postgres.md.
 *
 * Global order without gaps: every append transaction takes one transaction-scoped
 * advisory lock before it picks positions, and holds it until it commits, so positions
 * commit in order and a reader that sees position p has already seen every lower one.
 * Expected versions are checked under that lock (exact), and `(stream_id, stream_version)`
 * is unique besides. Group commit: appends waiting while a transaction runs go into the
 * next one together (one round of inserts, one COMMIT); each is still all or nothing and
 * a conflict refuses only its own append.
 */
import postgres from "postgres";
import { ClosedError, ConcurrencyError, StorageError } from "../../core/errors.ts";
import type { StoredRecord } from "../../core/events.ts";
import type { Snapshot, SnapshotStore } from "../../core/snapshots.ts";
import type { DurabilityMode, ExpectedVersion, StorageAdapter } from "../../core/storage.ts";
import { checkInteger, checkKeys, invalid } from "../../core/check.ts";
import { postgresSchema, SCHEMA_VERSION } from "./schema.ts";

/** Options of PostgreSQL storage. */
export interface PostgresOptions {
  /** Connection string (default: the DATABASE_URL environment variable). */
  url?: string;
  /** The PostgreSQL schema holding the tables (default "eventfold"); one log per schema. */
  schema?: string;
  /** Appends committed in one transaction at most (default 512). */
  maxBatch?: number;
  /** How often to look for other writers' appends when no notification came (default 1000 ms). */
  pollMs?: number;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutSeconds?: number;
}

interface PendingAppend {
  streamId: string;
  expected: ExpectedVersion;
  records: StoredRecord[];
  resolve(position: number): void;
  reject(error: unknown): void;
}

type Sql = ReturnType<typeof postgres>;
type Row = Record<string, unknown>;

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
  /** The schema holding the log. */
  readonly schema: string;
  readonly #sql: Sql;
  readonly #url: string;
  readonly #maxBatch: number;
  readonly #pollMs: number;
  #pending: PendingAppend[] = [];
  #flushing?: Promise<void>;
  #committed = 0;
  #closed = false;
  #listening?: { unlisten(): Promise<void> };
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
    this.#maxBatch = options.maxBatch ?? 512;
    this.#pollMs = options.pollMs ?? 1000;
    this.#sql = postgres(url, {
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      max: 4,
      onnotice: () => {},
    });
    this.snapshots = new PostgresSnapshotStore(this.#sql, schema, () => this.#storageError);
  }

  /** Runs `work`; a failure becomes a StorageError naming the database. */
  #storageError = (error: unknown, doing: string): StorageError => {
    if (error instanceof StorageError) return error;
    const message = (error as Error)?.message ?? String(error);
    return new StorageError(`PostgreSQL ${doing} failed: ${message} (${this.#url}, schema ${this.schema})`, { cause: error });
  };

  async open(onRecord: (streamId: string, streamVersion: number, position: number) => void): Promise<void> {
    try {
      await this.#sql.begin(async (sql) => {
        // Two processes creating the schema at once would collide in the catalog: serialize.
        await sql`select pg_advisory_xact_lock(hashtext(${`eventfold schema ${this.schema}`}))`;
        for (const statement of postgresSchema(this.schema)) await sql.unsafe(statement);
        const [row] = await sql.unsafe(`select version from "${this.schema}".schema_version`);
        if (row === undefined) await sql.unsafe(`insert into "${this.schema}".schema_version (version) values (${SCHEMA_VERSION})`);
        else if (row.version !== SCHEMA_VERSION) {
          throw new StorageError(`schema "${this.schema}" is at version ${row.version}; this eventfold uses version ${SCHEMA_VERSION}`);
        }
      });
      let head = 0;
      const cursor = this.#sql.unsafe(
        `select stream_id, stream_version, position from "${this.schema}".events order by position`,
      ).cursor(10_000);
      for await (const rows of cursor) {
        for (const row of rows) {
          onRecord(row.stream_id as string, Number(row.stream_version), Number(row.position));
          head = Number(row.position);
        }
      }
      this.#committed = head;
    } catch (error) {
      await this.#sql.end({ timeout: 1 }).catch(() => {});
      this.#closed = true;
      throw this.#storageError(error, "open");
    }
  }

  append(): void {
    throw new StorageError("PostgreSQL storage is shared: the store appends through appendShared");
  }

  appendShared(streamId: string, expected: ExpectedVersion, records: StoredRecord[]): Promise<number> {
    if (this.#closed) return Promise.reject(new ClosedError("PostgreSQL storage"));
    return new Promise((resolve, reject) => {
      this.#pending.push({ streamId, expected, records, resolve, reject });
      this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
    });
  }

  /** Group commit: one transaction at a time, each taking every append waiting for it. */
  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#maxBatch);
      const settled: (() => void)[] = [];
      try {
        await this.#sql.begin(async (sql) => {
          await sql`select pg_advisory_xact_lock(hashtext(${`eventfold log ${this.schema}`}))`;
          const [{ head }] = await sql.unsafe(`select coalesce(max(position), 0) as head from "${this.schema}".events`);
          let position = Number(head);
          const versions = new Map<string, number>();
          const rows: unknown[][] = [[], [], [], [], [], [], [], []];
          for (const append of batch) {
            let current = versions.get(append.streamId);
            if (current === undefined) {
              const [row] = await sql.unsafe(
                `select coalesce(max(stream_version), 0) as version from "${this.schema}".events where stream_id = $1`,
                [append.streamId],
              );
              current = Number(row!.version);
            }
            if (!matches(append.expected, current)) {
              const error = new ConcurrencyError(append.streamId, append.expected, current);
              settled.push(() => append.reject(error));
              versions.set(append.streamId, current);
              continue;
            }
            for (const record of append.records) {
              record.position = ++position;
              record.streamVersion = ++current;
              rows[0]!.push(record.position);
              rows[1]!.push(record.streamId);
              rows[2]!.push(record.streamVersion);
              rows[3]!.push(record.type);
              rows[4]!.push(record.schemaVersion);
              rows[5]!.push(JSON.stringify(record.data));
              rows[6]!.push(record.metadata === undefined ? null : JSON.stringify(record.metadata));
              rows[7]!.push(record.timestamp);
            }
            versions.set(append.streamId, current);
            const last = position;
            settled.push(() => append.resolve(last));
          }
          if (rows[0]!.length > 0) {
            await sql.unsafe(
              `insert into "${this.schema}".events (position, stream_id, stream_version, type, schema_version, data, metadata, timestamp)
               select p, s, v, t, sv, d::json, m::json, ts
               from unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::int[], $6::text[], $7::text[], $8::float8[])
                 as u(p, s, v, t, sv, d, m, ts)`,
              rows as never[],
            );
            // Told at COMMIT to every listener (other processes' stores catch up).
            await sql`select pg_notify(${this.#channel}, ${String(position)})`;
          }
          this.#committed = Math.max(this.#committed, position);
        });
      } catch (error) {
        // None of this batch is acknowledged. Had the connection died at COMMIT, the server
        // may still have committed it (no client can know): say so, so a caller reads the
        // stream (or relies on event ids) before appending again.
        const failure = this.#storageError(error, "append (if the connection was lost at COMMIT, the append may have committed: read the stream before retrying)");
        for (const append of batch) append.reject(failure);
        continue;
      }
      for (const settle of settled) settle();
    }
  }

  get #channel(): string {
    return `eventfold_${this.schema}`;
  }

  async head(): Promise<number> {
    try {
      const [{ head }] = await this.#sql.unsafe(`select coalesce(max(position), 0) as head from "${this.schema}".events`);
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

  async read(from: number, to: number): Promise<StoredRecord[]> {
    if (this.#closed) throw new ClosedError("PostgreSQL storage");
    try {
      const rows = await this.#sql.unsafe(
        `select position, stream_id, stream_version, type, schema_version, data::text as data, metadata::text as metadata, timestamp
         from "${this.schema}".events where position between $1 and $2 order by position`,
        [Math.max(from, 1), to],
      );
      return rows.map((row: Row) => ({
        position: Number(row.position),
        streamId: row.stream_id as string,
        streamVersion: Number(row.stream_version),
        type: row.type as string,
        schemaVersion: Number(row.schema_version),
        data: JSON.parse(row.data as string),
        metadata: row.metadata === null ? undefined : JSON.parse(row.metadata as string),
        timestamp: Number(row.timestamp),
      }));
    } catch (error) {
      throw this.#storageError(error, "read");
    }
  }

  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    if (this.#watchers.size === 1) {
      // LISTEN wakes the store at once; the poll covers a notification lost with a
      // connection, and a LISTEN that failed (said once, then the poll carries on alone).
      this.#listenReady = this.#sql.listen(this.#channel, () => this.#notify()).then(
        (listening) => void (this.#listening = listening),
        (error) => void (this.#closed || console.error(`eventfold: ${this.#storageError(error, "LISTEN").message}; polling every ${this.#pollMs} ms`)),
      );
      this.#poll = setInterval(() => this.#notify(), this.#pollMs);
      (this.#poll as { unref?(): void }).unref?.();
    }
    return () => this.#watchers.delete(listener);
  }

  #notify(): void {
    for (const watcher of this.#watchers) watcher();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#flushing) await this.#flushing;
    this.#closed = true;
    clearInterval(this.#poll);
    this.#watchers.clear();
    try {
      await this.#listenReady;
      await this.#listening?.unlisten();
      await this.#sql.end({ timeout: 5 });
    } catch (error) {
      throw this.#storageError(error, "close");
    }
  }
}

function matches(expected: ExpectedVersion, current: number): boolean {
  return expected === "any" || (expected === "no_stream" && current === 0) ||
    (expected === "stream_exists" && current > 0) || expected === current;
}

/** A connection string without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

/** Snapshots in the log's schema, one row per stream (upserted). */
class PostgresSnapshotStore implements SnapshotStore {
  constructor(
    private readonly sql: Sql,
    private readonly schema: string,
    private readonly errors: () => (error: unknown, doing: string) => StorageError,
  ) {}

  async load(streamId: string): Promise<Snapshot | undefined> {
    try {
      const [row] = await this.sql.unsafe(
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
      await this.sql.unsafe(
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
