/**
 * Order status by id: an inline projection over the order-book events that follows each
 * order from acceptance to its end (filled, cancelled, expired), stop orders included, with
 * what it filled and at what average price. Finished orders are kept up to a bound per book
 * (oldest forgotten first); an order still working is never forgotten.
 */
import type { RecordedEvent } from "../core/events.ts";
import type { InlineProjection } from "../core/event-store.ts";
import { checkInteger, checkKeys } from "../core/check.ts";
import type { OrderBookEvent } from "./events.ts";
import type { OrderKind, Side } from "./types.ts";

/** Where an order stands: working (`resting`, `waiting-stop`) or finished. */
export type OrderState = "resting" | "waiting-stop" | "filled" | "cancelled" | "expired";

/** An order as its events left it. */
export interface OrderStatus {
  /** Its id. */
  orderId: number;
  /** Its account. */
  account: number;
  /** Buy or sell. */
  side: Side;
  /** As placed (a triggered stop keeps its stop kind). */
  kind: OrderKind;
  /** Limit price (0 for market kinds); a modify's new price once modified. */
  price: number;
  /** Trigger price (0 unless a stop order). */
  stopPrice: number;
  /** The quantity it was placed with. */
  quantity: number;
  /** What it has traded. */
  filled: number;
  /** What is still open (a modify sets it; 0 once finished). */
  remaining: number;
  /** Sum of price × quantity over its trades, exact. */
  cost: bigint;
  /** `cost / filled`; undefined before its first trade. */
  averagePrice: number | undefined;
  /** Where it stands. */
  status: OrderState;
  /** Why it was cancelled or expired. */
  reason?: string;
  /** Global position of the last event that changed it. */
  position: number;
}

/** Options of `orderStatusProjection`. */
export interface OrderStatusOptions {
  /** Finished orders kept per book, the most recent (default 100,000). Working orders are always kept. */
  keepFinished?: number;
}

/** Order status for every book in the store, kept by an inline projection. */
export interface OrderStatusProjection extends InlineProjection<OrderBookEvent> {
  /** The order's status, or undefined for an id never accepted (or finished and forgotten). */
  status(streamId: string, orderId: number): OrderStatus | undefined;
}

/** One book's orders: working ones, and finished ones in the order they finished. */
class BookOrders {
  readonly working = new Map<number, OrderStatus>();
  readonly finished = new Map<number, OrderStatus>();

  constructor(readonly keepFinished: number) {}

  get(orderId: number): OrderStatus | undefined {
    return this.working.get(orderId) ?? this.finished.get(orderId);
  }

  #finish(order: OrderStatus, status: OrderState, position: number, reason?: string): void {
    order.status = status;
    order.remaining = 0;
    order.position = position;
    if (reason !== undefined) order.reason = reason;
    this.working.delete(order.orderId);
    this.finished.set(order.orderId, order);
    if (this.finished.size > this.keepFinished) this.finished.delete(this.finished.keys().next().value!);
  }

  #fill(orderId: number, price: number, quantity: number, position: number): void {
    const order = this.working.get(orderId);
    if (order === undefined) return;
    order.filled += quantity;
    order.cost += BigInt(price) * BigInt(quantity);
    order.averagePrice = Number(order.cost) / order.filled;
    order.remaining -= quantity;
    order.position = position;
    if (order.remaining === 0) this.#finish(order, "filled", position);
  }

  apply(event: RecordedEvent<OrderBookEvent>): void {
    const position = event.position;
    switch (event.type) {
      case "OrderAccepted": {
        const d = event.data;
        // An id may be used again once its order finished: the new order replaces the old one.
        this.finished.delete(d.orderId);
        this.working.set(d.orderId, {
          orderId: d.orderId, account: d.account, side: d.side, kind: d.kind, price: d.price, stopPrice: d.stopPrice,
          quantity: d.quantity, filled: 0, remaining: d.quantity, cost: 0n, averagePrice: undefined,
          status: d.kind === "stop-limit" || d.kind === "stop-market" ? "waiting-stop" : "resting", position,
        });
        break;
      }
      case "TradeExecuted":
        this.#fill(event.data.makerOrderId, event.data.price, event.data.quantity, position);
        this.#fill(event.data.takerOrderId, event.data.price, event.data.quantity, position);
        break;
      case "OrderCancelled":
      case "OrderExpired": {
        const order = this.working.get(event.data.orderId);
        if (order !== undefined) this.#finish(order, event.type === "OrderCancelled" ? "cancelled" : "expired", position, event.data.reason);
        break;
      }
      case "OrderModified": {
        const order = this.working.get(event.data.orderId);
        if (order === undefined) break;
        order.price = event.data.price;
        order.remaining = event.data.quantity;
        order.position = position;
        break;
      }
      case "StopTriggered": {
        const order = this.working.get(event.data.orderId);
        if (order === undefined) break;
        // It now works as a limit or market order; the events after it in the same append
        // (trades, an expiry) take it further.
        order.status = "resting";
        order.position = position;
        break;
      }
    }
  }
}

/**
 * Order status for every book in the store. Register it with the engine's `projections`;
 * it is rebuilt from the log when the store opens.
 */
export function orderStatusProjection(options: OrderStatusOptions = {}): OrderStatusProjection {
  checkKeys("order status options", options, ["keepFinished"]);
  checkInteger("order status options", "keepFinished", options.keepFinished, 0);
  const keepFinished = options.keepFinished ?? 100_000;
  const books = new Map<string, BookOrders>();
  return {
    name: "order-status",
    apply(event) {
      let orders = books.get(event.streamId);
      if (orders === undefined) books.set(event.streamId, orders = new BookOrders(keepFinished));
      orders.apply(event);
    },
    status(streamId, orderId) {
      const order = books.get(streamId)?.get(orderId);
      return order === undefined ? undefined : { ...order };
    },
  };
}
