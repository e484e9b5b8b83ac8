import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CatchUpProjection,
  ClosedError,
  CommandHandler,
  EventBuffer,
  EventStore,
  eventRegistry,
  MemoryCheckpointStore,
  memoryStorage,
  openEventStore,
  StorageError,
  ValidationError,
} from "../mod.ts";
import { orderBookCodecs, OrderBookEngine } from "../src/orderbook/index.ts";
import { fileStorage, type WalOptions } from "../src/adapter/file/index.ts";
import { Noted, noted, testEvents } from "./support/fixtures.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { fill, ns, openWal } from "./support/wal.ts";

async function withDirectory(run: (directory: string) => Promise<void>) {
  const directory = temporaryDirectory();
  try {
    await run(join(directory.path, "wal"));
  } finally {
    directory.remove();
  }
}

test("a second writer on the same directory is refused while the first holds it", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory);
    await assert.rejects(openWal(directory), (error: unknown) =>
      error instanceof StorageError && /already open for writing by process \d+ \(this one\)/.test(error.message));
    await first.store.close();
    const second = await openWal(directory);
    await second.store.close();
  }));

test("a lock left by a process that is gone is taken over", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory);
    await fill(first.store, 2);
    await first.store.close();
    const child = spawnSync(process.execPath, ["--version"]);
    writeFileSync(join(directory, "LOCK"), `${child.pid}\n`);
    const again = await openWal(directory);
    assert.deepEqual(await ns(again.store), [1, 2]);
    await again.store.close();
  }));

test("the first fdatasync failure poisons the log: pending and later appends reject, nothing retried", () =>
  withDirectory(async (directory) => {
    const { store, storage } = await openWal(directory, {
      maxBatch: 1,
      // syncData calls: 1 syncs the new segment's header, 2 and 3 the first two appends.
      faults: [{ operation: "syncData", nth: 4, code: "EIO" }],
    });
    await store.append("s", [noted(1)]);
    await store.append("s", [noted(2)]);
    const acknowledged = store.durablePosition;
    assert.equal(acknowledged, 2);
    await assert.rejects(store.append("s", [noted(3)]), (error: unknown) =>
      error instanceof StorageError && /EIO: injected syncData failure/.test(error.message));
    assert.throws(() => store.enqueue("s", [noted(4)]), (error: unknown) => error === storage.failure);
    await assert.rejects(store.durable(3), (error: unknown) => error === storage.failure);
    assert.equal(store.durablePosition, acknowledged);
    await store.close();
    const again = await openWal(directory);
    const recovered = await ns(again.store);
    assert.deepEqual(recovered.slice(0, 2), [1, 2]); // everything acknowledged is there
    assert.ok(recovered.length <= 3);
    await again.store.close();
  }));

test("a write failure (ENOSPC) also fails stop", () =>
  withDirectory(async (directory) => {
    const { store } = await openWal(directory, { faults: [{ operation: "write", nth: 3, code: "ENOSPC" }] });
    await store.append("s", [noted(1)]);
    await assert.rejects(store.append("s", [noted(2)]), /ENOSPC/);
    assert.throws(() => store.enqueue("s", [noted(3)]), /ENOSPC/);
    await store.close();
    const again = await openWal(directory);
    assert.deepEqual(await ns(again.store), [1]);
    await again.store.close();
  }));

test("a failure to create the next segment (rename) fails stop", () =>
  withDirectory(async (directory) => {
    const { store } = await openWal(directory, { segmentBytes: 512, faults: [{ operation: "rename", nth: 3 }] });
    let failure: unknown;
    for (let n = 1; n <= 40 && failure === undefined; n++) {
      await store.append("s", [noted(n)]).catch((error) => (failure = error));
    }
    assert.ok(failure instanceof StorageError && /injected rename failure/.test(failure.message));
    await store.close();
    const again = await openWal(directory);
    const recovered = await ns(again.store);
    assert.ok(recovered.length > 0);
    assert.deepEqual(recovered, Array.from({ length: recovered.length }, (_, i) => i + 1));
    await again.store.close();
  }));

test("if the writer Worker dies, pending appends reject instead of hanging", () =>
  withDirectory(async (directory) => {
    const { store } = await openWal(directory, { faults: [{ operation: "syncData", nth: 3, effect: "crash" }] });
    await store.append("s", [noted(1)]);
    await assert.rejects(store.append("s", [noted(2)]), (error: unknown) =>
      error instanceof StorageError && /WAL writer died/.test(error.message));
    assert.throws(() => store.enqueue("s", [noted(3)]), StorageError);
    await store.close();
  }));

test("a stalled writer (a hung fdatasync) fails pending appends within the stall bound", () =>
  withDirectory(async (directory) => {
    const { store } = await openWal(directory, {
      stallTimeoutMs: 200,
      faults: [{ operation: "syncData", nth: 3, effect: "hang", hangMs: 1500 }],
    });
    await store.append("s", [noted(1)]);
    await assert.rejects(store.append("s", [noted(2)]), /WAL writer stalled/);
    await store.close();
  }));

test("after a slow write, the writer syncs the backlog that built up behind it at once, not maxBatch records at a time", () =>
  withDirectory(async (directory) => {
    const groups: number[] = [];
    const store = new EventStore({
      events: testEvents(),
      // The log's third write (the second append's) takes 300 ms, then succeeds.
      storage: fileStorage(directory, { maxBatch: 10, faults: [{ operation: "write", nth: 3, effect: "slow", hangMs: 300 }] }),
      observer: { synced: (group) => void groups.push(group.records) },
    });
    await store.open();
    try {
      await store.append("s", [noted(0)]);
      const slow = store.enqueue("s", [noted(1)]);
      await new Promise((resolve) => setTimeout(resolve, 50)); // the writer is in the slow write now
      let last = slow.position;
      for (let n = 2; n <= 501; n++) last = store.enqueue("s", [noted(n)]).position;
      await store.durable(last);
      assert.equal(groups.reduce((sum, records) => sum + records, 0), 502);
      // The first append's group, then the slow one's and the 500 behind it: one or two
      // fdatasyncs (the slow append may be synced alone before the writer sees the rest).
      assert.ok(groups.length <= 3, `${groups.length} groups: ${groups.join(", ")}`);
    } finally {
      await store.close();
    }
  }));

test("a main thread kept busy past the stall bound does not make a healthy writer look stalled", () =>
  withDirectory(async (directory) => {
    const { store } = await openWal(directory, { stallTimeoutMs: 200 });
    let position = 0;
    const pending: Promise<void>[] = [];
    // Busy for 3x the bound without yielding: the writer's messages wait in the queue
    // behind us, but its durable position moves on in shared memory.
    const busyUntil = performance.now() + 600;
    while (performance.now() < busyUntil) {
      position = store.enqueue("s", [noted(position + 1)]).position;
      if (position % 100 === 0) pending.push(store.durable(position));
    }
    await Promise.all(pending);
    await store.durable(position);
    assert.equal(store.storage.durablePosition(), position);
    await store.close();
    // And the writer closed cleanly: the log reopens with everything.
    const reopened = await openWal(directory);
    assert.equal(reopened.store.headPosition, position);
    await reopened.store.close();
  }));

test("backpressure: a tiny ring makes the producer wait, and nothing is dropped", () =>
  withDirectory(async (directory) => {
    const { store } = await openWal(directory, { ringBytes: 4096, maxBatch: 50 });
    await fill(store, 5000);
    assert.equal(store.durablePosition, 5000);
    await store.close();
    const again = await openWal(directory);
    assert.deepEqual(await ns(again.store), Array.from({ length: 5000 }, (_, i) => i + 1));
    await again.store.close();
  }));

test("backpressure: appends not yet handed to the writer are handed over when the ring fills", () =>
  withDirectory(async (directory) => {
    // Small appends wait in the ring for the end of the synchronous run (or 1 KiB of them);
    // an append that needs their room must hand them to the writer before it waits.
    const { store } = await openWal(directory, { ringBytes: 4096, stallTimeoutMs: 2000 });
    for (let n = 1; n <= 6; n++) store.enqueue("s", [noted(n)]);
    const large = Array.from({ length: 24 }, (_, i) => noted(7 + i, "x".repeat(40)));
    const { position } = store.enqueue("s", large);
    await store.durable(position);
    await store.close();
    const again = await openWal(directory);
    assert.deepEqual(await ns(again.store), Array.from({ length: 30 }, (_, i) => i + 1));
    await again.store.close();
  }));

test("an append larger than the ring is refused whole; the log goes on", () =>
  withDirectory(async (directory) => {
    const { store } = await openWal(directory, { ringBytes: 4096 });
    await store.append("s", [noted(1)]);
    const many = Array.from({ length: 60 }, (_, i) => noted(100 + i, "x".repeat(90)));
    assert.throws(() => store.enqueue("s", many), (error: unknown) =>
      error instanceof ValidationError && /does not fit in the WAL ring/.test(error.message));
    assert.equal(store.headPosition, 1);
    await store.append("s", [noted(2)]);
    await store.close();
    const again = await openWal(directory);
    assert.deepEqual(await ns(again.store), [1, 2]);
    await again.store.close();
  }));

test("durability modes: durable acknowledges after the sync; close flushes async appends", () =>
  withDirectory(async (directory) => {
    const durable = await openWal(join(directory, "d"), { maxDelayMs: 5 });
    assert.equal(durable.store.durability, "durable");
    const result = await durable.store.append("s", [noted(1), noted(2)]);
    assert.ok(durable.store.durablePosition >= result.position);
    await durable.store.close();

    const asynchronous = await openWal(join(directory, "a"), { durability: "async", maxDelayMs: 60_000, maxBatch: 1_000_000 });
    for (let n = 1; n <= 100; n++) await asynchronous.store.append("s", [noted(n)]);
    assert.equal(asynchronous.store.durablePosition, 0); // acknowledged, not yet synced
    await asynchronous.store.close();
    const reopened = await openWal(join(directory, "a"));
    assert.equal(reopened.store.headPosition, 100);
    await reopened.store.close();

    const sync = await openWal(join(directory, "s"), { durability: "sync" });
    for (let n = 1; n <= 5; n++) {
      const appended = await sync.store.append("s", [noted(n)]);
      assert.equal(sync.store.durablePosition, appended.position);
    }
    await sync.store.close();
  }));

test("sync mode: each append is durable when enqueue returns, with one fdatasync for all its events", () =>
  withDirectory(async (directory) => {
    const groups: number[] = [];
    const store = new EventStore({
      events: testEvents(),
      storage: fileStorage(directory, { durability: "sync" }),
      observer: { synced: (group) => void groups.push(group.records) },
    });
    await store.open();
    try {
      // No await between the enqueue and the check: the writer runs on this thread.
      const first = store.enqueue("s", [noted(1), noted(2), noted(3)]);
      assert.equal(store.durablePosition, first.position);
      const second = store.enqueue("t", [noted(4)]);
      assert.equal(store.durablePosition, second.position);
      assert.deepEqual(groups.slice(-2), [3, 1]);
    } finally {
      await store.close();
    }
    const again = await openWal(directory);
    assert.deepEqual(await ns(again.store), [1, 2, 3, 4]);
    await again.store.close();
  }));

test("bad WAL options are refused with a typed error naming the option", () => {
  const refused = (options: unknown, pattern: RegExp) => {
    assert.throws(() => fileStorage("/nonexistent", options as WalOptions), (error: unknown) =>
      error instanceof ValidationError && error.code === "VALIDATION" && pattern.test(error.message));
  };
  refused({ maxBatch: 0 }, /maxBatch: must be an integer >= 1, got 0/);
  refused({ maxBatch: 2.5 }, /maxBatch: must be an integer >= 1/);
  refused({ ringBytes: 5000 }, /ringBytes: must be a power of two/);
  // A typo must not quietly turn durability off.
  refused({ durability: "fast" }, /durability: must be one of "durable", "async", "sync", got "fast"/);
  refused({ durability: "memory" }, /durability: must be one of/);
  refused({ durabilty: "sync" }, /durabilty: unknown option/);
  refused({ durability: "sync", maxBatch: 10 }, /maxBatch: does not apply to durability "sync"/);
  refused({ durability: "sync", maxDelayMs: 1 }, /maxDelayMs: does not apply to durability "sync"/);
  refused({ maxDelayMs: -1 }, /maxDelayMs: must be a number >= 0/);
  refused({ stallTimeoutMs: 0 }, /stallTimeoutMs: must be a number > 0/);
  refused({ repair: "yes" }, /repair: must be a boolean/);
  refused({ codecs: [{ id: 0, type: "Noted" }] }, /codecs: codec for "Noted": id must be an integer 1-255/);
  const codec = { id: 9, type: "Noted", byteLength: () => 1, encode() {}, decode: () => ({}) };
  refused({ codecs: [{ ...codec, encode: undefined }] }, /codecs: codec for "Noted" \(id 9\): encode must be a function/);
  refused({ codecs: [{ ...codec, decodeInto: {} }] }, /codecs: codec for "Noted" \(id 9\): decodeInto must be a function/);
  refused("durable", /WAL options: must be an object/);
  assert.throws(() => fileStorage("", {}), /directory: must be a non-empty string/);
});

test("bad event store options are refused with a typed error naming the option", () => {
  const refused = (options: Record<string, unknown>, pattern: RegExp) => {
    assert.throws(() => new EventStore({ events: testEvents(), storage: memoryStorage(), ...options }), (error: unknown) =>
      error instanceof ValidationError && error.code === "VALIDATION" && pattern.test(error.message));
  };
  refused({ bufferSize: 0 }, /bufferSize: must be an integer >= 1, got 0/);
  refused({ bufferSize: 1.5 }, /bufferSize: must be an integer >= 1/);
  refused({ storage: undefined }, /storage: must be a storage adapter/);
  refused({ events: [Noted] }, /events: must be an event registry/);
  refused({ projections: [{ name: "p" }] }, /projections\[0\]: must be an inline projection/);
  refused({ bufersize: 5 }, /bufersize: unknown option/);
  assert.throws(() => new EventBuffer(0), (error: unknown) => error instanceof ValidationError && /capacity: must be an integer >= 1/.test(error.message));
});

test("a WAL storage read before it is opened gives nothing, as an empty log's does; after close it is refused", () =>
  withDirectory(async (directory) => {
    const storage = fileStorage(directory);
    assert.deepEqual(await storage.read(0, 0), []);
    assert.deepEqual(await storage.read(1, 5), []);
    assert.equal((await storage.readEncoded(1, 0)).length, 0);
    await storage.close();
    await assert.rejects(storage.read(1, 1), ClosedError);
  }));

test("an open that fails after the writer started releases the writer and the lock and changes nothing", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory);
    await first.store.append("s", [noted(1), { type: "Tagged", data: { tag: "a" } }]);
    await first.store.close();
    const before = snapshotDirectory(directory);
    // A registry that lacks "Tagged": the log opens, then decoding position 2 fails.
    const narrow = new EventStore({ events: eventRegistry(Noted), storage: fileStorage(directory) });
    await assert.rejects(narrow.open(), (error: unknown) =>
      error instanceof ValidationError && /position 2 type: unknown event type "Tagged"/.test(error.message));
    assert.equal(narrow.closed, true);
    assert.deepEqual(snapshotDirectory(directory), before);
    // The same process can open it again at once: the lock was released.
    const again = await openWal(directory);
    assert.deepEqual((await again.store.readAll()).map((event) => event.type), ["Noted", "Tagged"]);
    await again.store.close();
  }));

/** Every file in a WAL directory but LOCK, with its bytes. */
function snapshotDirectory(directory: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(directory).sort()) {
    if (name !== "LOCK" && statSync(join(directory, name)).isFile()) files[name] = readFileSync(join(directory, name)).toString("base64");
  }
  return files;
}

test("an engine whose open fails after its store opened releases the store: the same process can open it again", () =>
  withDirectory(async (directory) => {
    const instruments = [{ symbol: "XBT-USD", tickSize: 1, lotSize: 1 }];
    const engine = await OrderBookEngine.open({ instruments, storage: fileStorage(directory, { codecs: orderBookCodecs }), snapshotEvery: 1 });
    engine.submit({ type: "place", symbol: "XBT-USD", orderId: 1, account: 1, side: "buy", price: 100, quantity: 5 });
    await engine.close();
    // A snapshot the engine cannot load: its book names no known instrument.
    const storage = fileStorage(directory, { codecs: orderBookCodecs });
    await storage.snapshots.save({ streamId: "book-XBT-USD", streamVersion: 1, schemaVersion: 1, state: { symbol: "NOPE" } });
    await assert.rejects(OrderBookEngine.open({ instruments, storage, snapshotEvery: 1 }), /unknown symbol "NOPE"/);
    const again = await OrderBookEngine.open({ instruments, storage: fileStorage(directory, { codecs: orderBookCodecs }) });
    assert.equal(again.book("XBT-USD").bids.best()?.quantity, 5);
    await again.close();
  }));

test("bad handler, subscription, projection and engine options are refused naming the option", async () => {
  const store = await openEventStore({ events: testEvents() });
  const decider = { initialState: () => 0, decide: () => [], evolve: (state: number) => state };
  const refused = (make: () => unknown, pattern: RegExp) =>
    assert.throws(make, (error: unknown) => error instanceof ValidationError && pattern.test(error.message));
  refused(() => new CommandHandler({ store, decider, streamId: "s" } as never), /streamId: must be a function/);
  refused(() => new CommandHandler({ store, decider: { ...decider, evolve: 1 }, streamId: () => "s" } as never), /decider\.evolve: must be a function/);
  refused(() => new CommandHandler({ store, decider, streamId: () => "s", command: {} } as never), /command: must be a Standard Schema/);
  refused(() => new CommandHandler({ store, decider, streamId: () => "s", snapshot: { every: 1 } } as never), /snapshot: unknown option/);
  refused(() => new CommandHandler({ store, decider, streamId: () => "s", snapshots: { every: 0, schemaVersion: 1 } }), /every: must be an integer >= 1/);
  refused(() => new CommandHandler({ store, decider, streamId: () => "s", snapshots: { every: 5 } } as never), /schemaVersion: is required/);
  refused(() => store.subscribe(() => {}, { from: 0 }), /from: must be an integer >= 1/);
  await store.append("s", [noted(1)]);
  await assert.rejects(store.readAll({ limit: -1 }), /limit: must be an integer >= 0/);
  await assert.rejects(store.readAll({ form: 1 } as never), /form: unknown option/);
  await assert.rejects(store.readStream("s", { direction: "sideways" } as never), /direction: must be "forwards" or "backwards"/);
  await assert.rejects(store.readStream("s", { to: 1.5 }), /to: must be an integer >= 0/);
  refused(() => store.subscribe(() => {}, { durableonly: true } as never), /durableonly: unknown option/);
  const definition = { name: "n", initialState: () => 0, apply: (n: number) => n };
  const checkpoints = new MemoryCheckpointStore();
  refused(() => new CatchUpProjection(store, definition, { checkpoints, checkpointEvery: 0 }), /checkpointEvery: must be an integer >= 1/);
  refused(() => new CatchUpProjection(store, definition, {} as never), /checkpoints: must be a checkpoint store/);
  await assert.rejects(OrderBookEngine.open({ instruments: [] }), /instruments: must be a non-empty array/);
  await assert.rejects(OrderBookEngine.open({ instruments: [{ symbol: "X", tickSize: 1, lotSize: 1 }], snapshotEvery: -1 }), /snapshotEvery: must be an integer >= 1/);
  await store.close();
});
