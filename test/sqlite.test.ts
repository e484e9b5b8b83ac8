/**
 * SQLite storage, on a file of its own per test: the conformance suite unchanged; many
 * writers (stores and processes) on one file with a gap-free global order; a writer killed
 * mid-transaction; a writer that holds the lock too long; bad options and bad files.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openEventStore, StorageError, ValidationError } from "../mod.ts";
import { sqliteStorage } from "../src/adapter/sqlite/index.ts";
import { sqliteDriver } from "../src/adapter/sqlite/driver.ts";
import { conformanceSuite } from "../src/testing/index.ts";
import { noted, testEvents } from "./support/fixtures.ts";
import { sharedLogSuite } from "./support/shared-log.ts";
import { scriptCommand } from "./support/runtime.ts";
import { temporaryDirectory } from "./support/temp.ts";

function freshFile() {
  const directory = temporaryDirectory("eventfold-sqlite-");
  return { path: join(directory.path, "events.db"), remove: () => Promise.resolve(directory.remove()) };
}

conformanceSuite("sqlite", () => {
  const file = freshFile();
  return Promise.resolve({ open: () => sqliteStorage({ path: file.path, pollMs: 10 }), cleanup: file.remove });
});

sharedLogSuite("sqlite", () => {
  const file = freshFile();
  return Promise.resolve({ open: () => sqliteStorage({ path: file.path, pollMs: 10 }), childArgs: ["sqlite", file.path], remove: file.remove });
});

test("sqlite: the file is in WAL journal mode, and holds what was acknowledged after the store is gone", async () => {
  const file = freshFile();
  const store = await openEventStore({ events: testEvents(), storage: sqliteStorage({ path: file.path }) });
  await store.append("s", [noted(1), noted(2)]);
  await store.close();
  const db = (await sqliteDriver()).open(file.path, 1000);
  assert.equal(db.prepare("pragma journal_mode").get()!.journal_mode, "wal");
  assert.deepEqual(db.prepare("select position, stream_id, stream_version from events order by position").all().map((row) => ({ ...row })), [
    { position: 1, stream_id: "s", stream_version: 1 },
    { position: 2, stream_id: "s", stream_version: 2 },
  ]);
  db.close();
  await file.remove();
});

test("sqlite: a writer holding the lock past busyTimeoutMs: the appends waiting reject with a StorageError, nothing of them is stored, the next append works", async () => {
  const file = freshFile();
  const store = await openEventStore({ events: testEvents(), storage: sqliteStorage({ path: file.path, busyTimeoutMs: 100 }) });
  await store.append("s", [noted(1)]);
  const other = (await sqliteDriver()).open(file.path, 1000);
  other.exec("begin immediate");
  const refused = await Promise.allSettled([store.append("s", [noted(2)]), store.append("t", [noted(3)])]);
  for (const result of refused) {
    assert.equal(result.status, "rejected");
    assert.ok(result.reason instanceof StorageError && /SQLite append failed: database is locked/.test(result.reason.message) &&
      result.reason.message.includes(file.path), String(result.reason));
  }
  other.exec("commit");
  other.close();
  const after = await store.append("s", [noted(4)], { expectedVersion: 1 });
  assert.deepEqual([after.firstPosition, after.streamVersion], [2, 2]);
  assert.deepEqual((await store.readAll()).map((event) => (event.data as { n: number }).n), [1, 4]);
  await store.close();
  await file.remove();
});

test("sqlite: bad options are refused at once; a missing directory or a file that is not SQLite fails the open with a clear error", async () => {
  const bad: [unknown, RegExp][] = [
    [undefined, /options: must be an object with a path/],
    [{}, /path: must be the database file's path/],
    [{ path: ":memory:" }, /path: must be a file path \(for a log in memory, use memoryStorage\)/],
    [{ path: "x.db", durability: "sync" }, /durability: must be "durable" or "async", got "sync"/],
    [{ path: "x.db", busyTimeoutMs: -1 }, /busyTimeoutMs/],
    [{ path: "x.db", pollMs: 0 }, /pollMs/],
    [{ path: "x.db", maxBatch: 1.5 }, /maxBatch/],
    [{ path: "x.db", file: "y" }, /file/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => sqliteStorage(options as never), (error: unknown) => error instanceof ValidationError && message.test(error.message), JSON.stringify(options));
  }
  const directory = temporaryDirectory("eventfold-sqlite-");
  const missing = join(directory.path, "no-such-dir", "events.db");
  await assert.rejects(openEventStore({ events: testEvents(), storage: sqliteStorage({ path: missing }) }), (error: unknown) =>
    error instanceof StorageError && /SQLite open failed/.test(error.message) && error.message.includes(missing));
  const notSqlite = join(directory.path, "text.db");
  writeFileSync(notSqlite, "this is not a database, it is a text file of more than a hundred bytes ".repeat(20));
  await assert.rejects(openEventStore({ events: testEvents(), storage: sqliteStorage({ path: notSqlite }) }), (error: unknown) =>
    error instanceof StorageError && /SQLite open failed: .*not a database/.test(error.message) && error.message.includes(notSqlite));
  directory.remove();
});

test("sqlite: a file with another schema version is refused, not guessed at", async () => {
  const file = freshFile();
  const store = await openEventStore({ events: testEvents(), storage: sqliteStorage({ path: file.path }) });
  await store.close();
  const db = (await sqliteDriver()).open(file.path, 1000);
  db.exec("update schema_version set version = 99");
  db.close();
  await assert.rejects(openEventStore({ events: testEvents(), storage: sqliteStorage({ path: file.path }) }), (error: unknown) =>
    error instanceof StorageError && /holds schema version 99; this eventfold uses version 1/.test(error.message));
  await file.remove();
});

test("sqlite: a disk that fails (the file may not grow) stops the log: the append and every later one reject with the first error; what was acknowledged is intact", async () => {
  const file = freshFile();
  const [command, args] = scriptCommand("test/support/sqlite-full.ts", [file.path]);
  // A file-size limit makes SQLite's writes fail (EFBIG, reported as a disk I/O error);
  // the signal the kernel sends with it is ignored so the write returns the error.
  const child = spawnSync("sh", ["-c", 'trap "" XFSZ; ulimit -f 400; exec "$@"', "sh", command, ...args], { encoding: "utf8" });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as { acknowledged: number[]; first: string; sameError: boolean };
  assert.ok(result.acknowledged.length > 10, `only ${result.acknowledged.length} appends fitted`);
  assert.match(result.first, /^StorageError: SQLite append failed: (disk I\/O error|database or disk is full)/);
  assert.ok(result.first.includes(file.path));
  assert.equal(result.sameError, true, "the append after the failure was tried again instead of refused with the first error");
  const store = await openEventStore({ events: testEvents(), storage: sqliteStorage({ path: file.path }) });
  const events = await store.readAll();
  assert.deepEqual(events.map((event) => event.position), Array.from({ length: events.length }, (_, i) => i + 1));
  assert.ok(events.length >= 3 * result.acknowledged.length);
  for (const position of result.acknowledged) assert.equal(events[position - 1]?.position, position);
  await store.close();
  await file.remove();
});
