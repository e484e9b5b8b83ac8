/** Read models of the order book: market quotes (and their validation). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ValidationError } from "../mod.ts";
import { bookQuote, marketDataProjection, OrderBookEngine } from "../src/orderbook/index.ts";

async function engineWithAsks(instrument = { symbol: "T", tickSize: 5, lotSize: 1 }) {
  const marketData = marketDataProjection();
  const engine = await OrderBookEngine.open({ instruments: [instrument], projections: [marketData] });
  return { engine, marketData, stream: `book-${instrument.symbol}` };
}

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
