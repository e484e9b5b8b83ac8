/**
 * PostgreSQL storage, against a real server (a database of its own, dropped at the end):
 * the conformance suite unchanged; many writers (stores and processes) on one log with a
 * gap-free global order; a writer killed mid-transaction; a lost connection; a bad one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { openEventStore, StorageError, ValidationError } from "../mod.ts";
import { postgresStorage } from "../src/adapter/postgres/index.ts";
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

test("postgres: the test database is dropped", async () => {
  await dropDatabase();
});
