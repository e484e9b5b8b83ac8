/**
 * The PostgreSQL schema of a log (documented in docs/postgres.md). Every statement is
 * idempotent; `schema_version` says which layout a schema holds, so a later eventfold can
 * migrate it (or refuse it) instead of guessing.
 */

/** The layout these statements make. */
export const SCHEMA_VERSION = 1;

/** The statements that create (or leave as they are) the tables of `schema`. */
export function postgresSchema(schema: string): string[] {
  const s = `"${schema}"`;
  return [
    `create schema if not exists ${s}`,
    `create table if not exists ${s}.schema_version (version int not null)`,
    // position: the global order, assigned under the log's advisory lock, so gap-free.
    // data and metadata are json (not jsonb): stored as written, keys in their order.
    `create table if not exists ${s}.events (
      position bigint primary key,
      stream_id text not null,
      stream_version int not null,
      type text not null,
      schema_version int not null,
      data json not null,
      metadata json,
      timestamp double precision not null,
      unique (stream_id, stream_version)
    )`,
    `create table if not exists ${s}.snapshots (
      stream_id text primary key,
      stream_version int not null,
      schema_version int not null,
      state json not null
    )`,
    // A projection's read model and its checkpoint change in one transaction (projection.ts).
    `create table if not exists ${s}.checkpoints (
      name text primary key,
      position bigint not null
    )`,
  ];
}
