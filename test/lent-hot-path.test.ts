/**
 * The lent hot path (issue 16: no objects per event): `submitLent` / `executeLent` /
 * `enqueueLent` / `decideLent` refill the objects they returned before, where nothing
 * else keeps them, and must give exactly what the owned path gives.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { CommandHandler, type Decider, defineEvent, EventStore, eventRegistry, type RecordedEvent, ValidationError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { memoryStorage } from "../src/adapter/memory/index.ts";
import { orderBookCodecs, OrderBookEngine, type OrderBookEvent, OrderCommand, type OrderCommandInput } from "../src/orderbook/index.ts";
import { noted, type TestEvent, testEvents } from "./support/fixtures.ts";
import { LOT, orderCommandWithOco, SYMBOL, TICK } from "./support/order-commands.ts";
import { testSeed, withSeed } from "./support/seed.ts";
import { temporaryDirectory } from "./support/temp.ts";

const instruments = [{ symbol: SYMBOL, tickSize: TICK, lotSize: LOT }];
const onWal = (directory: string, projections?: OrderBookEngineProjections) =>
  OrderBookEngine.open({ instruments, storage: fileStorage(directory, { codecs: orderBookCodecs }), projections });
type OrderBookEngineProjections = Parameters<typeof OrderBookEngine.open>[0]["projections"];

/** Runs `body` with two engines on their own WALs, one for each path, and closes them. */
async function withPair(body: (owned: OrderBookEngine, lent: OrderBookEngine) => void | Promise<void>): Promise<void> {
  const directory = temporaryDirectory("eventfold-lent-");
  const [owned, lent] = [await onWal(`${directory.path}/owned`), await onWal(`${directory.path}/lent`)];
  try {
    await body(owned, lent);
  } finally {
    await owned.close();
    await lent.close();
    directory.remove();
  }
}

/** A recorded event as a plain value, timestamp left out (each engine stamps its own). */
function value(event: RecordedEvent<OrderBookEvent> | RecordedEvent<TestEvent>) {
  const { timestamp: _, data, ...rest } = event;
  return { ...rest, data: { ...data } };
}

/** An OrderAccepted's order id and price. */
const accepted = (e: OrderBookEvent) => e.type === "OrderAccepted" ? [e.data.orderId, e.data.price] : undefined;
/** A Noted event's number. */
const n = (e: TestEvent) => e.type === "Noted" ? e.data.n : undefined;

const place = (orderId: number, price: number, side: "buy" | "sell" = "buy"): OrderCommand =>
  OrderCommand.parse({ type: "place", symbol: SYMBOL, orderId, account: 1, side, kind: "limit", price, quantity: LOT });

test("submitLent gives the events and the book that submitValidated gives, stops and OCO pairs included", async () => {
  const seed = testSeed();
  await withSeed("lent hot path property", seed, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(orderCommandWithOco, { minLength: 1, maxLength: 300 }), (inputs) =>
        withPair(async (owned, lent) => {
          for (const input of inputs as OrderCommandInput[]) {
            let command: OrderCommand;
            try {
              command = owned.handler.parse(input);
            } catch {
              continue; // refused where it entered, by both paths alike
            }
            const expected = owned.submitValidated(command);
            const got = lent.submitLent(command);
            // Copied at once: the next submitLent may refill them.
            assert.deepEqual(got.events.map(value), expected.events.map(value));
            assert.equal(got.position, expected.position);
          }
          assert.equal(await lent.stateHash(SYMBOL), await owned.stateHash(SYMBOL));
          await lent.durable();
          // What the lent path wrote to the log reads back as the owned path's events.
          const [ownedLog, lentLog] = [await owned.store.readAll(), await lent.store.readAll()];
          assert.deepEqual(lentLog.map(value), ownedLog.map(value));
        })),
      { seed, numRuns: 12 },
    );
  });
});

test("on the file WAL, submitLent refills the same objects: the result, the events and their data", async () => {
  const directory = temporaryDirectory("eventfold-lent-");
  const engine = await onWal(directory.path);
  try {
    const first = engine.submitLent(place(1, 100));
    const [event, data] = [first.events[0], first.events[0]!.data];
    const second = engine.submitLent(place(2, 95));
    assert.equal(second, first);
    assert.equal(second.events[0], event);
    assert.equal(second.events[0]!.data, data);
    assert.deepEqual({ ...second.events[0]!.data }, { ...engine.submitValidated(place(3, 90)).events[0]!.data, orderId: 2, price: 95 });
    // The owned path's objects are not the lent ones.
    assert.notEqual(engine.submitValidated(place(4, 85)).events[0], event);
    await engine.durable();
    const log = await engine.store.readAll();
    assert.deepEqual(log.map(accepted), [[1, 100], [2, 95], [3, 90], [4, 85]]);
  } finally {
    await engine.close();
    directory.remove();
  }
});

test("a lent command that triggers stops gives all their events, and later lent commands only theirs", () =>
  withPair((owned, lent) => {
    const order = (orderId: number, side: "buy" | "sell", kind: string, price?: number, stopPrice?: number) =>
      OrderCommand.parse({ type: "place", symbol: SYMBOL, orderId, account: orderId, side, kind, price, stopPrice, quantity: LOT });
    const commands = [
      order(1, "sell", "limit", 100),
      order(2, "buy", "stop-market", undefined, 100),
      order(3, "sell", "limit", 105),
      order(4, "buy", "limit", 100), // trades at 100: the stop triggers and takes order 3
      order(5, "buy", "limit", 90),
      order(6, "sell", "limit", 90), // two events, as order 4's own were
    ];
    const lengths: number[] = [];
    for (const command of commands) {
      const expected = owned.submitValidated(command).events.map(value);
      const got = lent.submitLent(command).events.map(value);
      assert.deepEqual(got, expected);
      lengths.push(got.length);
    }
    assert.deepEqual(lengths, [1, 1, 1, 4, 1, 2]);
  }));

test("a lent sweep longer than what is kept to lend (1,200 trades) gives what the owned path gives", () =>
  withPair(async (owned, lent) => {
    const sweep = OrderCommand.parse({ type: "place", symbol: SYMBOL, orderId: 5_000, account: 2, side: "buy", kind: "limit", price: 200, quantity: 1_200 * LOT });
    const commands = [...Array.from({ length: 1_200 }, (_, i) => place(i + 1, 100 + 5 * (i % 20), "sell")), sweep, place(5_001, 95, "sell"), sweep];
    for (const command of commands) {
      const expected = owned.submitValidated(command).events.map(value);
      assert.deepEqual(lent.submitLent(command).events.map(value), expected);
    }
    assert.equal(await lent.stateHash(SYMBOL), await owned.stateHash(SYMBOL));
  }));

test("where something keeps the events (memory storage, an inline projection), submitLent lends no events (only its result object)", async () => {
  const directory = temporaryDirectory("eventfold-lent-");
  const kept: OrderBookEvent[] = [];
  const engines = [
    await OrderBookEngine.open({ instruments }),
    await onWal(directory.path, [{ name: "keeper", apply: (event) => void kept.push(event) }]),
  ];
  try {
    for (const engine of engines) {
      const first = engine.submitLent(place(1, 100));
      const event = first.events[0]!;
      const second = engine.submitLent(place(2, 95));
      assert.equal(second, first);
      assert.notEqual(second.events[0], event);
      assert.deepEqual(accepted(event), [1, 100]);
      const log = await engine.store.readAll();
      assert.deepEqual(log.map((e) => e.type === "OrderAccepted" && e.data.orderId), [1, 2]);
    }
    assert.deepEqual(kept.map((e) => e.type === "OrderAccepted" && e.data.orderId), [1, 2]);
  } finally {
    for (const engine of engines) await engine.close();
    directory.remove();
  }
});

/** A counter whose state is a number: its evolve keeps nothing of an event. */
const counter: Decider<{ n: number; id?: string }, number, TestEvent> = {
  initialState: () => 0,
  decide: (command) => [command.id === undefined ? noted(command.n) : { ...noted(command.n), id: command.id }],
  evolve: (state, event) => state + (event.type === "Noted" ? event.data.n : 0),
  evolveKeepsNoEvents: true,
};

async function walStore(directory: string) {
  const store = new EventStore<TestEvent>({ events: testEvents(), storage: fileStorage(directory), eventIds: "given" });
  await store.open();
  return store;
}

test("executeLent lends records only where neither evolve nor the store keeps them", async () => {
  const directory = temporaryDirectory("eventfold-lent-");
  const store = await walStore(directory.path);
  try {
    const lending = new CommandHandler({ store, decider: counter, streamId: () => "c" });
    const a = lending.executeLent({ n: 1 });
    const record = a.events[0];
    const b = lending.executeLent({ n: 2 });
    assert.equal(b, a);
    assert.equal(b.events[0], record);
    assert.deepEqual([b.state, b.streamVersion, b.position, b.events[0]!.data], [3, 2, 2, { text: "note 2", n: 2 }]);
    // An evolve that may keep events gets new ones.
    const keeping = new CommandHandler({ store, decider: { ...counter, evolveKeepsNoEvents: false }, streamId: () => "k" });
    const c = keeping.executeLent({ n: 3 });
    const kept = c.events[0];
    assert.notEqual(keeping.executeLent({ n: 4 }).events[0], kept);
    assert.equal(n(kept!), 3);
    // Events with ids are recorded new, ids kept.
    const withId = lending.executeLent({ n: 5, id: "id-5" }).events[0]!;
    assert.notEqual(lending.executeLent({ n: 6, id: "id-6" }).events[0], withId);
    assert.deepEqual([withId.id, n(withId)], ["id-5", 5]);
    await store.durable();
    assert.deepEqual((await store.readAll()).map(n), [1, 2, 3, 4, 5, 6]);
  } finally {
    await store.close();
    directory.remove();
  }
});

test("enqueueLent refuses bad input like enqueueEvents: a typed error, nothing appended", async () => {
  const directory = temporaryDirectory("eventfold-lent-");
  const store = await walStore(directory.path);
  try {
    const lent = store.enqueueLent("s", [noted(1)])[0]!;
    assert.throws(() => store.enqueueLent("s", [noted(2), { type: "Noted", data: { text: "x", n: 1.5 } } as TestEvent]), ValidationError);
    assert.throws(() => store.enqueueLent("s", [noted(2)], 5), /version/);
    assert.equal(store.headPosition, 1);
    assert.equal(store.streamVersion("s"), 1);
    assert.equal(store.enqueueLent("s", [noted(3)])[0], lent);
    // An event with an id among ones without: its record is new, and never refilled for one without.
    const [plain, withId] = store.enqueueLent("s", [noted(4), { ...noted(5), id: "id-5" }]);
    assert.deepEqual([plain === lent, withId!.id], [true, "id-5"]);
    const [, second] = store.enqueueLent("s", [noted(6), noted(7)]);
    assert.deepEqual([second!.id, n(second!), withId!.id], [undefined, 7, "id-5"]);
    await store.durable();
    assert.deepEqual((await store.readAll()).map((e) => [e.position, n(e), e.id]), [
      [1, 1, undefined],
      [2, 3, undefined],
      [3, 4, undefined],
      [4, 5, "id-5"],
      [5, 6, undefined],
      [6, 7, undefined],
    ]);
    // On memory storage the log keeps the records: they are never lent.
    const memory = new EventStore<TestEvent>({ events: testEvents(), storage: memoryStorage(), eventIds: "given" });
    await memory.open();
    const first = memory.enqueueLent("m", [noted(7)])[0]!;
    assert.notEqual(memory.enqueueLent("m", [noted(8)])[0], first);
    assert.equal(n(first), 7);
    await memory.close();
  } finally {
    await store.close();
    directory.remove();
  }
});

test("enqueueLent refills a lent record with a trusted event as toRecord fills it; metadata, an unknown type or a non-object take the checked path", async () => {
  const Tick = defineEvent("Tick", z.object({ n: z.number() }), { trusted: true, version: 2, upcasters: { 1: (data) => data } });
  const directory = temporaryDirectory("eventfold-lent-");
  const store = new EventStore({ events: eventRegistry(Tick), storage: fileStorage(directory.path), eventIds: "given" });
  await store.open();
  try {
    const tick = (n: number, metadata?: Record<string, unknown>) => metadata ? { type: "Tick" as const, data: { n }, metadata } : { type: "Tick" as const, data: { n } };
    const first = store.enqueueLent("t", [tick(1)])[0]!;
    const second = store.enqueueLent("t", [tick(2)])[0]!;
    assert.equal(second, first);
    assert.deepEqual(
      [second.type, second.schemaVersion, second.data, second.metadata, second.id, second.streamId, second.streamVersion, second.position],
      ["Tick", 2, { n: 2 }, undefined, undefined, "t", 2, 2],
    );
    // Metadata is kept, and the next event refills the record without it.
    assert.deepEqual(store.enqueueLent("t", [tick(3, { by: "me" })])[0]!.metadata, { by: "me" });
    assert.equal(store.enqueueLent("t", [tick(4)])[0]!.metadata, undefined);
    const refused = (events: unknown[], pattern: RegExp) =>
      assert.throws(() => store.enqueueLent("t", events as ReturnType<typeof tick>[]), (error: unknown) => error instanceof ValidationError && pattern.test(error.message));
    refused([tick(5), { type: "Tock", data: { n: 5 } }], /events\[1\]\.type: unknown event type "Tock"/);
    refused([null], /invalid events\[0\]: must be an object/);
    refused([[tick(5)]], /invalid events\[0\]: must be an object/);
    assert.equal(store.headPosition, 4);
    await store.durable();
    assert.deepEqual((await store.readAll()).map((e) => [e.position, e.data.n, e.schemaVersion, e.metadata]), [
      [1, 1, 2, undefined],
      [2, 2, 2, undefined],
      [3, 3, 2, { by: "me" }],
      [4, 4, 2, undefined],
    ]);
  } finally {
    await store.close();
    directory.remove();
  }
});
