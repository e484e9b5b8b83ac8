/** Read models of the order book: market quotes and order status (and their validation). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ValidationError } from "../mod.ts";
import { bookDepth, bookQuote, marketDataProjection, OrderBookEngine, orderStatusProjection } from "../src/orderbook/index.ts";

async function engineWithAsks(instrument = { symbol: "T", tickSize: 5, lotSize: 1 }) {
  const marketData = marketDataProjection();
  const engine = await OrderBookEngine.open({ instruments: [instrument], projections: [marketData] });
  return { engine, marketData, stream: `book-${instrument.symbol}` };
}

describe("market data", () => {
  test("levels and accounts that empty and fill again, past the point where empty ones are dropped, read like the book", async () => {
    const { engine, marketData, stream } = await engineWithAsks();
    const book = engine.book("T");
    let orderId = 0;
    // Waves of orders over 300 prices and 200 accounts; most leave again, so levels and
    // accounts empty (hundreds at a time) and come back.
    for (let wave = 0; wave < 6; wave++) {
      const placed: number[] = [];
      for (let i = 0; i < 600; i++) {
        const side = i % 2 === 0 ? "buy" : "sell";
        const price = side === "buy" ? 1000 - 5 * ((i * 7 + wave) % 150) : 1005 + 5 * ((i * 11 + wave) % 150);
        engine.submit({ type: "place", symbol: "T", orderId: ++orderId, account: 1 + ((i + wave) % 200), side, price, quantity: 1 + (i % 3) });
        placed.push(orderId);
      }
      for (const [k, id] of placed.entries()) if (k % 10 !== wave) engine.submit({ type: "cancel", symbol: "T", orderId: id });
      assert.deepEqual(marketData.depth(stream, 1000), bookDepth(book, 1000), `depth after wave ${wave}`);
      for (const account of [1, 77, 200]) {
        const expected = [...book.orders.values()].filter((order) => order.account === account).map((order) => order.id).sort((a, b) => a - b);
        assert.deepEqual(marketData.openOrders(stream, account), expected, `account ${account} after wave ${wave}`);
      }
    }
    await engine.close();
  });
});

describe("market quote", () => {
  test("walks the opposite side best first: cost, average and worst price", async () => {
    const { engine, marketData, stream } = await engineWithAsks();
    engine.submit({ type: "place", symbol: "T", orderId: 1, account: 1, side: "sell", price: 105, quantity: 10 });
    engine.submit({ type: "place", symbol: "T", orderId: 2, account: 1, side: "sell", price: 100, quantity: 10 });
    engine.submit({ type: "place", symbol: "T", orderId: 3, account: 1, side: "buy", price: 90, quantity: 4 });
    const quote = bookQuote(engine.book("T"), "buy", 15);
    assert.deepEqual(quote, { side: "buy", quantity: 15, filled: 15, cost: 1525n, averagePrice: 1525 / 15, worstPrice: 105, complete: true });
    assert.deepEqual(marketData.quote(stream, "buy", 15), quote);
    // More than the book holds: what there is, marked incomplete.
    assert.deepEqual(bookQuote(engine.book("T"), "buy", 30), {
      side: "buy", quantity: 30, filled: 20, cost: 2050n, averagePrice: 102.5, worstPrice: 105, complete: false,
    });
    // A sell walks the bids.
    assert.deepEqual(bookQuote(engine.book("T"), "sell", 2), { side: "sell", quantity: 2, filled: 2, cost: 180n, averagePrice: 90, worstPrice: 90, complete: true });
    await engine.close();
  });

  test("an empty side quotes nothing filled", async () => {
    const { engine, marketData, stream } = await engineWithAsks();
    const empty = { side: "sell", quantity: 5, filled: 0, cost: 0n, averagePrice: undefined, worstPrice: undefined, complete: false };
    assert.deepEqual(bookQuote(engine.book("T"), "sell", 5), empty);
    assert.deepEqual(marketData.quote(stream, "sell", 5), empty);
    await engine.close();
  });

  test("the cost is exact past 2^53", async () => {
    const { engine } = await engineWithAsks({ symbol: "BIG", tickSize: 1, lotSize: 1 });
    engine.submit({ type: "place", symbol: "BIG", orderId: 1, account: 1, side: "sell", price: 999_999_999_999, quantity: 999_999_999_999 });
    const quote = bookQuote(engine.book("BIG"), "buy", 999_999_999_999);
    assert.equal(quote.cost, 999_999_999_999n * 999_999_999_999n);
    await engine.close();
  });

  test("a bad side or quantity is a ValidationError naming it", async () => {
    const { engine, marketData, stream } = await engineWithAsks();
    for (const quantity of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => bookQuote(engine.book("T"), "buy", quantity), (e) => e instanceof ValidationError && /quantity/.test(e.message));
      assert.throws(() => marketData.quote(stream, "buy", quantity), ValidationError);
    }
    assert.throws(() => bookQuote(engine.book("T"), "up" as never, 1), /side: must be "buy" or "sell"/);
    await engine.close();
  });
});

describe("order status", () => {
  async function withStatus(keepFinished?: number) {
    const orderStatus = orderStatusProjection(keepFinished === undefined ? {} : { keepFinished });
    const engine = await OrderBookEngine.open({ instruments: [{ symbol: "T", tickSize: 5, lotSize: 1 }], projections: [orderStatus] });
    const place = (orderId: number, side: "buy" | "sell", price: number, quantity: number, more: Record<string, unknown> = {}) =>
      engine.submit({ type: "place", symbol: "T", orderId, account: orderId, side, price, quantity, ...more } as never);
    return { engine, place, status: (orderId: number) => orderStatus.status("book-T", orderId) };
  }

  test("resting, partly filled, then filled, with the average price", async () => {
    const { engine, place, status } = await withStatus();
    place(1, "sell", 100, 10);
    assert.deepEqual(
      { ...status(1), position: 0 },
      {
        orderId: 1, account: 1, side: "sell", kind: "limit", price: 100, stopPrice: 0, quantity: 10, filled: 0, remaining: 10,
        cost: 0n, averagePrice: undefined, status: "resting", position: 0,
      },
    );
    place(2, "buy", 100, 4);
    assert.deepEqual([status(1)!.status, status(1)!.filled, status(1)!.remaining], ["resting", 4, 6]);
    assert.deepEqual([status(2)!.status, status(2)!.filled, status(2)!.remaining, status(2)!.averagePrice], ["filled", 4, 0, 100]);
    place(3, "sell", 110, 10);
    place(4, "buy", 110, 16); // takes 6 @ 100 and 10 @ 110
    assert.deepEqual([status(4)!.status, status(4)!.filled, status(4)!.cost, status(4)!.averagePrice], ["filled", 16, 1700n, 1700 / 16]);
    assert.equal(status(1)!.status, "filled");
    assert.equal(status(4)!.position, engine.store.headPosition);
    await engine.close();
  });

  test("cancelled, expired (IOC), modified, and unknown ids", async () => {
    const { engine, place, status } = await withStatus();
    place(1, "sell", 100, 10);
    engine.submit({ type: "modify", symbol: "T", orderId: 1, quantity: 6 });
    assert.deepEqual([status(1)!.quantity, status(1)!.remaining], [10, 6]);
    engine.submit({ type: "cancel", symbol: "T", orderId: 1 });
    assert.deepEqual([status(1)!.status, status(1)!.reason, status(1)!.remaining], ["cancelled", "requested", 0]);
    place(2, "buy", 100, 3, { timeInForce: "IOC" });
    assert.deepEqual([status(2)!.status, status(2)!.reason], ["expired", "ioc-unfilled"]);
    place(3, "buy", 100, 0); // rejected: never an order
    assert.equal(status(3), undefined);
    assert.equal(status(99), undefined);
    await engine.close();
  });

  test("stop orders: waiting, then triggered and working, then filled", async () => {
    const { engine, place, status } = await withStatus();
    place(1, "sell", 100, 2);
    place(2, "sell", 105, 5);
    place(3, "buy", 0, 3, { kind: "stop-market", stopPrice: 100 });
    assert.equal(status(3)!.status, "waiting-stop");
    place(4, "buy", 100, 2); // trades at 100: the stop triggers and buys 3 @ 105
    assert.deepEqual([status(3)!.status, status(3)!.filled, status(3)!.averagePrice], ["filled", 3, 105]);
    place(5, "sell", 0, 1, { kind: "stop-limit", price: 90, stopPrice: 95 });
    engine.submit({ type: "cancel", symbol: "T", orderId: 5 });
    assert.deepEqual([status(5)!.status, status(5)!.kind], ["cancelled", "stop-limit"]);
    await engine.close();
  });

  test("keeps the most recent finished orders up to keepFinished; an id used again is the new order", async () => {
    const { engine, place, status } = await withStatus(2);
    for (const id of [1, 2, 3]) place(id, "sell", 100, 1);
    for (const id of [1, 2, 3]) engine.submit({ type: "cancel", symbol: "T", orderId: id });
    assert.equal(status(1), undefined); // forgotten: the third finished order pushed it out
    assert.equal(status(2)!.status, "cancelled");
    assert.equal(status(3)!.status, "cancelled");
    place(3, "buy", 90, 7);
    assert.deepEqual([status(3)!.status, status(3)!.quantity], ["resting", 7]);
    await engine.close();
  });

  test("its options are checked", () => {
    assert.throws(() => orderStatusProjection({ keepFinished: -1 }), /keepFinished: must be an integer >= 0/);
    assert.throws(() => orderStatusProjection({ keep: 1 } as never), /keep: unknown option/);
  });
});
