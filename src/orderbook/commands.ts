/**
 * Order-book commands and their zod schemas. The schema checks shape (types, enums,
 * required fields); business rules (ticks, lots, bounds, known orders) are the decider's
 * and end in an OrderRejected event. The public types are written out below; each
 * schema is checked against them where it is exported.
 */
import { z } from "zod/v4";
import { KINDS, type OrderKind, SELF_TRADE, type SelfTradePrevention, type Side, SIDES, type TimeInForce, TIMES_IN_FORCE } from "./types.ts";

const symbol = z.string().min(1).max(64);
const id = z.number();
const oneOf = <T extends string>(members: readonly T[]) => z.enum(members as [T, ...T[]]);

/** A validated place command. */
export interface PlaceOrder {
  /** Which command. */
  type: "place";
  /** The instrument. */
  symbol: string;
  /** The order's id (a positive safe integer, unique per book). */
  orderId: number;
  /** The account that owns the order. */
  account: number;
  /** Buy or sell. */
  side: Side;
  /** Limit, market, stop-limit or stop-market. */
  kind: OrderKind;
  /** Limit price; required for limit and stop-limit orders. */
  price?: number;
  /** Trigger price for stop orders, compared with the last trade price. */
  stopPrice?: number;
  /** Quantity in the instrument's quantity unit (a multiple of its lot size). */
  quantity: number;
  /** Default: GTC for limit and stop-limit orders, IOC for market and stop-market orders. */
  timeInForce?: TimeInForce;
  /** Refuse rather than trade on arrival. */
  postOnly: boolean;
  /** What to do when it would trade with the same account. */
  selfTrade: SelfTradePrevention;
  /**
   * For a stop order: refuse it if the last trade price already triggers it, or (stop-limit)
   * if its limit price is on the wrong side of its stop price. Default: the instrument's
   * `stopGuard` (off unless set).
   */
  stopGuard?: boolean;
  /**
   * Makes this GTC limit order one leg of a one-cancels-the-other pair; this is the other,
   * a stop order of the same account, side and quantity. The first of them to act (the
   * limit trades, the stop triggers) or to end cancels the other.
   */
  oco?: OcoStop;
}

/** The stop leg of an OCO pair (see `PlaceOrder.oco`). */
export interface OcoStop {
  /** Its own order id (cancel either id to cancel both). */
  orderId: number;
  /** Its trigger price: above the limit price for a buy, below it for a sell. */
  stopPrice: number;
  /** Its limit price once triggered (a stop-limit); without it, a stop-market. */
  price?: number;
  /** Its time in force once triggered (default GTC for a stop-limit, IOC for a stop-market). */
  timeInForce?: TimeInForce;
}

/** A place command as callers may send it: kind (limit), postOnly (false) and selfTrade (allow) may be left out. */
export type PlaceOrderInput = Omit<PlaceOrder, "kind" | "postOnly" | "selfTrade"> & Partial<Pick<PlaceOrder, "kind" | "postOnly" | "selfTrade">>;

const placeOrder = z.object({
  type: z.literal("place"),
  symbol,
  orderId: id,
  account: id,
  side: oneOf(SIDES),
  kind: oneOf(KINDS).default("limit"),
  price: z.number().optional(),
  stopPrice: z.number().optional(),
  quantity: z.number(),
  timeInForce: oneOf(TIMES_IN_FORCE).optional(),
  postOnly: z.boolean().default(false),
  selfTrade: oneOf(SELF_TRADE).default("allow"),
  stopGuard: z.boolean().optional(),
  oco: z.object({
    orderId: id,
    stopPrice: z.number(),
    price: z.number().optional(),
    timeInForce: oneOf(TIMES_IN_FORCE).optional(),
  }).optional(),
});

/** Cancels a resting or stop order. */
export interface CancelOrder {
  /** Which command. */
  type: "cancel";
  /** The instrument. */
  symbol: string;
  /** The order's id (a positive safe integer, unique per book). */
  orderId: number;
  /** When given, must be the order's account. */
  account?: number;
}
const cancelOrder = z.object({ type: z.literal("cancel"), symbol, orderId: id, account: id.optional() });

/**
 * Changes a resting order. A lower quantity at the same price keeps its time priority;
 * a new price or a larger quantity loses it (and may trade, like a new order).
 */
export interface ModifyOrder {
  /** Which command. */
  type: "modify";
  /** The instrument. */
  symbol: string;
  /** The order's id (a positive safe integer, unique per book). */
  orderId: number;
  /** When given, must be the order's account. */
  account?: number;
  /** The new price. */
  price?: number;
  /** The new open quantity. */
  quantity?: number;
}
const modifyOrder = z.object({
  type: z.literal("modify"),
  symbol,
  orderId: id,
  account: id.optional(),
  price: z.number().optional(),
  quantity: z.number().optional(),
});

/** Issued by the engine after a trade: executes the first stop order the last price triggered. */
export interface TriggerStops {
  /** Which command. */
  type: "trigger-stops";
  /** The instrument. */
  symbol: string;
}
const triggerStops = z.object({ type: z.literal("trigger-stops"), symbol });

/** A validated order-book command. */
export type OrderCommand = PlaceOrder | CancelOrder | ModifyOrder | TriggerStops;
/** What callers may send: defaults (kind, postOnly, selfTrade) may be left out. */
export type OrderCommandInput = PlaceOrderInput | CancelOrder | ModifyOrder | TriggerStops;

/** Schema of a place command. */
export const PlaceOrder: z.ZodType<PlaceOrder, PlaceOrderInput> = placeOrder;
/** Schema of a cancel command. */
export const CancelOrder: z.ZodType<CancelOrder, CancelOrder> = cancelOrder;
/** Schema of a modify command. */
export const ModifyOrder: z.ZodType<ModifyOrder, ModifyOrder> = modifyOrder;
/** Schema of a trigger-stops command. */
export const TriggerStops: z.ZodType<TriggerStops, TriggerStops> = triggerStops;
/** Schema of any order-book command (discriminated by `type`). */
export const OrderCommand: z.ZodType<OrderCommand, OrderCommandInput> = z.discriminatedUnion("type", [
  placeOrder,
  cancelOrder,
  modifyOrder,
  triggerStops,
]);
