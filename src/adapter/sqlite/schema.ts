/**
 * The SQLite schema of a log (documented in docs/sqlite.md). Every statement is
 * idempotent; `schema_version` says which layout a file holds, so a later eventfold can
 * migrate it (or refuse it) instead of guessing.
 */

/** The layout these statements make. */
export const SCHEMA_VERSION = 1;

/** The statements that create (or leave as they are) the tables of a log. */
export const sqliteSchema: readonly string[] = [
  `create table if not exists schema_version (version integer not null)`,
  // position: the global order. Writers take the database's one write lock (BEGIN
  // IMMEDIATE) before they pick positions, so positions commit in order, without gaps.
  `create table if not exists events (
    position integer primary key,
    stream_id text not null,
    stream_version integer not null,
    type text not null,
    schema_version integer not null,
    data text not null,
    metadata text,
    timestamp real not null,
    event_id text,
    unique (stream_id, stream_version)
  )`,
  `create table if not exists snapshots (
    stream_id text primary key,
    stream_version integer not null,
    schema_version integer not null,
    state text not null
  )`,
  // Consumers (core/consumer.ts): a checkpoint and a group lease (owner, until: ms since
  // the epoch) per consumer; the events each parked. Added in the same layout version:
  // created where missing, unused by older eventfolds.
  `create table if not exists consumers (
    name text primary key,
    position integer not null,
    owner text,
    lease_until integer
  )`,
  `create table if not exists parked (
    name text not null,
    position integer not null,
    stream_id text not null,
    type text not null,
    error text not null,
    parked_at real not null,
    primary key (name, position)
  )`,
];
