/**
 * The order book's events: every outcome of a command is one of these. They are built
 * only by the decider from validated commands, so they are `trusted` (no schema check on
 * append); reads from storage still validate them. Each event's data is written out as
 * an interface (the public type) and checked against its zod schema here.
 */
import { z } from "zod/v4";
import { defineEvent, type EventDefinition, type EventOf, type EventRegistry, eventRegistry, type Schema } from "../core/events.ts";
import {
  CANCEL_REASONS,
  type CancelReason,
  COMMAND_NAMES,
  EXPIRE_REASONS,
  type ExpireReason,
  KINDS,
  type OrderKind,
  REJECT_REASONS,
  type RejectReason,
  SELF_TRADE,
  type SelfTradePrevention,
  type Side,
  SIDES,
  type TimeInForce,
  TIMES_IN_FORCE,
} from "./types.ts";

const int = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const oneOf = <T extends string>(members: readonly T[]) => z.enum(members as [T, ...T[]]);
const trusted = { trusted: true };

/** Data of OrderAccepted: the whole order. */
export interface OrderAcceptedData {
  /** The order's id (a positive safe integer, unique per book). */
  orderId: number;
  /** The account that owns the order. */
  account: number;
  /** Buy or sell. */
  side: Side;
  /** Limit, market, stop-limit or stop-market. */
  kind: OrderKind;
  /** 0 for market and stop-market orders. */
  price: number;
  /** 0 unless a stop order. */
  stopPrice: number;
  /** Quantity in the instrument's quantity unit (a multiple of its lot size). */
  quantity: number;
  /** Good till cancelled, immediate or cancel, fill or kill. */
  timeInForce: TimeInForce;
  /** Refuse rather than trade on arrival. */
  postOnly: boolean;
  /** What to do when it would trade with the same account. */
  selfTrade: SelfTradePrevention;
}

/** An order passed every check and entered the book (or the stop list). */
export const OrderAccepted: EventDefinition<"OrderAccepted", Schema<OrderAcceptedData>> = defineEvent("OrderAccepted", z.object({
  orderId: int,
  account: int,
  side: oneOf(SIDES),
  kind: oneOf(KINDS),
  price: int,
  stopPrice: int,
  quantity: int,
  timeInForce: oneOf(TIMES_IN_FORCE),
  postOnly: z.boolean(),
  selfTrade: oneOf(SELF_TRADE),
}), trusted);

/** Data of OrderRejected: which command was refused, and why. */
export interface OrderRejectedData {
  /** The order's id (a positive safe integer, unique per book). */
  orderId: number;
  /** The account that owns the order. */
  account: number;
  /** The command that was refused. */
  command: (typeof COMMAND_NAMES)[number];
  /** Why. */
  reason: RejectReason;
}

/** A command was refused; nothing changed. */
export const OrderRejected: EventDefinition<"OrderRejected", Schema<OrderRejectedData>> = defineEvent("OrderRejected", z.object({
  orderId: z.number(),
  account: z.number(),
  command: oneOf(COMMAND_NAMES),
  reason: oneOf(REJECT_REASONS),
}), trusted);

/** Data of TradeExecuted. */
export interface TradeExecutedData {
  /** The resting (maker) order's price. */
  price: number;
  /** Quantity in the instrument's quantity unit (a multiple of its lot size). */
  quantity: number;
  /** The resting order. */
  makerOrderId: number;
  /** The resting order's account. */
  makerAccount: number;
  /** The incoming order. */
  takerOrderId: number;
  /** The incoming order's account. */
  takerAccount: number;
  /** The incoming order's side. */
  takerSide: Side;
}

/** Two orders traded. */
export const TradeExecuted: EventDefinition<"TradeExecuted", Schema<TradeExecutedData>> = defineEvent("TradeExecuted", z.object({
  price: int,
  quantity: int,
  makerOrderId: int,
  makerAccount: int,
  takerOrderId: int,
  takerAccount: int,
  takerSide: oneOf(SIDES),
}), trusted);

/** Data of OrderCancelled. */
export interface OrderCancelledData {
  /** The order's id (a positive safe integer, unique per book). */
  orderId: number;
  /** The account that owns the order. */
  account: number;
  /** Open quantity that was cancelled. */
  remaining: number;
  /** Why. */
  reason: CancelReason;
}

/** An order left the book: cancelled by its owner or by self-trade prevention. */
export const OrderCancelled: EventDefinition<"OrderCancelled", Schema<OrderCancelledData>> = defineEvent("OrderCancelled", z.object({
  orderId: int,
  account: int,
  remaining: int,
  reason: oneOf(CANCEL_REASONS),
}), trusted);

/** Data of OrderExpired. */
export interface OrderExpiredData {
  /** The order's id (a positive safe integer, unique per book). */
  orderId: number;
  /** The account that owns the order. */
  account: number;
  /** Quantity left unfilled. */
  remaining: number;
  /** Why. */
  reason: ExpireReason;
}

/** An order ended unfilled by its time in force (IOC, FOK, market), or could not rest (level-full). */
export const OrderExpired: EventDefinition<"OrderExpired", Schema<OrderExpiredData>> = defineEvent("OrderExpired", z.object({
  orderId: int,
  account: int,
  remaining: int,
  reason: oneOf(EXPIRE_REASONS),
}), trusted);

/** Data of OrderModified. */
export interface OrderModifiedData {
  /** The order's id (a positive safe integer, unique per book). */
  orderId: number;
  /** The account that owns the order. */
  account: number;
  /** Price in the instrument's price unit (a multiple of its tick size). */
  price: number;
  /** Quantity in the instrument's quantity unit (a multiple of its lot size). */
  quantity: number;
  /** True when only the quantity went down at the same price. */
  keptPriority: boolean;
}

/** A resting order's price or quantity changed. */
export const OrderModified: EventDefinition<"OrderModified", Schema<OrderModifiedData>> = defineEvent("OrderModified", z.object({
  orderId: int,
  account: int,
  price: int,
  quantity: int,
  keptPriority: z.boolean(),
}), trusted);

/** Data of StopTriggered. */
export interface StopTriggeredData {
  /** The order's id (a positive safe integer, unique per book). */
  orderId: number;
  /** The account that owns the order. */
  account: number;
  /** The last trade price that reached the stop price. */
  lastTradePrice: number;
}

/** A stop order's trigger price was reached; it now acts as a limit or market order. */
export const StopTriggered: EventDefinition<"StopTriggered", Schema<StopTriggeredData>> = defineEvent("StopTriggered", z.object({
  orderId: int,
  account: int,
  lastTradePrice: int,
}), trusted);

/** Data of OcoLinked. */
export interface OcoLinkedData {
  /** The limit leg. */
  orderId: number;
  /** The account that owns both legs. */
  account: number;
  /** The stop leg. */
  stopOrderId: number;
}

/**
 * Two orders just accepted form a one-cancels-the-other pair: when either trades, triggers
 * or ends, the other is cancelled (reason `oco`).
 */
export const OcoLinked: EventDefinition<"OcoLinked", Schema<OcoLinkedData>> = defineEvent("OcoLinked", z.object({
  orderId: int,
  account: int,
  stopOrderId: int,
}), trusted);

/** Every order-book event definition. */
export const orderBookEventDefinitions = [
  OrderAccepted, OrderRejected, TradeExecuted, OrderCancelled, OrderExpired, OrderModified, StopTriggered, OcoLinked,
] as const;

/** Any order-book event. */
export type OrderBookEvent = EventOf<(typeof orderBookEventDefinitions)[number]>;
/** An OrderAccepted event. */
export type OrderAccepted = EventOf<typeof OrderAccepted>;
/** A TradeExecuted event. */
export type TradeExecuted = EventOf<typeof TradeExecuted>;

/** A registry of the order-book events, for an event store. */
export const orderBookEvents = (): EventRegistry<OrderBookEvent> => eventRegistry(...orderBookEventDefinitions);
