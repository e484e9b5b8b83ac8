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
    // stream_id compares bytewise ("C"): a stream is found by equality, never sorted, and
    // a locale's collation would make every index step on it slower.
    `create table if not exists ${s}.events (
      position bigint primary key,
      stream_id text collate "C" not null,
      stream_version int not null,
      type text not null,
      schema_version int not null,
      data json not null,
      metadata json,
      timestamp double precision not null,
      event_id text,
      unique (stream_id, stream_version)
    )`,
    // event_id came after the first layout: a schema made before it gains the column.
    `alter table ${s}.events add column if not exists event_id text`,
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
    // Consumers (consumers.ts): a checkpoint and a group lease per consumer; the events each
    // parked. Added in the same layout version: created where missing, unused by older eventfolds.
    `create table if not exists ${s}.consumers (
      name text primary key,
      position bigint not null,
      owner text,
      lease_until timestamptz
    )`,
    `create table if not exists ${s}.parked (
      name text not null,
      position bigint not null,
      stream_id text not null,
      type text not null,
      error text not null,
      parked_at double precision not null,
      primary key (name, position)
    )`,
    // append_batch before it took event ids (an overload would otherwise linger).
    `drop function if exists ${s}.append_batch(text[], int[], int[], int[], int[], text[], text[], int[], json, json, float8[], text)`,
    appendFunction(s, schema),
  ];
}

/**
 * `append_batch`: a group of appends in one statement, so one round trip, and the log's
 * lock is held for the server's own work and the COMMIT, never across a round trip.
 * Under the lock it reads the head and the streams' versions and checks each append's
 * expected version (-1 any, -2 no_stream, -3 stream_exists, else the version) in order,
 * as if each were alone: an append refused does not move its stream. The common case (all
 * hold) is one set-based pass; a refusal takes a loop over the appends. It inserts the
 * events that go in at the next positions, notifies the log's channel and returns
 * `{head before, per append: its stream's version before it, or -1 - the stream's version
 * if refused}`. The events come as one array per column (with each one's append, 1-based,
 * and place in it), data and metadata as JSON arrays: cheaper to parse than a document of
 * row objects.
 */
function appendFunction(s: string, schema: string): string {
  return `create or replace function ${s}.append_batch(
      streams text[], expected int[], counts int[],
      row_appends int[], row_offsets int[], row_streams text[], types text[], schema_versions int[],
      data json, metadata json, timestamps float8[], ids text[], channel text) returns bigint[]
    language plpgsql as $$
    declare
      head bigint;
      starts bigint[];
      held boolean;
      stream_of int[];
      version bigint[];
      total bigint := 0;
      v bigint;
      w int;
    begin
      perform pg_advisory_xact_lock(hashtext('eventfold log ${schema}'));
      -- Statements in a function take their snapshot when they start: after the lock.
      select coalesce(max(position), 0) into head from ${s}.events;
      -- Each stream's version once (materialized: else it is looked up once per append).
      with v as materialized (
        select d.stream, coalesce((select max(e.stream_version) from ${s}.events e where e.stream_id = d.stream), 0) as version
          from (select distinct u.stream from unnest(streams) as u(stream)) d)
      select array_agg(a.start order by a.i),
             bool_and(a.want = -1 or (a.want = -2 and a.start = 0) or (a.want = -3 and a.start > 0) or a.want = a.start)
        into starts, held
        from (select x.i, x.want,
                     v.version + coalesce(sum(x.n) over (partition by x.stream collate "C" order by x.i
                                                         rows between unbounded preceding and 1 preceding), 0) as start
                from unnest(streams, expected, counts) with ordinality as x(stream, want, n, i) join v using (stream)) a;
      if not held then
        -- Some append is refused: check them one by one, each stream's version (by its
        -- number in stream_of) moving only with the appends that go in.
        select array_agg(x.k order by x.i) into stream_of
          from (select i, dense_rank() over (order by stream) as k from unnest(streams) with ordinality as u(stream, i)) x;
        select array_agg(coalesce((select max(e.stream_version) from ${s}.events e where e.stream_id = d.stream), 0) order by d.stream)
          into version from (select distinct stream from unnest(streams) as u(stream)) d;
        for i in 1 .. coalesce(array_length(streams, 1), 0) loop
          v := version[stream_of[i]];
          w := expected[i];
          if w = -1 or (w = -2 and v = 0) or (w = -3 and v > 0) or w = v then
            starts[i] := v;
            version[stream_of[i]] := v + counts[i];
          else
            starts[i] := -1 - v;
          end if;
        end loop;
      end if;
      -- The rows zipped in one unnest (joins of separate unnests get nested loops).
      insert into ${s}.events (position, stream_id, stream_version, type, schema_version, data, metadata, timestamp, event_id)
        select head + row_number() over (order by r.j), r.stream, starts[r.i] + r.k, r.type, r.schema_version, r.data,
               case when json_typeof(r.metadata) = 'null' then null else r.metadata end, r.timestamp, r.event_id
          from unnest(row_appends, row_offsets, row_streams, types, schema_versions,
                      array(select d.value from json_array_elements(data) with ordinality as d(value, o) order by d.o),
                      array(select m.value from json_array_elements(metadata) with ordinality as m(value, o) order by m.o),
                      timestamps, ids) with ordinality as r(i, k, stream, type, schema_version, data, metadata, timestamp, event_id, j)
         where starts[r.i] >= 0;
      get diagnostics total = row_count;
      if total > 0 then
        perform pg_notify(channel, (head + total)::text);
      end if;
      return array[head] || starts;
    end $$`;
}
