/**
 * The order book's events: every outcome of a command is one of these. They are built
 * only by the decider from validated commands, so they are `trusted` (no schema check on
 * append); reads from storage still validate them.
 */
import { z } from "zod";
import { defineEvent, type EventOf, eventRegistry } from "../core/events.ts";

const int = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const side = z.enum(["buy", "sell"]);
const trusted = { trusted: true };

export const OrderAccepted = defineEvent("OrderAccepted", z.object({
  orderId: int,
  account: int,
  side,
  kind: z.enum(["limit", "market", "stop-limit", "stop-market"]),
  /** 0 for market and stop-market orders. */
  price: int,
  /** 0 unless a stop order. */
  stopPrice: int,
  quantity: int,
  timeInForce: z.enum(["GTC", "IOC", "FOK"]),
  postOnly: z.boolean(),
  selfTrade: z.enum(["allow", "cancel-resting", "cancel-incoming", "cancel-both"]),
}), trusted);

export const OrderRejected = defineEvent("OrderRejected", z.object({
  orderId: z.number(),
  account: z.number(),
  command: z.enum(["place", "cancel", "modify"]),
  reason: z.enum([
    "invalid-order-id", "duplicate-order-id", "unknown-order", "invalid-account", "account-mismatch",
    "invalid-quantity", "quantity-off-lot", "invalid-price", "price-off-tick", "missing-price",
    "invalid-stop-price", "post-only-would-cross", "post-only-not-limit", "invalid-time-in-force",
    "not-modifiable", "no-change",
  ]),
}), trusted);

export const TradeExecuted = defineEvent("TradeExecuted", z.object({
  price: int,
  quantity: int,
  makerOrderId: int,
  makerAccount: int,
  takerOrderId: int,
  takerAccount: int,
  takerSide: side,
}), trusted);

export const OrderCancelled = defineEvent("OrderCancelled", z.object({
  orderId: int,
  account: int,
  /** Open quantity that was cancelled. */
  remaining: int,
  reason: z.enum(["requested", "self-trade"]),
}), trusted);

export const OrderExpired = defineEvent("OrderExpired", z.object({
  orderId: int,
  account: int,
  remaining: int,
  reason: z.enum(["ioc-unfilled", "fok-unfillable", "market-unfilled"]),
}), trusted);

export const OrderModified = defineEvent("OrderModified", z.object({
  orderId: int,
  account: int,
  price: int,
  quantity: int,
  /** True when only the quantity went down at the same price. */
  keptPriority: z.boolean(),
}), trusted);

export const StopTriggered = defineEvent("StopTriggered", z.object({
  orderId: int,
  account: int,
  lastTradePrice: int,
}), trusted);

export const orderBookEventDefinitions = [
  OrderAccepted, OrderRejected, TradeExecuted, OrderCancelled, OrderExpired, OrderModified, StopTriggered,
] as const;

export type OrderBookEvent = EventOf<(typeof orderBookEventDefinitions)[number]>;
export type OrderAccepted = EventOf<typeof OrderAccepted>;
export type TradeExecuted = EventOf<typeof TradeExecuted>;

export const orderBookEvents = () => eventRegistry(...orderBookEventDefinitions);
