/** The engine over the file WAL: reopen and recover to the same state hash, with and without snapshots. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { createMemoryLog, memoryStorage, ValidationError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { bookDepth, marketDataProjection, orderBookCodecs, OrderBookEngine, OrderCommand, type OrderCommandInput } from "../src/orderbook/index.ts";
import { CANCEL_REASONS, COMMAND_NAMES, EXPIRE_REASONS, KINDS, REJECT_REASONS, SELF_TRADE, SIDES, TIMES_IN_FORCE } from "../src/orderbook/types.ts";
import { LOT, orderCommandWithOco, SYMBOL, TICK } from "./support/order-commands.ts";
import { testSeed, withSeed } from "./support/seed.ts";
import { temporaryDirectory } from "./support/temp.ts";

const instruments = [{ symbol: SYMBOL, tickSize: TICK, lotSize: LOT }, { symbol: "OTHER", tickSize: 1, lotSize: 1 }];
const open = (directory: string, snapshotEvery?: number, projections = [marketDataProjection()]) =>
  OrderBookEngine.open({ instruments, storage: fileStorage(directory, { codecs: orderBookCodecs }), snapshotEvery, projections });

test("random commands through the WAL recover to the same state hash, from the log and from a snapshot + tail", async () => {
  const seed = testSeed();
  await withSeed("order book replay test", seed, async () => {
    const commands = fc.sample(orderCommandWithOco, { seed, numRuns: 3000 });
    const directory = temporaryDirectory();
    try {
      const walDirectory = join(directory.path, "wal");
      const first = await open(walDirectory, 500);
      for (const input of commands) first.submitValidated(OrderCommand.parse(input));
      await first.durable();
      const hash = await first.stateHash(SYMBOL);
      const events = first.store.headPosition;
      const depth = bookDepth(first.book(SYMBOL), 20);
      await first.close();

      const marketData = marketDataProjection();
      const fromSnapshot = await open(walDirectory, 500, [marketData]);
      assert.equal(fromSnapshot.store.headPosition, events);
      assert.equal(await fromSnapshot.stateHash(SYMBOL), hash);
      assert.deepEqual(marketData.depth(`book-${SYMBOL}`, 20), depth);
      await fromSnapshot.close();

      const fullReplay = await open(walDirectory);
      assert.equal(await fullReplay.stateHash(SYMBOL), hash);
      // and the engine goes on where it stopped
      fullReplay.submit({ type: "place", symbol: SYMBOL, orderId: 999, account: 1, side: "buy", price: 5, quantity: 2 });
      await fullReplay.durable();
      const extended = await fullReplay.stateHash(SYMBOL);
      await fullReplay.close();
      const again = await open(walDirectory, 500);
      assert.equal(await again.stateHash(SYMBOL), extended);
      await again.close();
    } finally {
      directory.remove();
    }
  });
});

test("bad commands are refused with a typed error and change nothing", async () => {
  const engine = await OrderBookEngine.open({ instruments });
  engine.submit({ type: "place", symbol: SYMBOL, orderId: 1, account: 1, side: "sell", price: 100, quantity: 2 });
  const hash = await engine.stateHash(SYMBOL);
  const bad: unknown[] = [
    { type: "place", symbol: SYMBOL, orderId: "1", account: 1, side: "buy", price: 100, quantity: 2 },
    { type: "place", symbol: SYMBOL, orderId: 2, account: 1, side: "up", price: 100, quantity: 2 },
    { type: "place", symbol: SYMBOL, orderId: 2, account: 1, side: "buy", price: Number.NaN, quantity: 2 },
    { type: "place", symbol: SYMBOL, orderId: 2, account: 1, side: "buy", price: 100 },
    { type: "teleport", symbol: SYMBOL },
    { type: "cancel", symbol: "NOPE", orderId: 1 },
    null,
  ];
  for (const input of bad) {
    assert.throws(() => engine.submit(input as OrderCommandInput), ValidationError, JSON.stringify(input));
  }
  assert.throws(() => engine.submit({ type: "cancel", symbol: "NOPE", orderId: 1 }), /unknown symbol "NOPE"/);
  assert.equal(engine.store.headPosition, 1);
  assert.equal(await engine.stateHash(SYMBOL), hash);
  await assert.rejects(OrderBookEngine.open({ instruments: [{ symbol: "X", tickSize: 0, lotSize: 1 }] }), /tickSize: must be an integer from 1 to/);
});

test("the order-book codecs round-trip every event (decoded new or into an object decoded before) and refuse bytes they cannot accept", () => {
  const samples: Record<string, Record<string, unknown>> = {
    OrderAccepted: { orderId: 2 ** 53 - 1, account: 7, side: "sell", kind: "stop-limit", price: 105, stopPrice: 100, quantity: 4, timeInForce: "FOK", postOnly: false, selfTrade: "cancel-both" },
    OrderRejected: { orderId: -1, account: 0, command: "modify", reason: "no-change" },
    TradeExecuted: { price: 1, quantity: 2, makerOrderId: 3, makerAccount: 4, takerOrderId: 5, takerAccount: 6, takerSide: "buy" },
    OrderCancelled: { orderId: 1, account: 2, remaining: 3, reason: "self-trade" },
    OrderExpired: { orderId: 1, account: 2, remaining: 3, reason: "market-unfilled" },
    OrderModified: { orderId: 1, account: 2, price: 3, quantity: 4, keptPriority: true },
    StopTriggered: { orderId: 1, account: 2, lastTradePrice: 3 },
    OcoLinked: { orderId: 1, account: 2, stopOrderId: 3 },
  };
  // The stored layouts (logs written before must still read): fields in order, numbers as
  // little-endian f64, enum members (their index in types.ts's list) and flags as one byte.
  const f64 = "number";
  const layouts: Record<string, [string, typeof f64 | "flag" | readonly string[]][]> = {
    OrderAccepted: [["orderId", f64], ["account", f64], ["side", SIDES], ["kind", KINDS], ["price", f64], ["stopPrice", f64], ["quantity", f64], ["timeInForce", TIMES_IN_FORCE], ["postOnly", "flag"], ["selfTrade", SELF_TRADE]],
    OrderRejected: [["orderId", f64], ["account", f64], ["command", COMMAND_NAMES], ["reason", REJECT_REASONS]],
    TradeExecuted: [["price", f64], ["quantity", f64], ["makerOrderId", f64], ["makerAccount", f64], ["takerOrderId", f64], ["takerAccount", f64], ["takerSide", SIDES]],
    OrderCancelled: [["orderId", f64], ["account", f64], ["remaining", f64], ["reason", CANCEL_REASONS]],
    OrderExpired: [["orderId", f64], ["account", f64], ["remaining", f64], ["reason", EXPIRE_REASONS]],
    OrderModified: [["orderId", f64], ["account", f64], ["price", f64], ["quantity", f64], ["keptPriority", "flag"]],
    StopTriggered: [["orderId", f64], ["account", f64], ["lastTradePrice", f64]],
    OcoLinked: [["orderId", f64], ["account", f64], ["stopOrderId", f64]],
  };
  const laidOut = (type: string, data: Record<string, unknown>): number[] => {
    const bytes: number[] = [];
    for (const [name, kind] of layouts[type]!) {
      const value = data[name];
      if (kind === f64) {
        const number = new DataView(new ArrayBuffer(8));
        number.setFloat64(0, value as number, true);
        bytes.push(...new Uint8Array(number.buffer));
      }
      else if (kind === "flag") bytes.push(value ? 1 : 0);
      else bytes.push(kind.indexOf(value as string));
    }
    return bytes;
  };
  assert.deepEqual(orderBookCodecs.map((codec) => [codec.id, codec.type]), Object.keys(layouts).map((type, i) => [i + 1, type]));
  for (const codec of orderBookCodecs) {
    const data = samples[codec.type];
    const size = codec.byteLength(data);
    const view = new DataView(new ArrayBuffer(size + 3));
    codec.encode(data, view, 3);
    assert.deepEqual([...new Uint8Array(view.buffer, 3)], laidOut(codec.type, data), `${codec.type}: the stored layout`);
    const decoded = codec.decode(view, 3, size) as Record<string, unknown>;
    assert.deepEqual(decoded, data, codec.type);
    assert.deepEqual(Object.keys(decoded), Object.keys(data), `${codec.type}: keys in the layout's order`);
    // decodeInto refills an object decode made, with the same fields in the same order.
    const refilled = codec.decode(view, 3, size) as Record<string, unknown>;
    for (const key of Object.keys(refilled)) refilled[key] = typeof refilled[key] === "number" ? -5 : "stale";
    assert.equal(codec.decodeInto!(view, 3, size, refilled), refilled, `${codec.type}: the same object`);
    assert.deepEqual(refilled, data, `${codec.type}: refilled`);
    assert.deepEqual(Object.keys(refilled), Object.keys(data));
    assert.throws(() => codec.decodeInto!(view, 3, size - 1, refilled), RangeError);
    assert.throws(() => codec.decode(view, 3, size - 1), RangeError);
    if (codec.type === "StopTriggered" || codec.type === "OcoLinked") continue; // numbers only: the registry's schema checks them on read
    view.setUint8(3 + size - 1, 250); // the last field is an enum or a flag in the other layouts
    assert.throws(() => codec.decode(view, 3, size), RangeError, codec.type);
  }
  assert.throws(() => orderBookCodecs[0].encode({ ...samples.OrderAccepted, side: "up" }, new DataView(new ArrayBuffer(64)), 0), /side/);
});

test("the decider's event data are plain objects with the codecs' keys in their order, so decided and decoded events are alike", async () => {
  const seed = testSeed();
  await withSeed("decided event data test", seed, async () => {
    const engine = await OrderBookEngine.open({ instruments, storage: memoryStorage() });
    const seen = new Set<string>();
    const codecs = new Map(orderBookCodecs.map((codec) => [codec.type, codec]));
    for (const input of fc.sample(orderCommandWithOco, { seed, numRuns: 3000 })) {
      for (const event of engine.submitValidated(OrderCommand.parse(input)).events) {
        const data = event.data as unknown as Record<string, unknown>;
        const codec = codecs.get(event.type)!;
        const view = new DataView(new ArrayBuffer(codec.byteLength(data)));
        codec.encode(data, view, 0);
        const decoded = codec.decode(view, 0, view.byteLength) as Record<string, unknown>;
        assert.equal(Object.getPrototypeOf(data), Object.prototype, `${event.type}: a plain object`);
        assert.deepEqual(Object.keys(data), Object.keys(decoded), `${event.type}: keys in the stored layout's order`);
        assert.equal(JSON.stringify(data), JSON.stringify(decoded), event.type);
        seen.add(event.type);
      }
    }
    await engine.close();
    assert.deepEqual([...seen].sort(), [...codecs.keys()].sort(), "every event type was decided");
  });
});

test("stops a crash left triggered but not executed are executed when the engine opens", async () => {
  const log = createMemoryLog();
  const instruments = [{ symbol: "XBT-USD", tickSize: 1, lotSize: 1 }];
  const engine = await OrderBookEngine.open({ instruments, storage: memoryStorage(log) });
  const place = (orderId: number, side: "buy" | "sell", price: number, extra: Partial<OrderCommandInput> = {}) =>
    ({ type: "place", symbol: "XBT-USD", orderId, account: orderId, side, price, quantity: 5, ...extra }) as OrderCommandInput;
  engine.submit(place(1, "sell", 100));
  engine.submit(place(2, "sell", 101));
  engine.submit(place(3, "buy", 0, { kind: "stop-market", stopPrice: 100, price: undefined }));
  // The trade at 100 triggers stop 3; run only the command itself, as if the process died
  // before the engine's trigger-stops append.
  engine.handler.execute(OrderCommand.parse(place(4, "buy", 100)));
  assert.equal(engine.book("XBT-USD").stops.size, 1);
  await engine.close();

  const reopened = await OrderBookEngine.open({ instruments, storage: memoryStorage(log) });
  const book = reopened.book("XBT-USD");
  assert.equal(book.stops.size, 0, "the triggered stop still waits");
  assert.equal(book.asks.best()?.price, undefined, "the stop-market order did not trade against the ask at 101");
  const events = await reopened.store.readAll();
  assert.ok(events.some((event) => event.type === "StopTriggered"));
  await reopened.close();
});

test("depth stays exact at the bounds: live, projected and recovered depth agree", async () => {
  const log = createMemoryLog();
  const instruments = [{ symbol: "BIG", tickSize: 1, lotSize: 1, maxQuantity: 2 ** 52 }];
  const marketData = marketDataProjection(10);
  const engine = await OrderBookEngine.open({ instruments, storage: memoryStorage(log), projections: [marketData] });
  const buy = (orderId: number, quantity: number) =>
    engine.submit({ type: "place", symbol: "BIG", orderId, account: orderId, side: "buy", price: 120, quantity });
  // The case: a float running sum turned 2^53 - 1 + 4 - (2^53 - 1) into 5.
  assert.equal(buy(1, Number.MAX_SAFE_INTEGER).events[0]!.type, "OrderRejected");
  buy(2, 2 ** 52);
  assert.equal((buy(3, 2 ** 52).events[0]!.data as { reason: string }).reason, "level-full");
  buy(4, 4);
  engine.submit({ type: "cancel", symbol: "BIG", orderId: 2 });
  const expected = { bids: [{ price: 120, quantity: 4, orders: 1 }], asks: [] };
  assert.deepEqual(bookDepth(engine.book("BIG"), 5), expected);
  assert.deepEqual(marketData.depth("book-BIG", 5), expected);
  await engine.close();
  const reopened = await OrderBookEngine.open({ instruments, storage: memoryStorage(log) });
  assert.deepEqual(bookDepth(reopened.book("BIG"), 5), expected);
  await reopened.close();
});

test("instrument bounds are validated", async () => {
  const open = (instrument: Record<string, unknown>) =>
    OrderBookEngine.open({ instruments: [{ symbol: "X", tickSize: 1, lotSize: 1, ...instrument } as never] });
  await assert.rejects(open({ maxQuantity: 0 }), /maxQuantity: must be an integer from 1 to/);
  await assert.rejects(open({ maxPrice: 2 ** 53 }), /maxPrice: must be an integer from 1 to/);
  await assert.rejects(open({ lotSize: 10, maxQuantity: 5 }), /maxQuantity: must be an integer from 10 to/);
  await assert.rejects(open({ stopGuard: "yes" }), /stopGuard: must be a boolean/);
  await assert.rejects(open({ stopgaurd: true }), /stopgaurd: unknown option/);
  await assert.rejects(OrderBookEngine.open({ instruments: [{ symbol: "X", tickSize: 1, lotSize: 1 }, { symbol: "X", tickSize: 1, lotSize: 1 }] }), /defined twice/);
});
