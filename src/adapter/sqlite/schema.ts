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
    unique (stream_id, stream_version)
  )`,
  `create table if not exists snapshots (
    stream_id text primary key,
    stream_version integer not null,
    schema_version integer not null,
    state text not null
  )`,
];
