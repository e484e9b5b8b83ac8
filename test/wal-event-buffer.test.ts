/**
 * The event buffer over the file WAL: the store's own appends are held as the ring's
 * bytes (StorageAdapter.keepRecent, src/wal/ring-records.ts) and decoded when read. Reads
 * give what was appended, as fresh objects; once the ring has let go of a record, the
 * buffer's window starts after it and reads of it come from the segment files.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore, StorageError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import type { WalOptions } from "../src/wal/options.ts";
import { noted, type TestEvent, testEvents } from "./support/fixtures.ts";
import { temporaryDirectory } from "./support/temp.ts";

async function withStore(
  run: (store: EventStore<TestEvent>, directory: string) => Promise<void>,
  bufferSize: number,
  options: WalOptions = {},
): Promise<void> {
  const directory = temporaryDirectory();
  const store = new EventStore({ events: testEvents(), storage: fileStorage(directory.path, options), bufferSize });
  try {
    await store.open();
    await run(store, directory.path);
  } finally {
    await store.close();
    directory.remove();
  }
}

test("appended events are buffered as the ring's bytes: reads decode what was appended, not the objects returned", () =>
  withStore(async (store) => {
    const first = await store.append("a", [noted(1), { ...noted(2), metadata: { by: "x" } }]);
    const second = await store.append("b", [{ ...noted(3), id: "id-3" }]);
    const appended = [...first.events, ...second.events];
    for (const event of appended) {
      const buffered = store.buffer.get(event.position)!;
      assert.deepEqual(buffered, event);
      assert.notEqual(buffered, event, "decoded from the ring, not the appended object");
    }
    // A caller changing what append gave back changes nothing the store reads.
    (first.events[0].data as { n: number }).n = 99;
    assert.deepEqual((await store.readAll()).map((event) => (event.data as { n: number }).n), [1, 2, 3]);
    assert.deepEqual((await store.readStream("a")).map((event) => event.metadata), [undefined, { by: "x" }]);
    assert.equal((await store.readStream("b"))[0].id, "id-3");
  }, 100));

test("a ring that has let go of old records shrinks the buffer's window, and their reads come from the files", () =>
  withStore(async (store) => {
    // Records of about 150 bytes in a 4 KiB ring: it holds a few dozen of the 300.
    const text = (n: number) => `${n} `.padEnd(90, "x");
    for (let n = 1; n <= 300; n++) await store.append(`s-${n % 3}`, [noted(n, text(n))]);
    const oldest = store.buffer.oldestPosition;
    assert.ok(oldest > 250 && oldest <= 290, `the window starts at ${oldest}`);
    assert.equal(store.buffer.size, 300 - oldest + 1);
    assert.equal(store.buffer.get(oldest - 1), undefined);
    for (let p = oldest; p <= 300; p++) assert.equal((store.buffer.get(p)!.data as { text: string }).text, text(p));
    const all = await store.readAll();
    assert.deepEqual(all.map((event) => (event.data as { n: number }).n), Array.from({ length: 300 }, (_, i) => i + 1));
    assert.deepEqual(all.map((event) => (event.data as { text: string }).text), Array.from({ length: 300 }, (_, i) => text(i + 1)));
    const stream = await store.readStream("s-1", { from: 95 });
    assert.deepEqual(stream.map((event) => event.position), Array.from({ length: 6 }, (_, i) => 283 + 3 * i));
  }, 1_000, { ringBytes: 4096 }));

test("after a reopen, the events read back at open and those appended since are read alike", async () => {
  const directory = temporaryDirectory();
  try {
    const open = async () => {
      const store = new EventStore({ events: testEvents(), storage: fileStorage(directory.path), bufferSize: 8 });
      await store.open();
      return store;
    };
    const before = await open();
    for (let n = 1; n <= 10; n++) await before.append("a", [noted(n)]);
    await before.close();
    const after = await open();
    try {
      for (let n = 11; n <= 14; n++) await after.append("a", [noted(n)]);
      assert.equal(after.buffer.oldestPosition, 7);
      assert.deepEqual([6, 7, 10, 11, 14, 15].map((p) => (after.buffer.get(p)?.data as { n: number } | undefined)?.n), [
        undefined, 7, 10, 11, 14, undefined,
      ]);
      assert.deepEqual((await after.readStream("a")).map((event) => (event.data as { n: number }).n), Array.from({ length: 14 }, (_, i) => i + 1));
    } finally {
      await after.close();
    }
  } finally {
    directory.remove();
  }
});

test("one WAL storage serves one event store: a second store on it is refused when made, naming the directory", () =>
  withStore(async (store, directory) => {
    assert.throws(
      () => new EventStore({ events: testEvents(), storage: store.storage }),
      (error: unknown) => error instanceof StorageError && error.message.includes(`in ${directory} already serves an event store`),
    );
    await store.append("a", [noted(1)]);
    assert.equal(store.buffer.get(1)?.position, 1);
  }, 10));
