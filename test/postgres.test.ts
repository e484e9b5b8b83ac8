/**
 * PostgreSQL storage, against a real server (a database of its own, dropped at the end):
 * the conformance suite unchanged; many writers (stores and processes) on one log with a
 * gap-free global order; a writer killed mid-transaction; a lost connection; a bad one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { ConcurrencyError, openEventStore, StorageError, ValidationError } from "../mod.ts";
import { postgresStorage } from "../src/adapter/postgres/index.ts";
import { conformanceSuite } from "../src/testing/index.ts";
import { noted, testEvents } from "./support/fixtures.ts";
import { admin, databaseUrl, dropDatabase } from "./support/postgres.ts";
import { scriptCommand } from "./support/runtime.ts";
import process from "node:process";

let schemas = 0;
const freshSchema = () => `t${process.pid}_${++schemas}`;
const dropSchema = (schema: string) => admin(`drop schema if exists "${schema}" cascade`).then(() => {});

conformanceSuite("postgres", async () => {
  const url = await databaseUrl();
  const schema = freshSchema();
  return { open: () => postgresStorage({ url, schema, pollMs: 50 }), cleanup: () => dropSchema(schema) };
});

const openStore = async (schema: string) =>
  openEventStore({ events: testEvents(), storage: postgresStorage({ url: await databaseUrl(), schema, pollMs: 50 }) });

test("postgres: four writers and a subscriber on one log: every position delivered once, in order, none skipped", async () => {
  const schema = freshSchema();
  const writers = await Promise.all([1, 2, 3, 4].map(() => openStore(schema)));
  const reader = await openStore(schema);
  const seen: number[] = [];
  const total = 4 * 150;
  const all = new Promise<void>((resolve) => {
    reader.subscribe((event) => {
      seen.push(event.position);
      if (seen.length === total) resolve();
    }, { from: 1 });
  });
  // Each writer appends one event at a time, all four at once: transactions interleave.
  await Promise.all(writers.map(async (store, w) => {
    for (let i = 0; i < 150; i++) await store.append(`w${w}-${i % 5}`, [noted(w * 1000 + i)]);
  }));
  await all;
  assert.deepEqual(seen, Array.from({ length: total }, (_, i) => i + 1));
  const events = await reader.readAll();
  assert.deepEqual(events.map((event) => (event.data as { n: number }).n).sort((a, b) => a - b),
    [0, 1, 2, 3].flatMap((w) => Array.from({ length: 150 }, (_, i) => w * 1000 + i)));
  await Promise.all([...writers, reader].map((store) => store.close()));
  await dropSchema(schema);
});

function runChild(args: string[]): { done: Promise<string>; kill(): void; ready: Promise<void> } {
  const [command, commandArgs] = scriptCommand("test/support/pg-append.ts", args);
  const child = spawn(command, commandArgs, { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  let markReady = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout!.on("data", (chunk: Uint8Array) => {
    output += new TextDecoder().decode(chunk);
    if (output.includes("ready")) markReady();
  });
  const done = new Promise<string>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => (code === 0 || signal === "SIGKILL" ? resolve(output) : reject(new Error(`writer exited with ${code}: ${output}`))));
  });
  return { done, ready, kill: () => child.kill("SIGKILL") };
}

test("postgres: two processes appending to one stream by expected version: versions contiguous, nothing lost or doubled", async () => {
  const schema = freshSchema();
  const url = await databaseUrl();
  const first = await openStore(schema); // creates the schema before the processes race
  await Promise.all([runChild([url, schema, "race", "0", "60"]).done, runChild([url, schema, "race", "1000", "60"]).done]);
  await first.catchUp();
  const events = await first.readStream("counter");
  assert.deepEqual(events.map((event) => event.streamVersion), Array.from({ length: 120 }, (_, i) => i + 1));
  assert.deepEqual(events.map((event) => (event.data as { n: number }).n).sort((a, b) => a - b),
    [...Array.from({ length: 60 }, (_, i) => i), ...Array.from({ length: 60 }, (_, i) => 1000 + i)]);
  await first.close();
  await dropSchema(schema);
});

test("postgres: a writer killed mid-transaction leaves no partial append", async () => {
  const schema = freshSchema();
  const url = await databaseUrl();
  const store = await openStore(schema);
  const child = runChild([url, schema, "batches", "0", "0"]);
  await child.ready;
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.kill();
  await child.done;
  await store.catchUp();
  const events = await store.readAll();
  assert.ok(events.length >= 5, `only ${events.length} events before the kill`);
  const perAppend = new Map<number, number>();
  for (const event of events) {
    const batch = Math.floor((event.data as { n: number }).n / 10);
    perAppend.set(batch, (perAppend.get(batch) ?? 0) + 1);
  }
  for (const [batch, count] of perAppend) assert.equal(count, 5, `append ${batch} has ${count} of its 5 events`);
  await store.close();
  await dropSchema(schema);
});

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

test("postgres: expected versions are checked by the log, across stores", async () => {
  const schema = freshSchema();
  const [a, b] = [await openStore(schema), await openStore(schema)];
  await a.append("s", [noted(1)], { expectedVersion: "no_stream" });
  await assert.rejects(b.append("s", [noted(2)], { expectedVersion: "no_stream" }), (error: unknown) =>
    error instanceof ConcurrencyError && error.actual === 1 && /stream "s" is at version 1, expected no_stream/.test(error.message));
  await a.close();
  await b.close();
  await dropSchema(schema);
});

test("postgres: the test database is dropped", async () => {
  await dropDatabase();
});
