import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import {
  causedBy,
  ConcurrencyError,
  createCommandHandler,
  createMemoryLog,
  type Decider,
  defineEvent,
  type EventOf,
  eventRegistry,
  MemoryAdapter,
  MemorySnapshotStore,
  openEventStore,
  type RecordedEvent,
  ValidationError,
} from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { bank, BankCommand, bankEvents, BankRuleError, MoneyDeposited } from "../examples/bank.ts";

async function setup(options: { log?: ReturnType<typeof createMemoryLog>; snapshots?: MemorySnapshotStore; schemaVersion?: number } = {}) {
  const store = await openEventStore({ events: bankEvents, storage: new MemoryAdapter(options.log) });
  const handler = createCommandHandler({
    store,
    decider: bank,
    command: BankCommand,
    streamId: (c) => `account-${c.account}`,
    snapshots: options.snapshots && { every: 2, schemaVersion: options.schemaVersion ?? 1, store: options.snapshots },
  });
  return { store, handler };
}

test("handle validates, decides, appends and evolves", async () => {
  const { store, handler } = await setup();
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  const result = await handler.handle({ type: "deposit", account: "a", cents: 50 });
  assert.deepEqual(result.state, { open: true, balance: 50 });
  assert.equal(result.streamVersion, 2);
  assert.equal(result.position, 2);
  assert.deepEqual(result.events.map((e) => e.type), ["MoneyDeposited"]);
  assert.equal(store.streamVersion("account-a"), 2);
});

test("an invalid command is a ValidationError naming the field; nothing changes", async () => {
  const { store, handler } = await setup();
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  await assert.rejects(handler.handle({ type: "deposit", account: "a", cents: -5 }), (error: unknown) =>
    error instanceof ValidationError && error.issues[0].path === "cents");
  await assert.rejects(handler.handle({ type: "deposit", account: "a", cents: "5" }), ValidationError);
  await assert.rejects(handler.handle({ type: "steal", account: "a" }), ValidationError);
  assert.equal(store.headPosition, 1);
  assert.deepEqual(handler.cached("account-a"), { open: true, balance: 0 });
});

test("a rule broken in decide appends nothing and keeps the state", async () => {
  const { store, handler } = await setup();
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  await assert.rejects(handler.handle({ type: "withdraw", account: "a", cents: 1 }), BankRuleError);
  assert.equal(store.headPosition, 1);
  assert.deepEqual(await handler.load("account-a"), { open: true, balance: 0 });
});

test("another writer's events are folded in before deciding", async () => {
  const { store, handler } = await setup();
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  await store.append("account-a", [MoneyDeposited.create({ cents: 30 })], { expectedVersion: 1 });
  const result = await handler.handle({ type: "withdraw", account: "a", cents: 30 });
  assert.deepEqual(result.state, { open: true, balance: 0 });
  assert.equal(result.streamVersion, 3);
});

test("execute on a stream that exists but was never loaded is refused", async () => {
  const log = createMemoryLog();
  const first = await setup({ log });
  await first.handler.handle({ type: "open", account: "a", owner: "Ann" });
  const second = await setup({ log });
  assert.throws(() => second.handler.execute({ type: "deposit", account: "a", cents: 1 }), ConcurrencyError);
  await second.handler.load("account-a");
  assert.equal(second.handler.execute({ type: "deposit", account: "a", cents: 1 }).state.balance, 1);
});

test("handleMany runs a batch, reports failures by index and acknowledges once", async () => {
  const { store, handler } = await setup();
  const result = await handler.handleMany([
    { type: "open", account: "a", owner: "Ann" },
    { type: "deposit", account: "a", cents: 10 },
    { type: "withdraw", account: "a", cents: 100 },
    { type: "deposit", account: "a" },
    { type: "open", account: "b", owner: "Bo" },
  ]);
  assert.equal(result.succeeded, 3);
  assert.deepEqual(result.failures.map((f) => [f.index, (f.error as Error).constructor.name]), [
    [2, "BankRuleError"],
    [3, "ValidationError"],
  ]);
  assert.equal(result.position, 3);
  assert.equal(store.headPosition, 3);
});

test("restoring snapshot + tail gives the same state as a full replay", async () => {
  const log = createMemoryLog();
  const snapshots = new MemorySnapshotStore();
  const { handler, store } = await setup({ log, snapshots });
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  for (let i = 1; i <= 6; i++) await handler.handle({ type: "deposit", account: "a", cents: i });
  await handler.handle({ type: "withdraw", account: "a", cents: 4 });
  await handler.flushSnapshots();
  const saved = await snapshots.load("account-a");
  assert.equal(saved?.streamVersion, 8);
  await store.append("account-a", [MoneyDeposited.create({ cents: 100 })]); // a tail past the snapshot
  const fromSnapshot = await setup({ log, snapshots });
  const replayed = await setup({ log });
  assert.deepEqual(await fromSnapshot.handler.load("account-a"), await replayed.handler.load("account-a"));
  assert.deepEqual(await replayed.handler.load("account-a"), { open: true, balance: 117 });
});

test("a snapshot of another state schema version is ignored and rebuilt", async () => {
  const log = createMemoryLog();
  const snapshots = new MemorySnapshotStore();
  const first = await setup({ log, snapshots });
  await first.handler.handle({ type: "open", account: "a", owner: "Ann" });
  await first.handler.handle({ type: "deposit", account: "a", cents: 5 });
  await first.handler.flushSnapshots();
  await snapshots.save({ ...(await snapshots.load("account-a"))!, state: { open: true, balance: 999_999 } });
  const upgraded = await setup({ log, snapshots, schemaVersion: 2 });
  assert.deepEqual(await upgraded.handler.load("account-a"), { open: true, balance: 5 });
  await upgraded.handler.handle({ type: "deposit", account: "a", cents: 1 });
  await upgraded.handler.handle({ type: "deposit", account: "a", cents: 1 });
  await upgraded.handler.flushSnapshots();
  assert.equal((await snapshots.load("account-a"))?.schemaVersion, 2);
});

test("a snapshot past the end of the log (its events lost in a crash) is not trusted", async () => {
  const log = createMemoryLog();
  const snapshots = new MemorySnapshotStore();
  const { handler } = await setup({ log });
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  await snapshots.save({ streamId: "account-a", streamVersion: 5, schemaVersion: 1, state: { open: true, balance: 77 } });
  const reloaded = await setup({ log, snapshots });
  assert.deepEqual(await reloaded.handler.load("account-a"), { open: true, balance: 0 });
});

test("handlers of two stores on one shared log decide on the latest state; a lost race is a ConcurrencyError, retried, no update lost", async () => {
  const log = createMemoryLog();
  const open = async () => {
    const store = await openEventStore({ events: bankEvents, storage: new MemoryAdapter(log, { shared: true }) });
    return createCommandHandler({ store, decider: bank, command: BankCommand, streamId: (c) => `account-${c.account}` });
  };
  const [a, b] = [await open(), await open()];
  await a.handle({ type: "open", account: "x", owner: "Ann" });
  await b.handle({ type: "deposit", account: "x", cents: 30 }); // b catches up with a's open first
  const fromA = await a.handle({ type: "deposit", account: "x", cents: 12 });
  assert.deepEqual(fromA.state, { open: true, balance: 42 });
  assert.equal(fromA.streamVersion, 3);
  // Many deposits through both at once: each one either lands or is refused whole
  // (ConcurrencyError) and retried on the latest state; no update is lost.
  let conflicts = 0;
  await Promise.all(Array.from({ length: 40 }, async (_, i) => {
    const handler = i % 2 ? a : b;
    for (;;) {
      try {
        return await handler.handle({ type: "deposit", account: "x", cents: 1 });
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        conflicts++;
      }
    }
  }));
  const final = await a.handle({ type: "deposit", account: "x", cents: 1 });
  assert.equal(final.state.balance, 42 + 40 + 1);
  assert.equal(log.records.length, 3 + 40 + 1);
  assert.deepEqual(log.records.map((record) => record.streamVersion), Array.from({ length: 44 }, (_, i) => i + 1));
  assert.ok(conflicts > 0, "the handlers never raced: the test did not exercise the log's version check");
});

test("retryOnConflict: a lost race on a shared log is decided again on the latest state, up to the bound", async () => {
  const log = createMemoryLog();
  const open = async (retryOnConflict?: number) => {
    const store = await openEventStore({ events: bankEvents, storage: new MemoryAdapter(log, { shared: true }) });
    return createCommandHandler({ store, decider: bank, command: BankCommand, streamId: (c) => `account-${c.account}`, retryOnConflict });
  };
  const [a, b] = [await open(50), await open(50)];
  await a.handle({ type: "open", account: "x", owner: "Ann" });
  // 40 deposits through both at once, no retry loop of the caller's: none is refused.
  await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).handle({ type: "deposit", account: "x", cents: 1 })));
  const final = await a.handle({ type: "deposit", account: "x", cents: 1 });
  assert.equal(final.state.balance, 41);
  assert.deepEqual(log.records.map((record) => record.streamVersion), Array.from({ length: 42 }, (_, i) => i + 1));
  // Without retries the same race reaches the caller.
  const [c, d] = [await open(), await open()];
  const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i % 2 ? c : d).handle({ type: "deposit", account: "x", cents: 1 })));
  assert.ok(outcomes.some((o) => o.status === "rejected" && o.reason instanceof ConcurrencyError), "no conflict reached the caller without retries");
  const store = await openEventStore({ events: bankEvents });
  for (const retryOnConflict of [-1, 1.5, "3"]) {
    assert.throws(() => createCommandHandler({ store, decider: bank, streamId: () => "", retryOnConflict: retryOnConflict as never }), /retryOnConflict: must be an integer >= 0/);
  }
});

test("retryOnConflict never retries a conflict with the caller's expectedVersion", async () => {
  const log = createMemoryLog();
  const store = await openEventStore({ events: bankEvents, storage: new MemoryAdapter(log, { shared: true }) });
  const handler = createCommandHandler({ store, decider: bank, command: BankCommand, streamId: (c) => `account-${c.account}`, retryOnConflict: 5 });
  await handler.handle({ type: "open", account: "x", owner: "Ann" });
  await assert.rejects(handler.handle({ type: "deposit", account: "x", cents: 5 }, { expectedVersion: 0 }), (error) =>
    error instanceof ConcurrencyError && error.actual === 1 && error.expected === 0);
  assert.equal(log.records.length, 1);
});

test("handle with expectedVersion refuses a stream at another version and appends nothing", async () => {
  const { store, handler } = await setup();
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  await assert.rejects(handler.handle({ type: "deposit", account: "a", cents: 5 }, { expectedVersion: "no_stream" }), ConcurrencyError);
  await assert.rejects(handler.handle({ type: "deposit", account: "a", cents: 5 }, { expectedVersion: 3 }), /is at version 1, expected version 3/);
  assert.equal(store.headPosition, 1);
  const result = await handler.handle({ type: "deposit", account: "a", cents: 5 }, { expectedVersion: 1 });
  assert.equal(result.streamVersion, 2);
  assert.throws(() => handler.execute({ type: "deposit", account: "a", cents: 5 }, { expectedVersion: 1 }), ConcurrencyError);
  for (const bad of [{ expectedVersion: -1 }, { expectedVersion: "latest" }, { metadata: [] }, { metadata: null }, { correlation: "x" }]) {
    await assert.rejects(handler.handle({ type: "deposit", account: "a", cents: 5 }, bad as never), ValidationError);
  }
  assert.equal(store.headPosition, 2);
});

test("metadata given to handle is carried by every event the command causes; reads filter by correlation id", async () => {
  const { store, handler } = await setup();
  const metadata = { correlationId: "conv-1", causationId: "request-7" };
  await handler.handle({ type: "open", account: "a", owner: "Ann" }, { metadata });
  await handler.handle({ type: "deposit", account: "a", cents: 5 }, { metadata: { correlationId: "conv-2" } });
  await handler.handleMany([{ type: "deposit", account: "a", cents: 1 }, { type: "deposit", account: "b", cents: 1 }], { metadata });
  const events = await store.readAll();
  assert.deepEqual(events.map((e) => e.metadata), [metadata, { correlationId: "conv-2" }, metadata]);
  assert.deepEqual((await store.readAll({ filter: { correlationId: "conv-1" } })).map((e) => e.position), [1, 3]);
  assert.deepEqual((await store.readAll({ filter: { correlationId: "conv-1" }, limit: 1 })).map((e) => e.position), [1]);
  assert.deepEqual(await store.readStream("account-a").then((e) => e.at(-1)!.metadata), metadata);
});

test("readAll and subscriptions filter by stream, stream prefix and event type", async () => {
  const { store, handler } = await setup();
  for (const account of ["a", "b"]) await handler.handle({ type: "open", account, owner: "Ann" });
  for (const account of ["a", "b", "a"]) await handler.handle({ type: "deposit", account, cents: 1 });
  const positions = async (filter: object) => (await store.readAll({ filter })).map((e) => e.position);
  assert.deepEqual(await positions({ streamId: "account-a" }), [1, 3, 5]);
  assert.deepEqual(await positions({ streamPrefix: "account-" }), [1, 2, 3, 4, 5]);
  assert.deepEqual(await positions({ streamPrefix: "acc", types: ["MoneyDeposited"] }), [3, 4, 5]);
  assert.deepEqual(await positions({ types: [] }), []);
  const seen: number[] = [];
  const subscription = store.subscribe((event) => void seen.push(event.position), { from: 1, filter: { streamId: "account-b" } });
  await handler.handle({ type: "deposit", account: "b", cents: 1 });
  await handler.handle({ type: "deposit", account: "a", cents: 1 });
  await handler.handle({ type: "deposit", account: "b", cents: 1 });
  while (subscription.position <= store.headPosition) await new Promise((resolve) => setTimeout(resolve, 1));
  subscription.close();
  assert.deepEqual(seen, [2, 4, 6, 8]);
  for (const filter of [{ stream: "a" }, { streamId: "" }, { types: "MoneyDeposited" }, [], { correlationId: 7 }]) {
    await assert.rejects(store.readAll({ filter: filter as never }), ValidationError);
    assert.throws(() => store.subscribe(() => {}, { filter: filter as never }), ValidationError);
  }
});

test("causedBy: a command reacting to an event carries the conversation on and names the event as its cause", async () => {
  const { store, handler } = await setup();
  const [opened] = (await handler.handle({ type: "open", account: "a", owner: "Ann" }, { metadata: { correlationId: "signup-1" } })).events;
  const reaction = await handler.handle({ type: "deposit", account: "a", cents: 100 }, { metadata: causedBy(opened!) });
  assert.deepEqual(reaction.events[0]!.metadata, { correlationId: "signup-1", causationId: opened!.id });
  // An event without a correlation id starts a conversation of its own.
  const [started] = (await handler.handle({ type: "open", account: "b", owner: "Bo" })).events;
  assert.deepEqual(causedBy(started!), { correlationId: started!.id, causationId: started!.id });
  assert.deepEqual((await store.readAll({ filter: { correlationId: "signup-1" } })).map((e) => e.type), ["AccountOpened", "MoneyDeposited"]);
});

test("a decider whose evolve keeps no events is lent them when it loads (one object for what the file WAL reads); one that keeps them gets its own", async () => {
  const Added = defineEvent("Added", z.object({ n: z.number().int() }), { trusted: true });
  type Added = EventOf<typeof Added>;
  const seen: RecordedEvent<Added>[] = [];
  const counter: Decider<{ n: number }, { total: number }, Added> = {
    initialState: () => ({ total: 0 }),
    decide: (command) => [Added.create({ n: command.n })],
    evolve: (state, event) => {
      seen.push(event as RecordedEvent<Added>);
      return { total: state.total + event.data.n };
    },
  };
  const directory = temporaryDirectory();
  const open = () => openEventStore({ events: eventRegistry(Added), storage: fileStorage(join(directory.path, "wal")), bufferSize: 2 });
  try {
    const writer = await open();
    const handler = createCommandHandler({ store: writer, decider: counter, streamId: () => "c" });
    for (let n = 1; n <= 20; n++) await handler.handle({ n });
    await writer.close();
    const store = await open();
    try {
      for (const keepsNone of [true, false]) {
        seen.length = 0;
        const loader = createCommandHandler({ store, decider: { ...counter, evolveKeepsNoEvents: keepsNone }, streamId: () => "c" });
        assert.deepEqual(await loader.load("c"), { total: 210 });
        assert.equal(seen.length, 20);
        // Lent: positions 1-18 in one refilled object, the buffer's last two as they are.
        assert.equal(new Set(seen).size, keepsNone ? 3 : 20);
        if (!keepsNone) assert.deepEqual(seen.map((event) => [event.streamVersion, event.data.n]), seen.map((_, i) => [i + 1, i + 1]));
      }
      assert.throws(() => createCommandHandler({ store, decider: { ...counter, evolveKeepsNoEvents: "yes" as never }, streamId: () => "c" }), (error: unknown) =>
        error instanceof ValidationError && error.issues[0].path === "decider.evolveKeepsNoEvents");
    } finally {
      await store.close();
    }
  } finally {
    directory.remove();
  }
});
