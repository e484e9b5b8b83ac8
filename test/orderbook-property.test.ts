/**
 * Random command sequences run through the engine and through a simple reference matcher:
 * events and books must be identical, and the invariants must hold after every command.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  bookDepth,
  bookQuote,
  bookToData,
  marketDataProjection,
  type OrderBook,
  OrderBookEngine,
  OrderCommand,
  type OrderBookEvent,
  orderStatusProjection,
} from "../src/orderbook/index.ts";
import { ReferenceMatcher } from "./support/reference-matcher.ts";
import { LOT, orderCommands, SYMBOL, TICK } from "./support/order-commands.ts";
import { testSeed, withSeed } from "./support/seed.ts";

function checkInvariants(book: OrderBook): void {
  const bid = book.bids.best();
  const ask = book.asks.best();
  if (bid && ask) assert.ok(bid.price < ask.price, `book crossed: bid ${bid.price} >= ask ${ask.price}`);
  let resting = 0;
  for (const side of [book.bids, book.asks]) {
    for (let i = 1; i < side.prices.length; i++) assert.ok(side.better(side.prices[i], side.prices[i - 1]), "price ladder out of order");
    for (let rank = 0; rank < side.prices.length; rank++) {
      const level = side.levelAt(rank)!;
      assert.equal(level.price, side.prices[side.prices.length - 1 - rank], `level ${rank}'s price`);
      assert.equal(side.level(level.price), level, `the level at ${level.price}`);
      let quantity = 0;
      let count = 0;
      const orders = book.orders;
      for (let slot = level.head, previous = 0; slot !== 0; previous = slot, slot = orders.next[slot]) {
        const order = orders.read(slot);
        assert.equal(order.price, level.price);
        assert.equal(order.side, side.side);
        assert.ok(order.quantity > 0 && order.quantity % LOT === 0, `order ${order.id} has quantity ${order.quantity}`);
        assert.equal(orders.slotOf(order.id), slot, `order ${order.id}'s slot`);
        assert.equal(orders.previous[slot], previous, `order ${order.id}'s link back`);
        assert.equal(orders.level[slot], level);
        if (orders.next[slot] === 0) assert.equal(level.tail, slot);
        quantity += order.quantity;
        count++;
      }
      assert.equal(level.quantity, quantity, `level ${level.price} quantity`);
      assert.equal(level.count, count);
      assert.ok(count > 0, `empty level at ${level.price}`);
      resting += count;
    }
    assert.equal(side.levelAt(side.prices.length), undefined);
  }
  assert.equal(book.orders.size, resting);
}

/** Open quantity per order, from the events alone: every quantity is accounted for. */
class Ledger {
  readonly open = new Map<number, number>();
  apply(event: OrderBookEvent): void {
    const d = event.data as unknown as Record<string, number>;
    switch (event.type) {
      case "OrderAccepted":
        this.open.set(d.orderId, d.quantity);
        break;
      case "OrderModified":
        this.open.set(d.orderId, d.quantity);
        break;
      case "TradeExecuted":
        for (const id of [d.makerOrderId, d.takerOrderId]) {
          const open = this.open.get(id)!;
          assert.ok(open >= d.quantity, `trade of ${d.quantity} exceeds order ${id}'s open ${open}`);
          this.open.set(id, open - d.quantity);
          if (open === d.quantity) this.open.delete(id);
        }
        break;
      case "OrderCancelled":
      case "OrderExpired":
        assert.equal(d.remaining, this.open.get(d.orderId), `order ${d.orderId} ended with the wrong remaining quantity`);
        this.open.delete(d.orderId);
        break;
    }
  }
}

/** What the reference matcher's resting orders would fill of a `side` order, and at what cost. */
function referenceQuote(ref: ReferenceMatcher, side: "buy" | "sell", quantity: number): [number, bigint] {
  let filled = 0;
  let cost = 0n;
  for (const order of ref.side(side === "buy" ? "sell" : "buy")) {
    const take = Math.min(quantity - filled, order.quantity);
    filled += take;
    cost += BigInt(take * order.price);
  }
  return [filled, cost];
}

const refRows = (ref: ReferenceMatcher, side: "buy" | "sell") =>
  ref.side(side).map((o) => [o.id, o.account, o.price, o.quantity, o.postOnly, o.selfTrade]);

test("the engine matches the reference matcher on random command sequences", async () => {
  const seed = testSeed();
  let commandsRun = 0;
  const seen = new Set<string>();
  await withSeed("order book property test", seed, async () => {
    await fc.assert(
      fc.asyncProperty(orderCommands(80), async (inputs) => {
        const marketData = marketDataProjection();
        const orderStatus = orderStatusProjection();
        const engine = await OrderBookEngine.open({
          instruments: [{ symbol: SYMBOL, tickSize: TICK, lotSize: LOT }],
          projections: [marketData, orderStatus],
        });
        /** What each order accepted so far has traded, from the events alone. */
        const fills = new Map<number, number>();
        const reference = new ReferenceMatcher(TICK, LOT);
        const ledger = new Ledger();
        for (const input of inputs) {
          const command = OrderCommand.parse(input);
          const got = engine.submitValidated(command).events.map((e) => ({ type: e.type, data: e.data }));
          const expected = reference.submit(command);
          assert.deepEqual(got, expected, `events differ for ${JSON.stringify(input)}`);
          for (const event of got) {
            ledger.apply(event as OrderBookEvent);
            const d = event.data as Record<string, number>;
            if (event.type === "OrderAccepted") fills.set(d.orderId!, 0);
            if (event.type === "TradeExecuted") {
              fills.set(d.makerOrderId!, fills.get(d.makerOrderId!)! + d.quantity!);
              fills.set(d.takerOrderId!, fills.get(d.takerOrderId!)! + d.quantity!);
            }
            const data = event.data as Record<string, unknown>;
            seen.add(`${event.type}${data.reason ? `:${data.reason}` : ""}${data.kind ? `:${data.kind}` : ""}`);
          }
          const book = engine.book(SYMBOL);
          checkInvariants(book);
          const data = bookToData(book);
          assert.deepEqual(data.bids, refRows(reference, "buy"));
          assert.deepEqual(data.asks, refRows(reference, "sell"));
          assert.deepEqual(data.stops.map((s) => s.id), reference.stops.map((s) => s.id));
          assert.equal(book.lastTradePrice, reference.lastTradePrice);
          for (const order of book.orders.values()) assert.equal(ledger.open.get(order.id), order.quantity);
          assert.deepEqual(marketData.depth(`book-${SYMBOL}`, 100), bookDepth(book, 100));
          for (const [id, filled] of fills) {
            const status = orderStatus.status(`book-${SYMBOL}`, id)!;
            assert.equal(status.filled, filled, `order ${id} filled`);
            const resting = book.orders.get(id);
            if (resting) assert.deepEqual([status.status, status.remaining], ["resting", resting.quantity], `order ${id}`);
            else if (book.stops.has(id)) assert.equal(status.status, "waiting-stop", `order ${id}`);
            else {
              assert.ok(["filled", "cancelled", "expired"].includes(status.status), `order ${id} is ${status.status}`);
              assert.equal(status.remaining, 0);
              // Filled needs no reason; a cancellation or an expiry always has one.
              assert.equal(status.reason === undefined, status.status === "filled", `order ${id}: ${status.status} (${status.reason})`);
            }
          }
          for (const side of ["buy", "sell"] as const) {
            for (const quantity of [LOT, 7 * LOT, 1000 * LOT]) {
              const quote = bookQuote(book, side, quantity);
              assert.deepEqual(marketData.quote(`book-${SYMBOL}`, side, quantity), quote);
              assert.deepEqual([quote.filled, quote.cost], referenceQuote(reference, side, quantity));
            }
          }
          commandsRun++;
        }
        await engine.close();
      }),
      { seed, numRuns: 150 },
    );
  });
  assert.ok(commandsRun > 3000, `ran ${commandsRun} commands`);
  // The generator must reach every kind of outcome, or the comparison proves little.
  for (const outcome of [
    "OrderAccepted:limit", "OrderAccepted:market", "OrderAccepted:stop-limit", "OrderAccepted:stop-market",
    "TradeExecuted", "StopTriggered", "OrderModified", "OrderCancelled:requested", "OrderCancelled:self-trade",
    "OrderExpired:ioc-unfilled", "OrderExpired:fok-unfillable", "OrderExpired:market-unfilled",
    "OrderRejected:duplicate-order-id", "OrderRejected:unknown-order", "OrderRejected:price-off-tick",
    "OrderRejected:quantity-off-lot", "OrderRejected:invalid-quantity", "OrderRejected:invalid-price",
    "OrderRejected:post-only-would-cross", "OrderRejected:account-mismatch", "OrderRejected:invalid-order-id",
  ]) assert.ok(seen.has(outcome), `no ${outcome} in ${commandsRun} random commands`);
});
