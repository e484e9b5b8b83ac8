/**
 * Consumers of a PostgreSQL log: checkpoints, group leases and parked events in the log's
 * schema (tables `consumers` and `parked`). A lease is a row's owner and expiry, taken or
 * renewed by one upsert that only succeeds when the lease is free, expired or already the
 * member's; expiry is the server's clock, so members on different machines agree on it.
 */
import type { StorageError } from "../../core/errors.ts";
import type { ConsumerStore, ParkedEvent } from "../../core/consumer-store.ts";
import type { Queryable } from "./index.ts";

export class PostgresConsumerStore implements ConsumerStore {
  constructor(
    private readonly sql: Queryable,
    private readonly schema: string,
    private readonly errors: () => (error: unknown, doing: string) => StorageError,
  ) {}

  async #query(doing: string, text: string, values: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      return (await this.sql.query(text.replaceAll("$schema", `"${this.schema}"`), values)).rows;
    } catch (error) {
      throw this.errors()(error, `consumer ${doing}`);
    }
  }

  async load(name: string): Promise<number> {
    const [row] = await this.#query("load", "select position from $schema.consumers where name = $1", [name]);
    return row === undefined ? 0 : Number(row.position);
  }

  async save(name: string, member: string, position: number): Promise<boolean> {
    const rows = await this.#query("save", "update $schema.consumers set position = $3 where name = $1 and owner = $2 returning name", [
      name,
      member,
      position,
    ]);
    return rows.length === 1;
  }

  async acquire(name: string, member: string, ttlMs: number): Promise<boolean> {
    const rows = await this.#query(
      "lease",
      `insert into $schema.consumers (name, position, owner, lease_until)
         values ($1, 0, $2, clock_timestamp() + $3 * interval '1 millisecond')
       on conflict (name) do update set owner = excluded.owner, lease_until = excluded.lease_until
         where consumers.owner is null or consumers.owner = excluded.owner or consumers.lease_until < clock_timestamp()
       returning owner`,
      [name, member, ttlMs],
    );
    return rows.length === 1;
  }

  async release(name: string, member: string): Promise<void> {
    await this.#query("release", "update $schema.consumers set owner = null, lease_until = null where name = $1 and owner = $2", [name, member]);
  }

  async park(name: string, event: ParkedEvent): Promise<void> {
    await this.#query(
      "park",
      `insert into $schema.parked (name, position, stream_id, type, error, parked_at) values ($1, $2, $3, $4, $5, $6)
       on conflict (name, position) do update set error = excluded.error, parked_at = excluded.parked_at`,
      [name, event.position, event.streamId, event.type, event.error, event.parkedAt],
    );
  }

  async parked(name: string): Promise<ParkedEvent[]> {
    const rows = await this.#query("parked", "select * from $schema.parked where name = $1 order by position", [name]);
    return rows.map((row) => ({
      position: Number(row.position),
      streamId: row.stream_id as string,
      type: row.type as string,
      error: row.error as string,
      parkedAt: Number(row.parked_at),
    }));
  }
}
