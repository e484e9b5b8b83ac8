import { test } from "node:test";
import assert from "node:assert/strict";
import { ConcurrencyError, createMemoryLog, memoryStorage, openEventStore, StorageError } from "../mod.ts";
import { conformanceSuite } from "../src/testing/index.ts";
import { noted, testEvents } from "./support/fixtures.ts";

conformanceSuite("memory", () => {
  const log = createMemoryLog();
  return Promise.resolve({ open: () => memoryStorage(log), cleanup: () => Promise.resolve() });
});

conformanceSuite("memory, shared log", () => {
  const log = createMemoryLog();
  return Promise.resolve({ open: () => memoryStorage(log, { shared: true }), cleanup: () => Promise.resolve() });
});

test("two stores on one shared log: the log assigns positions, checks versions across writers, and each store follows the other", async () => {
  const log = createMemoryLog();
  const [a, b] = await Promise.all([1, 2].map(() => openEventStore({ events: testEvents(), storage: memoryStorage(log, { shared: true }) })));
  assert.equal(a!.shared, true);
  assert.throws(() => a!.enqueue("s", [noted(1)]), (error: unknown) => error instanceof StorageError && /use append\(\)/.test(error.message));
  await a!.append("s", [noted(1)], { expectedVersion: "no_stream" });
  // b decided on an old version: the log refuses it whatever b's own index said.
  await assert.rejects(b!.append("s", [noted(2)], { expectedVersion: "no_stream" }), (error: unknown) =>
    error instanceof ConcurrencyError && error.actual === 1);
  const appended = await b!.append("s", [noted(2)], { expectedVersion: 1 });
  assert.deepEqual([appended.firstPosition, appended.streamVersion], [2, 2]);
  await a!.catchUp();
  assert.equal(a!.streamVersion("s"), 2);
  assert.deepEqual((await a!.readAll()).map((event) => (event.data as { n: number }).n), [1, 2]);
  // A subscription on a sees b's later appends without a polling loop of its own.
  const seen: number[] = [];
  const done = new Promise<void>((resolve) => {
    a!.subscribe((event) => {
      seen.push(event.position);
      if (event.position === 4) resolve();
    }, { from: 1 });
  });
  await b!.append("t", [noted(3), noted(4)]);
  await done;
  assert.deepEqual(seen, [1, 2, 3, 4]);
  await Promise.all([a!.close(), b!.close()]);
});

test("enqueueEvents appends as enqueue does and returns only the recorded events; a wrong version appends nothing; a retry returns the original", async () => {
  const store = await openEventStore({ events: testEvents(), storage: memoryStorage(createMemoryLog()) });
  const recorded = store.enqueueEvents("s", [noted(1), noted(2)], "no_stream");
  assert.deepEqual(recorded.map((event) => [event.position, event.streamVersion]), [[1, 1], [2, 2]]);
  assert.deepEqual(await store.readAll(), recorded);
  assert.throws(() => store.enqueueEvents("s", [noted(3)], 1), (error: unknown) => error instanceof ConcurrencyError && error.actual === 2);
  assert.deepEqual(store.enqueueEvents("s", [], 2), []);
  assert.equal(store.headPosition, 2);
  const first = store.enqueueEvents("t", [{ ...noted(4), id: "once" }]);
  const again = store.enqueueEvents("t", [{ ...noted(4), id: "once" }]);
  assert.deepEqual(again, first);
  assert.deepEqual([store.headPosition, store.streamVersion("t")], [3, 1]);
  await store.close();
});
