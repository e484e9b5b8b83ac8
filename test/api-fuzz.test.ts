/**
 * Bad input at the public API (fast-check, seeded): malformed commands and events —
 * wrong types, missing fields, NaN, infinities, oversize strings, unknown types, things
 * that are not objects — are all refused with ValidationError, and the book, the log and
 * the projections are exactly as before. Commands well-formed but out of the rules
 * (negative, fractional, huge, off-tick, off-lot numbers) end in one OrderRejected event
 * and leave the book and its market data unchanged.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { EventStore, memoryStorage, ValidationError } from "../mod.ts";
import { bookDepth, marketDataProjection, OrderBookEngine } from "../src/orderbook/index.ts";
import { noted, testEvents } from "./support/fixtures.ts";
import { testSeed, withSeed } from "./support/seed.ts";

const instrument = { symbol: "XBT-USD", tickSize: 5, lotSize: 10 };

async function openBook() {
  const marketData = marketDataProjection(10);
  const engine = await OrderBookEngine.open({ instruments: [instrument], projections: [marketData] });
  for (let i = 1; i <= 20; i++) {
    engine.submit({
      type: "place", symbol: "XBT-USD", orderId: i, account: i % 4, side: i % 2 ? "buy" : "sell",
      price: i % 2 ? 1000 - 5 * i : 1100 + 5 * i, quantity: 10 * i,
    });
  }
  return { engine, marketData };
}

/** Everything a caller can observe, to compare before and after. */
async function observe(engine: OrderBookEngine, marketData: ReturnType<typeof marketDataProjection>) {
  return {
    hash: await engine.stateHash("XBT-USD"),
    depth: JSON.stringify(marketData.depth("book-XBT-USD", 50)),
    openOrders: JSON.stringify([0, 1, 2, 3].map((account) => marketData.openOrders("book-XBT-USD", account))),
    trades: marketData.trades("book-XBT-USD").length,
  };
}

const validPlace = { type: "place", symbol: "XBT-USD", orderId: 1000, account: 7, side: "buy", kind: "limit", price: 1005, quantity: 20, timeInForce: "GTC" };
const validCancel = { type: "cancel", symbol: "XBT-USD", orderId: 3 };
const validModify = { type: "modify", symbol: "XBT-USD", orderId: 5, price: 990 };

/** Values of the wrong type for any field (every field here is a number, string, enum or boolean). */
const wrongType = fc.constantFrom<unknown>(
  "12", "", null, {}, [], [1], true, NaN, Infinity, -Infinity, () => 1, Symbol("x"), 10n, "x".repeat(10_000),
);

/** `value`, unless it has the type of `original` (a string for a string field is not wrong). */
const wrongFor = (original: unknown, value: unknown) =>
  typeof value === typeof original && !(typeof value === "number" && !Number.isFinite(value)) ? Symbol("wrong") : value;

const malformedCommand = fc.oneof(
  // A field replaced by a value of the wrong type (numbers by non-numbers and so on).
  fc.tuple(fc.constantFrom(validPlace, validCancel, validModify), fc.nat(), wrongType).map(([base, index, value]) => {
    const keys = Object.keys(base).filter((key) => key !== "type");
    const key = keys[index % keys.length];
    return { ...base, [key]: wrongFor((base as Record<string, unknown>)[key], value) };
  }),
  // A required field missing.
  fc.tuple(fc.constantFrom(validPlace, validCancel, validModify), fc.nat()).map(([base, index]) => {
    const required = base === validPlace ? ["symbol", "orderId", "account", "side", "quantity"] : ["symbol", "orderId"];
    const copy: Record<string, unknown> = { ...base };
    delete copy[required[index % required.length]];
    return copy;
  }),
  // Unknown command type, unknown enum members, an oversize symbol.
  fc.constantFrom<unknown>(
    { ...validPlace, type: "replace" }, { ...validPlace, side: "short" }, { ...validPlace, kind: "iceberg" },
    { ...validPlace, timeInForce: "GTD" }, { ...validPlace, selfTrade: "sometimes" }, { ...validPlace, symbol: "S".repeat(65) },
    { ...validCancel, symbol: "" },
  ),
  // Not a command object at all.
  fc.constantFrom<unknown>(null, undefined, 42, "place", [], [validPlace], true),
);

/** Well-formed, but against the rules: numbers the decider must reject. */
const outOfRules = fc.tuple(
  fc.constantFrom("price", "quantity"),
  fc.oneof(
    fc.integer({ min: -1_000_000, max: 0 }),
    fc.double({ min: 0.001, max: 1e6, noNaN: true }).filter((x) => !Number.isInteger(x)),
    fc.constantFrom(2 ** 53, 2 ** 60, Number.MAX_VALUE, -0),
    fc.integer({ min: 1, max: 100_000 }).filter((x) => x % 5 !== 0), // off the tick (price) and the lot (quantity)
  ),
).map(([field, value]) => ({ ...validPlace, [field]: value }));

test("malformed commands are refused with ValidationError and change nothing", async () => {
  const seed = testSeed();
  await withSeed("command fuzz", seed, async () => {
    const { engine, marketData } = await openBook();
    const before = await observe(engine, marketData);
    const head = engine.store.headPosition;
    await fc.assert(
      fc.asyncProperty(malformedCommand, async (input) => {
        assert.throws(() => engine.submit(input as never), ValidationError);
        assert.equal(engine.store.headPosition, head);
        assert.deepEqual(await observe(engine, marketData), before);
      }),
      { seed, numRuns: 2000 },
    );
    await engine.close();
  });
});

test("well-formed commands against the rules end in one OrderRejected and leave the book as it was", async () => {
  const seed = testSeed();
  await withSeed("rule fuzz", seed, async () => {
    const { engine, marketData } = await openBook();
    const before = await observe(engine, marketData);
    await fc.assert(
      fc.asyncProperty(outOfRules, async (input) => {
        const head = engine.store.headPosition;
        const { events } = engine.submit(input as never);
        assert.deepEqual(events.map((event) => event.type), ["OrderRejected"], JSON.stringify(input));
        assert.equal(engine.store.headPosition, head + 1);
        assert.deepEqual(await observe(engine, marketData), before);
        assert.deepEqual(bookDepth(engine.book("XBT-USD"), 50), marketData.depth("book-XBT-USD", 50));
      }),
      { seed, numRuns: 1000 },
    );
    await engine.close();
  });
});

test("malformed events are refused with ValidationError; the log is unchanged", async () => {
  const seed = testSeed();
  await withSeed("event fuzz", seed, async () => {
    const store = new EventStore({ events: testEvents(), storage: memoryStorage() });
    await store.open();
    await store.append("s", [noted(1), noted(2)]);
    const before = JSON.stringify(await store.readAll());
    const valid = noted(3);
    const malformedEvent = fc.oneof(
      fc.tuple(fc.constantFrom("text", "n"), wrongType).map(([key, value]) => ({ ...valid, data: { ...valid.data, [key]: wrongFor((valid.data as Record<string, unknown>)[key], value) } })),
      fc.constantFrom<unknown>(
        { ...valid, type: "Unknown" }, { ...valid, type: 7 }, { type: "Noted" }, { ...valid, data: null },
        { ...valid, data: { text: "x".repeat(101), n: 1 } }, { ...valid, data: { text: "ok", n: 1.5 } },
        { ...valid, metadata: "not an object" }, null, 42, "Noted", [],
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(malformedEvent, { minLength: 1, maxLength: 3 }), fc.boolean(), async (bad, withValid) => {
        // A valid event in the same append must not slip in either: the append is all or nothing.
        const events = withValid ? [valid, ...bad] : bad;
        await assert.rejects(store.append("s", events as never), ValidationError);
        assert.equal(store.headPosition, 2);
        assert.equal(JSON.stringify(await store.readAll()), before);
      }),
      { seed, numRuns: 1000 },
    );
    for (const notAnArray of [null, "events", { 0: valid }]) {
      await assert.rejects(store.append("s", notAnArray as never), ValidationError);
    }
    await assert.rejects(store.append("", [valid]), ValidationError);
    assert.equal(store.headPosition, 2);
    await store.close();
  });
});
