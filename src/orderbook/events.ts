/**
 * The order book's events: every outcome of a command is one of these. They are built
 * only by the decider from validated commands, so they are `trusted` (no schema check on
 * append); reads from storage still validate them.
 */
import { z } from "zod";
import { defineEvent, type EventOf, type EventRegistry, eventRegistry } from "../core/events.ts";
import { EXPIRE_REASONS, type ExpireReason, REJECT_REASONS, type RejectReason } from "./types.ts";

const int = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const side = z.enum(["buy", "sell"]);
const trusted = { trusted: true };

/** An order passed every check and entered the book (or the stop list). */
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

/** A command was refused; nothing changed. */
export const OrderRejected = defineEvent("OrderRejected", z.object({
  orderId: z.number(),
  account: z.number(),
  command: z.enum(["place", "cancel", "modify"]),
  reason: z.enum(REJECT_REASONS as [RejectReason, ...RejectReason[]]),
}), trusted);

/** Two orders traded. */
export const TradeExecuted = defineEvent("TradeExecuted", z.object({
  price: int,
  quantity: int,
  makerOrderId: int,
  makerAccount: int,
  takerOrderId: int,
  takerAccount: int,
  takerSide: side,
}), trusted);

/** An order left the book: cancelled by its owner or by self-trade prevention. */
export const OrderCancelled = defineEvent("OrderCancelled", z.object({
  orderId: int,
  account: int,
  /** Open quantity that was cancelled. */
  remaining: int,
  reason: z.enum(["requested", "self-trade"]),
}), trusted);

/** An order ended unfilled by its time in force (IOC, FOK, market). */
export const OrderExpired = defineEvent("OrderExpired", z.object({
  orderId: int,
  account: int,
  remaining: int,
  reason: z.enum(EXPIRE_REASONS as [ExpireReason, ...ExpireReason[]]),
}), trusted);

/** A resting order's price or quantity changed. */
export const OrderModified = defineEvent("OrderModified", z.object({
  orderId: int,
  account: int,
  price: int,
  quantity: int,
  /** True when only the quantity went down at the same price. */
  keptPriority: z.boolean(),
}), trusted);

/** A stop order's trigger price was reached; it now acts as a limit or market order. */
export const StopTriggered = defineEvent("StopTriggered", z.object({
  orderId: int,
  account: int,
  lastTradePrice: int,
}), trusted);

/** Every order-book event definition. */
export const orderBookEventDefinitions = [
  OrderAccepted, OrderRejected, TradeExecuted, OrderCancelled, OrderExpired, OrderModified, StopTriggered,
] as const;

/** Any order-book event. */
export type OrderBookEvent = EventOf<(typeof orderBookEventDefinitions)[number]>;
/** An OrderAccepted event. */
export type OrderAccepted = EventOf<typeof OrderAccepted>;
/** A TradeExecuted event. */
export type TradeExecuted = EventOf<typeof TradeExecuted>;

/** A registry of the order-book events, for an event store. */
export const orderBookEvents = (): EventRegistry<OrderBookEvent> => eventRegistry(...orderBookEventDefinitions);
