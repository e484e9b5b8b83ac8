/**
 * The tests every shared log (StorageAdapter.shared: PostgreSQL, SQLite) must pass beyond
 * the conformance suite: many writers, stores and processes, on one log; a gap-free global
 * order for subscribers; expected versions held across processes; a writer killed
 * mid-transaction leaves no partial append.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { ConcurrencyError, Consumer, openEventStore, type StorageAdapter } from "../../mod.ts";
import { noted, testEvents } from "./fixtures.ts";
import { scriptCommand } from "./runtime.ts";

/** One log for one test: adapters over it, and how a child process names it. */
export interface SharedLog {
  /** A new adapter over this log. */
  open(): StorageAdapter;
  /** `<adapter> <where...>` for test/support/shared-append.ts. */
  childArgs: string[];
  /** Removes the log. */
  remove(): Promise<void>;
}

/** A writer process (see shared-append.ts) on `log`. */
export function runWriter(log: SharedLog, mode: "race" | "batches", base: number, count = 0) {
  const [command, commandArgs] = scriptCommand("test/support/shared-append.ts", [mode, String(base), String(count), ...log.childArgs]);
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

/** Registers the shared-log tests for the logs `fresh` makes (one per test). */
export function sharedLogSuite(name: string, fresh: () => Promise<SharedLog>): void {
  const openStore = (log: SharedLog) => openEventStore({ events: testEvents(), storage: log.open() });

  test(`${name}: four writers and a subscriber on one log: every position delivered once, in order, none skipped`, async () => {
    const log = await fresh();
    const writers = await Promise.all([1, 2, 3, 4].map(() => openStore(log)));
    const reader = await openStore(log);
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
    await log.remove();
  });

  test(`${name}: two processes appending to one stream by expected version: versions contiguous, nothing lost or doubled`, async () => {
    const log = await fresh();
    const first = await openStore(log); // creates the tables before the processes race
    await Promise.all([runWriter(log, "race", 0, 60).done, runWriter(log, "race", 1000, 60).done]);
    await first.catchUp();
    const events = await first.readStream("counter");
    assert.deepEqual(events.map((event) => event.streamVersion), Array.from({ length: 120 }, (_, i) => i + 1));
    assert.deepEqual(events.map((event) => (event.data as { n: number }).n).sort((a, b) => a - b),
      [...Array.from({ length: 60 }, (_, i) => i), ...Array.from({ length: 60 }, (_, i) => 1000 + i)]);
    await first.close();
    await log.remove();
  });

  test(`${name}: a writer killed mid-transaction leaves no partial append`, async () => {
    const log = await fresh();
    const store = await openStore(log);
    const child = runWriter(log, "batches", 0);
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
    // The log takes appends after the kill (no lock left behind).
    await store.append("after", [noted(-1)]);
    await store.close();
    await log.remove();
  });

  test(`${name}: an append made the moment the one before it is acknowledged is committed too (no lost wake-up)`, async () => {
    const log = await fresh();
    const storage = log.open();
    await storage.open(() => {});
    const record = (n: number) => ({ position: 0, streamId: "s", streamVersion: 0, type: "Noted", schemaVersion: 1, data: { text: "x", n }, metadata: undefined, timestamp: 0 });
    // The second append is made in the first reaction to the first one's acknowledgement,
    // before the adapter has finished the group commit that acknowledged it.
    const chained = storage.appendShared!("s", "any", [record(1)]).then(() => storage.appendShared!("s", "any", [record(2)]));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("stuck"), 10_000)));
    assert.equal(await Promise.race([chained, stuck]), 2, "the second append was never committed");
    clearTimeout(timer);
    await storage.close();
    await log.remove();
  });

  test(`${name}: expected versions are checked by the log, across stores`, async () => {
    const log = await fresh();
    const [a, b] = [await openStore(log), await openStore(log)];
    await a.append("s", [noted(1)], { expectedVersion: "no_stream" });
    await assert.rejects(b.append("s", [noted(2)], { expectedVersion: "no_stream" }), (error: unknown) =>
      error instanceof ConcurrencyError && error.actual === 1 && /stream "s" is at version 1, expected no_stream/.test(error.message));
    await a.close();
    await b.close();
    await log.remove();
  });

  test(`${name}: appends committed together are checked one by one, in order: a refused one moves nothing`, async () => {
    const log = await fresh();
    const store = await openStore(log);
    await store.append("t", [noted(0), noted(1)]);
    // Made in one turn, so the log commits them together (one group).
    const results = await Promise.allSettled([
      store.append("s", [noted(2)], { expectedVersion: "no_stream" }),
      store.append("s", [noted(3)], { expectedVersion: 5 }),
      store.append("s", [noted(4), noted(5)], { expectedVersion: 1 }),
      store.append("t", [noted(6)], { expectedVersion: "no_stream" }),
      store.append("s", [noted(7)], { expectedVersion: "stream_exists" }),
      store.append("u", [noted(8)], { expectedVersion: "stream_exists" }),
      store.append("t", [noted(9)]),
    ]);
    const outcome = results.map((result) =>
      result.status === "fulfilled" ? [result.value.firstPosition, result.value.streamVersion]
      : result.reason instanceof ConcurrencyError ? `refused at ${result.reason.actual}` : result.reason
    );
    assert.deepEqual(outcome, [[3, 1], "refused at 1", [4, 3], "refused at 2", [6, 4], "refused at 0", [7, 3]]);
    const all = await store.readAll();
    assert.deepEqual(all.map((event) => [event.position, event.streamId, event.streamVersion, (event.data as { n: number }).n]), [
      [1, "t", 1, 0], [2, "t", 2, 1], [3, "s", 1, 2], [4, "s", 2, 4], [5, "s", 3, 5], [6, "s", 4, 7], [7, "t", 3, 9],
    ]);
    await store.close();
    await log.remove();
  });

  test(`${name}: appends made without waiting commit in the order made, however the log groups them`, async () => {
    const log = await fresh();
    const store = await openStore(log);
    const made = Array.from({ length: 300 }, (_, n) => store.append(n % 3 === 0 ? "a" : "b", [noted(n)]));
    const positions = (await Promise.all(made)).map((result) => result.position);
    assert.deepEqual(positions, Array.from({ length: 300 }, (_, n) => n + 1));
    const a = await store.readStream("a");
    assert.deepEqual(a.map((event) => (event.data as { n: number }).n), Array.from({ length: 100 }, (_, i) => 3 * i));
    await store.close();
    await log.remove();
  });

  test(`${name}: a consumer group across stores: one member handles at a time, the other takes over from the checkpoint`, async () => {
    const log = await fresh();
    const [a, b] = [await openStore(log), await openStore(log)];
    for (let i = 1; i <= 20; i++) await a.append(`s-${i % 3}`, [noted(i)]);
    const handled: [string, number][] = [];
    const member = (store: typeof a, label: string) =>
      new Consumer(store, { name: "mailer", leaseMs: 300, handler: (event) => void handled.push([label, event.position]) });
    const first = member(a, "a");
    await first.start();
    const second = member(b, "b");
    await second.start();
    assert.equal(first.active, true);
    assert.equal(second.active, false, "two members of one group active at once");
    await first.caughtUp(20);
    await first.stop(); // gives the lease up: b takes over from the checkpoint (20)
    for (let i = 21; i <= 30; i++) await a.append(`s-${i % 3}`, [noted(i)]);
    await b.catchUp();
    await second.caughtUp(30);
    assert.equal(second.active, true);
    assert.deepEqual(handled.map(([, position]) => position), Array.from({ length: 30 }, (_, i) => i + 1), "an event handled twice or not at all");
    assert.ok(handled.slice(0, 20).every(([label]) => label === "a") && handled.slice(20).every(([label]) => label === "b"));
    await second.stop();
    // The checkpoint is the log's: a new member (a "restarted process") resumes after 30.
    const again: number[] = [];
    await a.append("s-0", [noted(31)]);
    const third = new Consumer(a, { name: "mailer", handler: (event) => void again.push(event.position) });
    await third.start();
    await third.caughtUp(31);
    await third.stop();
    assert.deepEqual(again, [31]);
    await a.close();
    await b.close();
    await log.remove();
  });
}
