/**
 * Order-book commands and their zod schemas. The schema checks shape (types, enums,
 * required fields); business rules (ticks, lots, known orders) are the decider's and
 * end in an OrderRejected event.
 */
import { z } from "zod";

const symbol = z.string().min(1).max(64);
const id = z.number();

/** Places a limit, market, stop-limit or stop-market order. */
export const PlaceOrder = z.object({
  type: z.literal("place"),
  symbol,
  orderId: id,
  account: id,
  side: z.enum(["buy", "sell"]),
  kind: z.enum(["limit", "market", "stop-limit", "stop-market"]).default("limit"),
  /** Limit price; required for limit and stop-limit orders. */
  price: z.number().optional(),
  /** Trigger price for stop orders, compared with the last trade price. */
  stopPrice: z.number().optional(),
  quantity: z.number(),
  /** Default: GTC for limit and stop-limit orders, IOC for market and stop-market orders. */
  timeInForce: z.enum(["GTC", "IOC", "FOK"]).optional(),
  postOnly: z.boolean().default(false),
  selfTrade: z.enum(["allow", "cancel-resting", "cancel-incoming", "cancel-both"]).default("allow"),
});

/** Cancels a resting or stop order. */
export const CancelOrder = z.object({
  type: z.literal("cancel"),
  symbol,
  orderId: id,
  /** When given, must be the order's account. */
  account: id.optional(),
});

/**
 * Changes a resting order. A lower quantity at the same price keeps its time priority;
 * a new price or a larger quantity loses it (and may trade, like a new order).
 */
export const ModifyOrder = z.object({
  type: z.literal("modify"),
  symbol,
  orderId: id,
  account: id.optional(),
  price: z.number().optional(),
  /** The new open quantity. */
  quantity: z.number().optional(),
});

/** Issued by the engine after a trade: executes the first stop order the last price triggered. */
export const TriggerStops = z.object({ type: z.literal("trigger-stops"), symbol });

/** Any order-book command (discriminated by `type`). */
export const OrderCommand = z.discriminatedUnion("type", [PlaceOrder, CancelOrder, ModifyOrder, TriggerStops]);

/** A validated place command. */
export type PlaceOrder = z.output<typeof PlaceOrder>;
/** A validated cancel command. */
export type CancelOrder = z.output<typeof CancelOrder>;
/** A validated modify command. */
export type ModifyOrder = z.output<typeof ModifyOrder>;
/** A trigger-stops command. */
export type TriggerStops = z.output<typeof TriggerStops>;
/** A validated order-book command. */
export type OrderCommand = z.output<typeof OrderCommand>;
/** What callers may send: defaults (kind, timeInForce, postOnly, selfTrade) may be left out. */
export type OrderCommandInput = z.input<typeof OrderCommand>;
