/** Given/When/Then specs for every order type, time in force and rejection reason. */
import { describe, test } from "node:test";
import { spec } from "../src/testing/spec.ts";
import { type OrderBookEvent, orderBookDecider, OrderCommand, type OrderCommandInput } from "../src/orderbook/index.ts";

const decider = orderBookDecider(new Map([["T", { symbol: "T", tickSize: 5, lotSize: 2 }]]));
const book = spec(decider, { streamId: "book-T" });
const command = (input: Record<string, unknown>) => OrderCommand.parse({ symbol: "T", ...input } as OrderCommandInput);
const place = (input: Record<string, unknown>) => command({ type: "place", ...input });

const accepted = (d: Record<string, unknown>): OrderBookEvent => ({
  type: "OrderAccepted",
  data: {
    orderId: 0, account: 0, side: "buy", kind: "limit", price: 0, stopPrice: 0, quantity: 0, timeInForce: "GTC",
    postOnly: false, selfTrade: "allow", ...d,
  },
} as OrderBookEvent);
const trade = (price: number, quantity: number, maker: [number, number], taker: [number, number], takerSide = "buy"): OrderBookEvent =>
  ({
    type: "TradeExecuted",
    data: { price, quantity, makerOrderId: maker[0], makerAccount: maker[1], takerOrderId: taker[0], takerAccount: taker[1], takerSide },
  } as OrderBookEvent);
const rejected = (orderId: number, account: number, command: string, reason: string): OrderBookEvent =>
  ({ type: "OrderRejected", data: { orderId, account, command, reason } } as OrderBookEvent);
const cancelled = (orderId: number, account: number, remaining: number, reason: string): OrderBookEvent =>
  ({ type: "OrderCancelled", data: { orderId, account, remaining, reason } } as OrderBookEvent);
const expired = (orderId: number, account: number, remaining: number, reason: string): OrderBookEvent =>
  ({ type: "OrderExpired", data: { orderId, account, remaining, reason } } as OrderBookEvent);

// Two resting asks: #1 (acct 1) 10 @ 100, then #2 (acct 2) 10 @ 105.
const asks = [
  accepted({ orderId: 1, account: 1, side: "sell", price: 100, quantity: 10 }),
  accepted({ orderId: 2, account: 2, side: "sell", price: 105, quantity: 10 }),
];

describe("limit orders", () => {
  test("a limit order that does not cross rests", () =>
    book.given(asks).when(place({ orderId: 3, account: 3, side: "buy", price: 95, quantity: 4 }))
      .then([accepted({ orderId: 3, account: 3, price: 95, quantity: 4 })]));

  test("a crossing limit order trades best price first, then rests the remainder", () =>
    book.given(asks).when(place({ orderId: 3, account: 3, side: "buy", price: 105, quantity: 14 }))
      .then([accepted({ orderId: 3, account: 3, price: 105, quantity: 14 }), trade(100, 10, [1, 1], [3, 3]), trade(105, 4, [2, 2], [3, 3])]));

  test("orders at one price fill in time priority", () =>
    book.given([...asks, accepted({ orderId: 4, account: 4, side: "sell", price: 100, quantity: 2 })])
      .when(place({ orderId: 3, account: 3, side: "buy", price: 100, quantity: 12 }))
      .then([accepted({ orderId: 3, account: 3, price: 100, quantity: 12 }), trade(100, 10, [1, 1], [3, 3]), trade(100, 2, [4, 4], [3, 3])]));
});

describe("time in force", () => {
  test("IOC fills what it can and expires the rest", () =>
    book.given(asks).when(place({ orderId: 3, account: 3, side: "buy", price: 100, quantity: 12, timeInForce: "IOC" }))
      .then([accepted({ orderId: 3, account: 3, price: 100, quantity: 12, timeInForce: "IOC" }), trade(100, 10, [1, 1], [3, 3]), expired(3, 3, 2, "ioc-unfilled")]));

  test("FOK that cannot fill completely expires without trading", () =>
    book.given(asks).when(place({ orderId: 3, account: 3, side: "buy", price: 100, quantity: 12, timeInForce: "FOK" }))
      .then([accepted({ orderId: 3, account: 3, price: 100, quantity: 12, timeInForce: "FOK" }), expired(3, 3, 12, "fok-unfillable")]));

  test("FOK that can fill trades in full", () =>
    book.given(asks).when(place({ orderId: 3, account: 3, side: "buy", price: 105, quantity: 12, timeInForce: "FOK" }))
      .then([accepted({ orderId: 3, account: 3, price: 105, quantity: 12, timeInForce: "FOK" }), trade(100, 10, [1, 1], [3, 3]), trade(105, 2, [2, 2], [3, 3])]));
});

describe("market orders", () => {
  test("a market order sweeps the book and expires what is left (IOC by default)", () =>
    book.given(asks).when(place({ orderId: 3, account: 3, side: "buy", kind: "market", quantity: 24 }))
      .then([
        accepted({ orderId: 3, account: 3, kind: "market", quantity: 24, timeInForce: "IOC" }),
        trade(100, 10, [1, 1], [3, 3]), trade(105, 10, [2, 2], [3, 3]), expired(3, 3, 4, "market-unfilled"),
      ]));

  test("a market order on an empty book expires", () =>
    book.given([]).when(place({ orderId: 3, account: 3, side: "sell", kind: "market", quantity: 2 }))
      .then([accepted({ orderId: 3, account: 3, side: "sell", kind: "market", quantity: 2, timeInForce: "IOC" }), expired(3, 3, 2, "market-unfilled")]));

  test("a market order with an explicit GTC is rejected", () =>
    book.given(asks).when(place({ orderId: 3, account: 3, side: "buy", kind: "market", quantity: 2, timeInForce: "GTC" }))
      .then([rejected(3, 3, "place", "invalid-time-in-force")]));
});

describe("post-only", () => {
  test("a post-only order that would cross is rejected", () =>
    book.given(asks).when(place({ orderId: 3, account: 3, side: "buy", price: 100, quantity: 2, postOnly: true }))
      .then([rejected(3, 3, "place", "post-only-would-cross")]));
  test("a post-only order that does not cross rests", () =>
    book.given(asks).when(place({ orderId: 3, account: 3, side: "buy", price: 95, quantity: 2, postOnly: true }))
      .then([accepted({ orderId: 3, account: 3, price: 95, quantity: 2, postOnly: true })]));
  test("post-only is for GTC limit orders only", () =>
    book.given(asks).when(place({ orderId: 3, account: 3, side: "buy", price: 95, quantity: 2, postOnly: true, timeInForce: "IOC" }))
      .then([rejected(3, 3, "place", "post-only-not-limit")]));
});

describe("stop orders", () => {
  const stop = accepted({ orderId: 5, account: 5, kind: "stop-limit", price: 105, stopPrice: 100, quantity: 4 });
  test("a stop order waits for the last trade price", () =>
    book.given(asks).when(place({ orderId: 5, account: 5, side: "buy", kind: "stop-limit", price: 105, stopPrice: 100, quantity: 4 }))
      .then([stop]));
  test("a trade at the stop price triggers it and it trades as a limit order", () =>
    book.given([...asks, stop, trade(100, 2, [1, 1], [9, 9])]).when(command({ type: "trigger-stops" }))
      .then([
        { type: "StopTriggered", data: { orderId: 5, account: 5, lastTradePrice: 100 } } as OrderBookEvent,
        trade(100, 4, [1, 1], [5, 5]),
      ]));
  test("a stop order without a valid stop price is rejected", () =>
    book.given([]).when(place({ orderId: 5, account: 5, side: "buy", kind: "stop-market", quantity: 2 }))
      .then([rejected(5, 5, "place", "invalid-stop-price")]));
  test("nothing to trigger decides nothing", () => book.given([stop]).when(command({ type: "trigger-stops" })).then([]));
});

describe("stop placement guard (opt-in)", () => {
  // The last trade was at 100.
  const traded = [...asks, accepted({ orderId: 4, account: 4, price: 100, quantity: 2 }), trade(100, 2, [1, 1], [4, 4])];
  const stopAt = (side: string, stopPrice: number, extra: Record<string, unknown> = {}) =>
    place({ orderId: 5, account: 5, side, kind: "stop-market", stopPrice, quantity: 2, ...extra });
  const guarded = spec(orderBookDecider(new Map([["T", { symbol: "T", tickSize: 5, lotSize: 2, stopGuard: true }]])), { streamId: "book-T" });

  test("a buy stop at or below the last trade price, or a sell stop at or above it, is refused", () => {
    book.given(traded).when(stopAt("buy", 100, { stopGuard: true })).then([rejected(5, 5, "place", "stop-would-trigger")]);
    book.given(traded).when(stopAt("buy", 95, { stopGuard: true })).then([rejected(5, 5, "place", "stop-would-trigger")]);
    book.given(traded).when(stopAt("sell", 105, { stopGuard: true })).then([rejected(5, 5, "place", "stop-would-trigger")]);
  });
  test("a stop beyond the last trade price is accepted", () =>
    book.given(traded).when(stopAt("buy", 105, { stopGuard: true }))
      .then([accepted({ orderId: 5, account: 5, kind: "stop-market", stopPrice: 105, quantity: 2, timeInForce: "IOC" })]));
  test("before any trade nothing triggers", () =>
    book.given(asks).when(stopAt("sell", 105, { stopGuard: true }))
      .then([accepted({ orderId: 5, account: 5, side: "sell", kind: "stop-market", stopPrice: 105, quantity: 2, timeInForce: "IOC" })]));
  test("a stop-limit priced on the wrong side of its stop is refused", () => {
    book.given(asks).when(place({ orderId: 5, account: 5, side: "buy", kind: "stop-limit", price: 95, stopPrice: 100, quantity: 2, stopGuard: true }))
      .then([rejected(5, 5, "place", "stop-limit-wrong-side")]);
    book.given(asks).when(place({ orderId: 5, account: 5, side: "sell", kind: "stop-limit", price: 105, stopPrice: 100, quantity: 2, stopGuard: true }))
      .then([rejected(5, 5, "place", "stop-limit-wrong-side")]);
  });
  test("without the guard the same stop is accepted (and triggers on the next trade check)", () =>
    book.given(traded).when(stopAt("buy", 95))
      .then([accepted({ orderId: 5, account: 5, kind: "stop-market", stopPrice: 95, quantity: 2, timeInForce: "IOC" })]));
  test("the instrument's stopGuard applies to every stop; an order's own stopGuard overrides it", () => {
    guarded.given(traded).when(stopAt("buy", 95)).then([rejected(5, 5, "place", "stop-would-trigger")]);
    guarded.given(traded).when(stopAt("buy", 95, { stopGuard: false }))
      .then([accepted({ orderId: 5, account: 5, kind: "stop-market", stopPrice: 95, quantity: 2, timeInForce: "IOC" })]);
  });
});

describe("OCO: one cancels the other", () => {
  // The last trade was at 100; asks at 100 (8 left) and 105.
  const traded = [...asks, accepted({ orderId: 4, account: 4, price: 100, quantity: 2 }), trade(100, 2, [1, 1], [4, 4])];
  const linked = (orderId: number, account: number, stopOrderId: number) =>
    ({ type: "OcoLinked", data: { orderId, account, stopOrderId } } as OrderBookEvent);
  // A buy pair: buy 4 at 90 if it comes down, or on a stop at 110 if it goes up.
  const pair = (more: Record<string, unknown> = {}) =>
    place({ orderId: 6, account: 6, side: "buy", price: 90, quantity: 4, oco: { orderId: 7, stopPrice: 110 }, ...more });
  const placed = [
    accepted({ orderId: 6, account: 6, price: 90, quantity: 4 }),
    accepted({ orderId: 7, account: 6, kind: "stop-market", stopPrice: 110, quantity: 4, timeInForce: "IOC" }),
    linked(6, 6, 7),
  ];

  test("placing a pair accepts both legs and links them", () => book.given(traded).when(pair()).then(placed));
  test("when the limit leg trades, the stop leg is cancelled", () =>
    book.given([...traded, ...placed]).when(place({ orderId: 8, account: 8, side: "sell", price: 90, quantity: 2 }))
      .then([
        accepted({ orderId: 8, account: 8, side: "sell", price: 90, quantity: 2 }),
        trade(90, 2, [6, 6], [8, 8], "sell"),
        cancelled(7, 6, 4, "oco"),
      ]));
  test("a limit leg that trades on arrival cancels its stop leg at once", () =>
    book.given(traded).when(pair({ price: 100, oco: { orderId: 7, stopPrice: 110 } }))
      .then([
        accepted({ orderId: 6, account: 6, price: 100, quantity: 4 }),
        accepted({ orderId: 7, account: 6, kind: "stop-market", stopPrice: 110, quantity: 4, timeInForce: "IOC" }),
        linked(6, 6, 7),
        trade(100, 4, [1, 1], [6, 6]),
        cancelled(7, 6, 4, "oco"),
      ]));
  test("when the stop leg triggers, the limit leg is cancelled", () =>
    book.given([
      ...traded, ...placed,
      accepted({ orderId: 9, account: 9, side: "sell", price: 110, quantity: 2 }),
      accepted({ orderId: 10, account: 10, price: 110, quantity: 2 }),
      trade(110, 2, [9, 9], [10, 10]),
    ]).when(command({ type: "trigger-stops" }))
      .then([
        { type: "StopTriggered", data: { orderId: 7, account: 6, lastTradePrice: 110 } } as OrderBookEvent,
        trade(100, 4, [1, 1], [7, 6]),
        cancelled(6, 6, 4, "oco"),
      ]));
  test("cancelling either leg cancels both", () => {
    book.given([...traded, ...placed]).when(command({ type: "cancel", orderId: 6 }))
      .then([cancelled(6, 6, 4, "requested"), cancelled(7, 6, 4, "oco")]);
    book.given([...traded, ...placed]).when(command({ type: "cancel", orderId: 7 }))
      .then([cancelled(7, 6, 4, "requested"), cancelled(6, 6, 4, "oco")]);
  });
  test("once one leg acted the pair is gone: the other's events cancel nothing more", () =>
    book.given([...traded, ...placed, trade(90, 2, [6, 6], [8, 8], "sell"), cancelled(7, 6, 4, "oco")])
      .when(command({ type: "cancel", orderId: 6 }))
      .then([cancelled(6, 6, 2, "requested")]));
  test("a stop-limit leg", () =>
    book.given(traded).when(pair({ oco: { orderId: 7, stopPrice: 110, price: 115 } }))
      .then([placed[0]!, accepted({ orderId: 7, account: 6, kind: "stop-limit", price: 115, stopPrice: 110, quantity: 4 }), linked(6, 6, 7)]));
  const refused: [string, Record<string, unknown>, string][] = [
    ["a pair on a market order", { kind: "market", price: undefined, timeInForce: "IOC" }, "oco-not-limit"],
    ["a pair on an IOC limit", { timeInForce: "IOC" }, "oco-not-limit"],
    ["a buy pair whose stop is not above its limit", { oco: { orderId: 7, stopPrice: 90 } }, "oco-invalid-prices"],
    ["a stop leg the last trade already triggers", { price: 80, oco: { orderId: 7, stopPrice: 95 } }, "stop-would-trigger"],
    ["a stop-limit leg below its stop", { oco: { orderId: 7, stopPrice: 110, price: 105 } }, "stop-limit-wrong-side"],
    ["a stop leg with the limit leg's id", { oco: { orderId: 6, stopPrice: 110 } }, "duplicate-order-id"],
    ["a stop leg with a live order's id", { oco: { orderId: 1, stopPrice: 110 } }, "duplicate-order-id"],
    ["a stop leg id that is not a positive integer", { oco: { orderId: 0, stopPrice: 110 } }, "invalid-order-id"],
    ["a stop price off the tick", { oco: { orderId: 7, stopPrice: 111 } }, "invalid-stop-price"],
    ["a stop-market leg that is GTC", { oco: { orderId: 7, stopPrice: 110, timeInForce: "GTC" } }, "invalid-time-in-force"],
  ];
  for (const [name, change, reason] of refused) {
    test(`refused: ${name} (${reason})`, () => book.given(traded).when(pair(change)).then([rejected(6, 6, "place", reason)]));
  }
});

describe("cancel and modify", () => {
  test("cancel removes a resting order", () =>
    book.given(asks).when(command({ type: "cancel", orderId: 1 })).then([cancelled(1, 1, 10, "requested")]));
  test("cancel of an unknown order is rejected", () =>
    book.given(asks).when(command({ type: "cancel", orderId: 9, account: 3 })).then([rejected(9, 3, "cancel", "unknown-order")]));
  test("cancel by another account is rejected", () =>
    book.given(asks).when(command({ type: "cancel", orderId: 1, account: 3 })).then([rejected(1, 3, "cancel", "account-mismatch")]));
  test("reducing quantity keeps time priority", () =>
    book.given(asks).when(command({ type: "modify", orderId: 1, quantity: 4 }))
      .then([{ type: "OrderModified", data: { orderId: 1, account: 1, price: 100, quantity: 4, keptPriority: true } } as OrderBookEvent]));
  test("a new price loses priority and may trade", () =>
    book.given([...asks, accepted({ orderId: 3, account: 3, price: 90, quantity: 4 })])
      .when(command({ type: "modify", orderId: 3, price: 100 }))
      .then([
        { type: "OrderModified", data: { orderId: 3, account: 3, price: 100, quantity: 4, keptPriority: false } } as OrderBookEvent,
        trade(100, 4, [1, 1], [3, 3]),
      ]));
  test("modify to the same price and quantity is rejected", () =>
    book.given(asks).when(command({ type: "modify", orderId: 1, price: 100 })).then([rejected(1, 1, "modify", "no-change")]));
  test("a modify keeps the order's own self-trade prevention mode", () =>
    book.given([...asks, accepted({ orderId: 3, account: 1, price: 90, quantity: 4, selfTrade: "cancel-incoming" })])
      .when(command({ type: "modify", orderId: 3, price: 100 }))
      .then([
        { type: "OrderModified", data: { orderId: 3, account: 1, price: 100, quantity: 4, keptPriority: false } } as OrderBookEvent,
        cancelled(3, 1, 4, "self-trade"),
      ]));
  test("a modify keeps the order's post-only flag: it may not move into a cross", () =>
    book.given([...asks, accepted({ orderId: 3, account: 3, price: 90, quantity: 4, postOnly: true })])
      .when(command({ type: "modify", orderId: 3, price: 100 }))
      .then([rejected(3, 3, "modify", "post-only-would-cross")]));
  test("a stop order cannot be modified", () =>
    book.given([accepted({ orderId: 5, account: 5, kind: "stop-market", stopPrice: 100, quantity: 2, timeInForce: "IOC" })])
      .when(command({ type: "modify", orderId: 5, quantity: 4 })).then([rejected(5, 0, "modify", "not-modifiable")]));
});

describe("self-trade prevention", () => {
  const mine = { orderId: 3, account: 1, side: "buy", price: 105, quantity: 12 };
  test("cancel-resting cancels the maker and keeps matching", () =>
    book.given(asks).when(place({ ...mine, selfTrade: "cancel-resting" }))
      .then([accepted({ ...mine, selfTrade: "cancel-resting" }), cancelled(1, 1, 10, "self-trade"), trade(105, 10, [2, 2], [3, 1])]));
  test("cancel-incoming cancels the taker", () =>
    book.given(asks).when(place({ ...mine, selfTrade: "cancel-incoming" }))
      .then([accepted({ ...mine, selfTrade: "cancel-incoming" }), cancelled(3, 1, 12, "self-trade")]));
  test("cancel-both cancels both", () =>
    book.given(asks).when(place({ ...mine, selfTrade: "cancel-both" }))
      .then([accepted({ ...mine, selfTrade: "cancel-both" }), cancelled(1, 1, 10, "self-trade"), cancelled(3, 1, 12, "self-trade")]));
  test("allow trades with oneself", () =>
    book.given(asks).when(place({ ...mine, quantity: 2 }))
      .then([accepted({ ...mine, quantity: 2 }), trade(100, 2, [1, 1], [3, 1])]));
});

describe("rejections change nothing", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["order id not a positive integer", { orderId: 1.5 }, "invalid-order-id"],
    ["account not a positive integer", { account: -1 }, "invalid-account"],
    ["duplicate order id", { orderId: 1 }, "duplicate-order-id"],
    ["quantity <= 0", { quantity: 0 }, "invalid-quantity"],
    ["quantity not an integer", { quantity: 2.5 }, "invalid-quantity"],
    ["quantity off the lot", { quantity: 3 }, "quantity-off-lot"],
    ["price not an integer", { price: 97.5 }, "invalid-price"],
    ["price <= 0", { price: -5 }, "invalid-price"],
    ["price off the tick", { price: 97 }, "price-off-tick"],
    ["limit without a price", { price: undefined }, "missing-price"],
  ];
  for (const [name, change, reason] of cases) {
    test(`${name}: ${reason}`, () => {
      const input = { orderId: 3, account: 3, side: "buy", price: 95, quantity: 2, ...change };
      book.given(asks).when(place(input)).then([rejected(input.orderId as number, input.account as number, "place", reason)]);
      book.given(asks).when(place(input)).thenState((state) => {
        if (state.orders.size !== 2 || state.bids.prices.length !== 0) throw new Error("a rejection changed the book");
      });
    });
  }
});

describe("bounds: every sum the book keeps stays an exact integer", () => {
  const bounded = spec(orderBookDecider(new Map([["B", { symbol: "B", tickSize: 1, lotSize: 1, maxQuantity: 2 ** 52, maxPrice: 1000 }]])), { streamId: "book-B" });
  const at = (input: Record<string, unknown>) => OrderCommand.parse({ symbol: "B", type: "place", side: "buy", price: 120, ...input } as OrderCommandInput);
  const big = accepted({ orderId: 1, account: 1, price: 120, quantity: 2 ** 52 });

  test("a quantity at the instrument's maximum is accepted", () =>
    bounded.given([]).when(at({ orderId: 1, account: 1, quantity: 2 ** 52 })).then([big]));
  test("a quantity above the maximum is rejected", () =>
    bounded.given([]).when(at({ orderId: 1, account: 1, quantity: 2 ** 52 + 1 })).then([rejected(1, 1, "place", "quantity-above-max")]));
  test("the largest safe integer is above the default maximum", () =>
    book.given([]).when(place({ orderId: 1, account: 1, side: "buy", price: 120, quantity: 9007199254740990 }))
      .then([rejected(1, 1, "place", "quantity-above-max")]));
  test("a price at the maximum is accepted; above it is rejected, stop prices too", () => {
    bounded.given([]).when(at({ orderId: 1, account: 1, quantity: 1, price: 1000 }))
      .then([accepted({ orderId: 1, account: 1, price: 1000, quantity: 1 })]);
    bounded.given([]).when(at({ orderId: 1, account: 1, quantity: 1, price: 1001 })).then([rejected(1, 1, "place", "price-above-max")]);
    bounded.given([]).when(at({ orderId: 1, account: 1, quantity: 1, kind: "stop-limit", stopPrice: 1001 }))
      .then([rejected(1, 1, "place", "invalid-stop-price")]);
  });
  test("an order that would take its level's total past 2^53 - 1 is rejected", () =>
    bounded.given([big]).when(at({ orderId: 2, account: 2, quantity: 2 ** 52 })).then([rejected(2, 2, "place", "level-full")]));
  test("up to 2^53 - 1 at one level is accepted", () =>
    bounded.given([big]).when(at({ orderId: 2, account: 2, quantity: 2 ** 52 - 1 }))
      .then([accepted({ orderId: 2, account: 2, price: 120, quantity: 2 ** 52 - 1 })]));
  test("a modify that would overfill a level is rejected", () =>
    bounded.given([big, accepted({ orderId: 2, account: 2, price: 121, quantity: 2 ** 52 })])
      .when(OrderCommand.parse({ symbol: "B", type: "modify", orderId: 2, price: 120 } as OrderCommandInput))
      .then([rejected(2, 2, "modify", "level-full")]));
  test("a triggered stop whose level filled up while it waited expires instead of resting", () =>
    bounded.given([
      big,
      accepted({ orderId: 2, account: 2, kind: "stop-limit", price: 120, stopPrice: 100, quantity: 2 ** 52 }),
      accepted({ orderId: 3, account: 3, side: "sell", price: 100, quantity: 1 }),
      accepted({ orderId: 4, account: 4, price: 100, quantity: 1 }),
      trade(100, 1, [3, 3], [4, 4]),
    ]).when(OrderCommand.parse({ symbol: "B", type: "trigger-stops" } as OrderCommandInput))
      .then([expired(2, 2, 2 ** 52, "level-full")]));
});
