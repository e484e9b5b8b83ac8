/**
 * Consumers of a SQLite log: checkpoints, group leases and parked events in the log's file
 * (tables `consumers` and `parked`). A lease is a row's owner and expiry (ms since the
 * epoch: every process on the file shares the machine's clock), taken or renewed by one
 * upsert that only succeeds when the lease is free, expired or already the member's.
 */
import { ClosedError, type StorageError } from "../../core/errors.ts";
import type { ConsumerStore, ParkedEvent } from "../../core/consumer-store.ts";
import type { SqliteDatabase } from "./driver.ts";

export class SqliteConsumerStore implements ConsumerStore {
  constructor(
    private readonly database: () => SqliteDatabase,
    private readonly errors: (error: unknown, doing: string) => StorageError,
  ) {}

  #run<T>(doing: string, work: (db: SqliteDatabase) => T): Promise<T> {
    try {
      return Promise.resolve(work(this.database()));
    } catch (error) {
      return Promise.reject(error instanceof ClosedError ? error : this.errors(error, `consumer ${doing}`));
    }
  }

  load(name: string): Promise<number> {
    return this.#run("load", (db) => Number(db.prepare("select position from consumers where name = ?").get(name)?.position ?? 0));
  }

  save(name: string, member: string, position: number): Promise<boolean> {
    return this.#run("save", (db) =>
      db.prepare("update consumers set position = ? where name = ? and owner = ? returning name").get(position, name, member) !== undefined);
  }

  acquire(name: string, member: string, ttlMs: number): Promise<boolean> {
    return this.#run("lease", (db) => {
      const now = Date.now();
      return db.prepare(
        `insert into consumers (name, position, owner, lease_until) values (?, 0, ?, ?)
         on conflict (name) do update set owner = excluded.owner, lease_until = excluded.lease_until
           where consumers.owner is null or consumers.owner = excluded.owner or consumers.lease_until < ?
         returning owner`,
      ).get(name, member, now + ttlMs, now) !== undefined;
    });
  }

  release(name: string, member: string): Promise<void> {
    return this.#run("release", (db) => {
      db.prepare("update consumers set owner = null, lease_until = null where name = ? and owner = ?").run(name, member);
    });
  }

  park(name: string, event: ParkedEvent): Promise<void> {
    return this.#run("park", (db) => {
      db.prepare(
        `insert into parked (name, position, stream_id, type, error, parked_at) values (?, ?, ?, ?, ?, ?)
         on conflict (name, position) do update set error = excluded.error, parked_at = excluded.parked_at`,
      ).run(name, event.position, event.streamId, event.type, event.error, event.parkedAt);
    });
  }

  parked(name: string): Promise<ParkedEvent[]> {
    return this.#run("parked", (db) =>
      db.prepare("select * from parked where name = ? order by position").all(name).map((row) => ({
        position: Number(row.position),
        streamId: row.stream_id as string,
        type: row.type as string,
        error: row.error as string,
        parkedAt: Number(row.parked_at),
      })));
  }
}
