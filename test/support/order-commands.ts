/** fast-check generators of order-book commands, valid and invalid, over a small id space. */
import fc from "fast-check";
import type { OrderCommandInput } from "../../src/orderbook/index.ts";

export const SYMBOL = "T-1";
export const TICK = 5;
export const LOT = 2;

const price = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 18, max: 24 }).map((n) => n * TICK) },
  { weight: 1, arbitrary: fc.constantFrom(101, 0, -5, 2.5) },
);
const quantity = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 1, max: 6 }).map((n) => n * LOT) },
  { weight: 1, arbitrary: fc.constantFrom(3, 0, -2, 1.5) },
);
const orderId = fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 1, max: 25 }) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5) });
const account = fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(0) });

const place = fc.record({
  type: fc.constant("place" as const),
  symbol: fc.constant(SYMBOL),
  orderId,
  account,
  side: fc.constantFrom("buy" as const, "sell" as const),
  kind: fc.constantFrom(...(["limit", "limit", "limit", "limit", "limit", "limit", "market", "stop-limit", "stop-market"] as const)),
  price: fc.option(price, { nil: undefined, freq: 10 }),
  stopPrice: fc.option(price, { nil: undefined, freq: 5 }),
  quantity,
  timeInForce: fc.option(fc.constantFrom("GTC" as const, "IOC" as const, "FOK" as const), { nil: undefined, freq: 2 }),
  postOnly: fc.boolean(),
  selfTrade: fc.constantFrom("allow" as const, "cancel-resting" as const, "cancel-incoming" as const, "cancel-both" as const),
});

const cancel = fc.record({
  type: fc.constant("cancel" as const),
  symbol: fc.constant(SYMBOL),
  orderId,
  account: fc.option(account, { nil: undefined }),
});

const modify = fc.record({
  type: fc.constant("modify" as const),
  symbol: fc.constant(SYMBOL),
  orderId,
  account: fc.option(account, { nil: undefined }),
  price: fc.option(price, { nil: undefined }),
  quantity: fc.option(quantity, { nil: undefined }),
});

export const orderCommand: fc.Arbitrary<OrderCommandInput> = fc.oneof(
  { weight: 6, arbitrary: place },
  { weight: 2, arbitrary: cancel },
  { weight: 2, arbitrary: modify },
);

/** OCO pairs: a limit order with a stop leg (the reference matcher has none, so kept apart). */
const placeOco = fc.record({
  type: fc.constant("place" as const),
  symbol: fc.constant(SYMBOL),
  orderId,
  account,
  side: fc.constantFrom("buy" as const, "sell" as const),
  price,
  quantity,
  oco: fc.record({ orderId, stopPrice: price, price: fc.option(price, { nil: undefined }) }),
});

/** Commands with OCO pairs among them. */
export const orderCommandWithOco: fc.Arbitrary<OrderCommandInput> = fc.oneof(
  { weight: 9, arbitrary: orderCommand },
  { weight: 1, arbitrary: placeOco },
);

export const orderCommands = (maxLength: number) => fc.array(orderCommand, { minLength: 1, maxLength, size: "max" });
