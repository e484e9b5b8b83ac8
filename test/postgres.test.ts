/**
 * PostgreSQL storage, against a real server (a database of its own, dropped at the end):
 * the conformance suite unchanged; many writers (stores and processes) on one log with a
 * gap-free global order; a writer killed mid-transaction; a lost connection; a bad one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Event, memoryStorage, openEventStore, type RecordedEvent, StorageError, ValidationError } from "../mod.ts";
import { postgresProjection, postgresStorage, type Queryable } from "../src/adapter/postgres/index.ts";
import { conformanceSuite } from "../src/testing/index.ts";
import { noted, testEvents } from "./support/fixtures.ts";
import { admin, databaseUrl, dropDatabase } from "./support/postgres.ts";
import { sharedLogSuite } from "./support/shared-log.ts";
import process from "node:process";

let schemas = 0;
const freshSchema = () => `t${process.pid}_${++schemas}`;
const dropSchema = (schema: string) => admin(`drop schema if exists "${schema}" cascade`).then(() => {});

conformanceSuite("postgres", async () => {
  const url = await databaseUrl();
  const schema = freshSchema();
  return { open: () => postgresStorage({ url, schema, pollMs: 50 }), cleanup: () => dropSchema(schema) };
});

sharedLogSuite("postgres", async () => {
  const url = await databaseUrl();
  const schema = freshSchema();
  return { open: () => postgresStorage({ url, schema, pollMs: 50 }), childArgs: ["postgres", url, schema], remove: () => dropSchema(schema) };
});

const openStore = async (schema: string) =>
  openEventStore({ events: testEvents(), storage: postgresStorage({ url: await databaseUrl(), schema, pollMs: 50 }) });

test("postgres: a lost connection: appends reject with a StorageError, nothing is acknowledged that did not commit, the next appends reconnect", async () => {
  const schema = freshSchema();
  const store = await openStore(schema);
  await store.append("s", [noted(0)]);
  // Settled from the start: some reject while the connections are being cut.
  const attempts = Promise.allSettled(Array.from({ length: 40 }, (_, i) => store.append(`s-${i % 4}`, [noted(i + 1)])));
  // Cut the connections appends are running on, mid-transaction. (Idle and LISTEN ones
  // are left: on Deno the client reports an idle connection's death outside any query.)
  await admin(`select pg_terminate_backend(pid) from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle' and query not ilike 'listen%'`);
  const results = await attempts;
  for (const result of results) {
    if (result.status === "rejected") assert.ok(result.reason instanceof StorageError, String(result.reason));
  }
  const acknowledged = results.flatMap((result, i) => (result.status === "fulfilled" ? [i + 1] : []));
  // Each pooled connection that was cut surfaces once, on its next use, as a StorageError;
  // then the client reconnects. (An append is not retried for the caller: after a lost
  // COMMIT nobody can know whether it committed.) The pool holds at most 4.
  let after;
  for (let attempt = 1; after === undefined; attempt++) {
    try {
      after = await store.append("s", [noted(999)]);
    } catch (error) {
      assert.ok(error instanceof StorageError && attempt <= 4, `attempt ${attempt}: ${error}`);
    }
  }
  assert.ok(after.position > 0);
  const stored = new Set((await admin(`select (data->>'n')::int as n from "${schema}".events`)).map((row) => row.n as number));
  for (const n of acknowledged) assert.ok(stored.has(n), `event ${n} was acknowledged but is not in the database`);
  assert.ok(stored.has(999));
  // A refused append may still have committed (the connection died at its COMMIT): the
  // error says so, and the store takes it in like any other writer's append.
  for (const result of results) {
    if (result.status === "rejected") assert.match((result.reason as Error).message, /may have committed: read the stream before retrying/);
  }
  await store.catchUp();
  assert.deepEqual(new Set((await store.readAll()).map((event) => (event.data as { n: number }).n)), stored);
  await store.close();
  await dropSchema(schema);
});

test("postgres: a bad connection string is refused at once or fails the open with a clear error, without hanging", async () => {
  assert.throws(() => postgresStorage({ url: "mysql://localhost/x" }), (error: unknown) => error instanceof ValidationError && /url: must be a postgres:\/\//.test(error.message));
  assert.throws(() => postgresStorage({ url: "postgres://localhost/x", schema: "Robert'); drop table" }), /schema: must be a lower-case SQL identifier/);
  const started = Date.now();
  await assert.rejects(
    openEventStore({ events: testEvents(), storage: postgresStorage({ url: "postgres://nobody:secret@127.0.0.1:1/nothing", connectTimeoutSeconds: 2 }) }),
    (error: unknown) => error instanceof StorageError && /PostgreSQL open failed/.test(error.message) && !error.message.includes("secret"),
  );
  assert.ok(Date.now() - started < 10_000);
});

/** A read model of the projection tests: one row per applied event (the primary key refuses a second). */
const seenTable = (schema: string) => `"${schema}".seen`;
const recordSeen = (schema: string) => async <E extends Event>(client: Queryable, events: RecordedEvent<E>[]) => {
  for (const event of events) await client.query(`insert into ${seenTable(schema)} (position, n) values ($1, $2)`, [event.position, (event.data as { n: number }).n]);
};

test("postgres projection: the read model and its checkpoint commit together; a restart resumes after the last batch, nothing applied twice", async () => {
  const schema = freshSchema();
  const store = await openStore(schema);
  await admin(`create table ${seenTable(schema)} (position bigint primary key, n int not null)`);
  for (let i = 1; i <= 250; i++) await store.append(`s-${i % 3}`, [noted(i)]);
  const first = postgresProjection(store, { name: "seen", apply: recordSeen(schema), batchSize: 40 });
  await first.start();
  await first.caughtUp();
  await first.stop();
  assert.equal(first.position, 250);
  for (let i = 251; i <= 300; i++) await store.append("later", [noted(i)]);
  const second = postgresProjection(store, { name: "seen", apply: recordSeen(schema) });
  await second.start();
  await second.caughtUp();
  await second.stop();
  const rows = await admin(`select n from ${seenTable(schema)} order by position`);
  assert.deepEqual(rows.map((row) => row.n), Array.from({ length: 300 }, (_, i) => i + 1));
  assert.deepEqual(await admin(`select name, position::int from "${schema}".checkpoints`), [{ name: "seen", position: 300 }]);
  await store.close();
  await dropSchema(schema);
});

test("postgres projection: a failing batch rolls back with its checkpoint, stops the projection and rejects caughtUp; fixed, it resumes at that batch", async () => {
  const schema = freshSchema();
  const store = await openStore(schema);
  await admin(`create table ${seenTable(schema)} (position bigint primary key, n int not null)`);
  for (let i = 1; i <= 30; i++) await store.append("s", [noted(i)]);
  const errors: unknown[] = [];
  const failing = postgresProjection(store, {
    name: "seen",
    batchSize: 10,
    onError: (error) => errors.push(error),
    apply: async (client, events) => {
      await recordSeen(schema)(client, events);
      if (events.some((event) => event.position === 15)) throw new Error("read model refused event 15");
    },
  });
  await failing.start();
  await assert.rejects(failing.caughtUp(), /read model refused event 15/);
  assert.equal(failing.position, 10);
  assert.equal(errors.length, 1);
  await failing.stop();
  assert.deepEqual((await admin(`select count(*)::int as c from ${seenTable(schema)}`))[0], { c: 10 });
  const fixed = postgresProjection(store, { name: "seen", apply: recordSeen(schema), batchSize: 10 });
  await fixed.start();
  await fixed.caughtUp();
  await fixed.stop();
  const rows = await admin(`select n from ${seenTable(schema)} order by position`);
  assert.deepEqual(rows.map((row) => row.n), Array.from({ length: 30 }, (_, i) => i + 1));
  await store.close();
  await dropSchema(schema);
});

test("postgres projection: two stores (as two processes would) running one projection take turns: every event applied once", async () => {
  const schema = freshSchema();
  const [a, b] = [await openStore(schema), await openStore(schema)];
  await admin(`create table ${seenTable(schema)} (position bigint primary key, n int not null)`);
  const projections = [a, b].map((store) => postgresProjection(store, { name: "seen", apply: recordSeen(schema), batchSize: 7 }));
  await Promise.all(projections.map((projection) => projection.start()));
  await Promise.all([a, b].map(async (store, w) => {
    for (let i = 0; i < 100; i++) await store.append(`w${w}`, [noted(w * 1000 + i)]);
  }));
  await Promise.all([a, b].map((store) => store.catchUp()));
  await Promise.all(projections.map((projection) => projection.caughtUp(200)));
  await Promise.all(projections.map((projection) => projection.stop()));
  const rows = await admin(`select position::int from ${seenTable(schema)} order by position`);
  assert.deepEqual(rows.map((row) => row.position), Array.from({ length: 200 }, (_, i) => i + 1));
  await Promise.all([a, b].map((store) => store.close()));
  await dropSchema(schema);
});

test("postgres projection: bad options are refused", async () => {
  const memory = await openEventStore({ events: testEvents(), storage: memoryStorage() });
  assert.throws(() => postgresProjection(memory, { name: "x", apply: async () => {} }), (error: unknown) =>
    error instanceof ValidationError && /store: must be a store over postgresStorage/.test(error.message));
  await memory.close();
  const schema = freshSchema();
  const store = await openStore(schema);
  for (const [options, message] of [
    [{ name: "", apply: async () => {} }, /name: must be a non-empty string/],
    [{ name: "x" }, /apply: must be a function/],
    [{ name: "x", apply: async () => {}, batchSize: 0 }, /batchSize/],
    [{ name: "x", apply: async () => {}, every: 3 }, /every/],
  ] as const) {
    assert.throws(() => postgresProjection(store, options as never), (error: unknown) => error instanceof ValidationError && message.test(error.message));
  }
  await store.close();
  await dropSchema(schema);
});

test("postgres: the test database is dropped", async () => {
  await dropDatabase();
});
