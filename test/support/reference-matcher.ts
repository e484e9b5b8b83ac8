/**
 * A deliberately simple matcher, written apart from the engine, for the property test:
 * plain arrays, linear scans, explicit arrival numbers. It implements the same rules
 * (docs/orderbook.md) and produces the same events; the test demands both agree.
 */
import type { OrderCommand } from "../../src/orderbook/index.ts";

type Side = "buy" | "sell";
type Stp = "allow" | "cancel-resting" | "cancel-incoming" | "cancel-both";
export interface RefEvent {
  type: string;
  data: Record<string, unknown>;
}
interface RefOrder {
  id: number;
  account: number;
  side: Side;
  price: number;
  quantity: number;
  postOnly: boolean;
  selfTrade: Stp;
  arrival: number;
}
interface RefStop {
  id: number;
  account: number;
  side: Side;
  kind: "stop-limit" | "stop-market";
  price: number;
  stopPrice: number;
  quantity: number;
  timeInForce: "GTC" | "IOC" | "FOK";
  selfTrade: Stp;
}

export class ReferenceMatcher {
  orders: RefOrder[] = [];
  stops: RefStop[] = [];
  lastTradePrice = 0;
  #arrival = 0;

  constructor(readonly tickSize: number, readonly lotSize: number) {}

  /** Resting orders of a side in priority order. */
  side(side: Side): RefOrder[] {
    return this.orders.filter((o) => o.side === side).sort((a, b) =>
      a.price !== b.price ? (side === "buy" ? b.price - a.price : a.price - b.price) : a.arrival - b.arrival
    );
  }

  submit(command: OrderCommand): RefEvent[] {
    const events: RefEvent[] = [];
    if (command.type === "place") this.#place(command, events);
    else if (command.type === "cancel") this.#cancel(command, events);
    else if (command.type === "modify") this.#modify(command, events);
    for (;;) {
      const stop = this.stops.find((s) => this.lastTradePrice !== 0 &&
        (s.side === "buy" ? this.lastTradePrice >= s.stopPrice : this.lastTradePrice <= s.stopPrice));
      if (!stop) break;
      this.stops = this.stops.filter((s) => s !== stop);
      events.push({ type: "StopTriggered", data: { orderId: stop.id, account: stop.account, lastTradePrice: this.lastTradePrice } });
      this.#execute({ ...stop, price: stop.kind === "stop-limit" ? stop.price : undefined, postOnly: false }, stop.timeInForce, events);
    }
    return events;
  }

  #reject(events: RefEvent[], command: string, orderId: number, account: number, reason: string) {
    events.push({ type: "OrderRejected", data: { orderId, account, command, reason } });
  }

  #priceProblem(price: number) {
    if (!Number.isSafeInteger(price) || price <= 0) return "invalid-price";
    if (price % this.tickSize !== 0) return "price-off-tick";
  }

  #quantityProblem(quantity: number) {
    if (!Number.isSafeInteger(quantity) || quantity <= 0) return "invalid-quantity";
    if (quantity % this.lotSize !== 0) return "quantity-off-lot";
  }

  #crosses(side: Side, price: number) {
    const best = this.side(side === "buy" ? "sell" : "buy")[0];
    return best !== undefined && (side === "buy" ? price >= best.price : price <= best.price);
  }

  #place(c: Extract<OrderCommand, { type: "place" }>, events: RefEvent[]) {
    const id = (v: number) => Number.isSafeInteger(v) && v > 0;
    if (!id(c.orderId)) return this.#reject(events, "place", c.orderId, c.account, "invalid-order-id");
    if (!id(c.account)) return this.#reject(events, "place", c.orderId, c.account, "invalid-account");
    if (this.orders.some((o) => o.id === c.orderId) || this.stops.some((s) => s.id === c.orderId)) {
      return this.#reject(events, "place", c.orderId, c.account, "duplicate-order-id");
    }
    const q = this.#quantityProblem(c.quantity);
    if (q) return this.#reject(events, "place", c.orderId, c.account, q);
    const limited = c.kind === "limit" || c.kind === "stop-limit";
    if (limited) {
      if (c.price === undefined) return this.#reject(events, "place", c.orderId, c.account, "missing-price");
      const p = this.#priceProblem(c.price);
      if (p) return this.#reject(events, "place", c.orderId, c.account, p);
    }
    const stop = c.kind === "stop-limit" || c.kind === "stop-market";
    if (stop && (c.stopPrice === undefined || this.#priceProblem(c.stopPrice))) {
      return this.#reject(events, "place", c.orderId, c.account, "invalid-stop-price");
    }
    const tif = c.timeInForce ?? (limited ? "GTC" : "IOC");
    if (!limited && tif === "GTC") return this.#reject(events, "place", c.orderId, c.account, "invalid-time-in-force");
    if (c.postOnly) {
      if (c.kind !== "limit" || tif !== "GTC") return this.#reject(events, "place", c.orderId, c.account, "post-only-not-limit");
      if (this.#crosses(c.side, c.price!)) return this.#reject(events, "place", c.orderId, c.account, "post-only-would-cross");
    }
    events.push({
      type: "OrderAccepted",
      data: {
        orderId: c.orderId, account: c.account, side: c.side, kind: c.kind, price: limited ? c.price : 0,
        stopPrice: stop ? c.stopPrice : 0, quantity: c.quantity, timeInForce: tif, postOnly: c.postOnly, selfTrade: c.selfTrade,
      },
    });
    if (stop) {
      this.stops.push({
        id: c.orderId, account: c.account, side: c.side, kind: c.kind as RefStop["kind"], price: limited ? c.price! : 0,
        stopPrice: c.stopPrice!, quantity: c.quantity, timeInForce: tif, selfTrade: c.selfTrade,
      });
      return;
    }
    this.#execute({ id: c.orderId, account: c.account, side: c.side, price: limited ? c.price : undefined, quantity: c.quantity, selfTrade: c.selfTrade, postOnly: c.postOnly }, tif, events);
  }

  /** Walks the opposite side; returns what is left. Applies fills and STP cancels unless dry. */
  #match(t: { id: number; account: number; side: Side; price?: number; quantity: number; selfTrade: Stp }, events: RefEvent[], dry: boolean) {
    let remaining = t.quantity;
    for (const maker of this.side(t.side === "buy" ? "sell" : "buy")) {
      if (remaining === 0) break;
      if (t.price !== undefined && (t.side === "buy" ? maker.price > t.price : maker.price < t.price)) break;
      if (t.selfTrade !== "allow" && maker.account === t.account) {
        if (t.selfTrade === "cancel-resting" || t.selfTrade === "cancel-both") {
          if (!dry) {
            events.push({ type: "OrderCancelled", data: { orderId: maker.id, account: maker.account, remaining: maker.quantity, reason: "self-trade" } });
            this.orders = this.orders.filter((o) => o !== maker);
          }
          if (t.selfTrade === "cancel-resting") continue;
        }
        if (!dry) events.push({ type: "OrderCancelled", data: { orderId: t.id, account: t.account, remaining, reason: "self-trade" } });
        return dry ? remaining : -1;
      }
      const quantity = Math.min(remaining, maker.quantity);
      remaining -= quantity;
      if (!dry) {
        events.push({
          type: "TradeExecuted",
          data: { price: maker.price, quantity, makerOrderId: maker.id, makerAccount: maker.account, takerOrderId: t.id, takerAccount: t.account, takerSide: t.side },
        });
        maker.quantity -= quantity;
        if (maker.quantity === 0) this.orders = this.orders.filter((o) => o !== maker);
        this.lastTradePrice = maker.price;
      }
    }
    return remaining;
  }

  #execute(t: { id: number; account: number; side: Side; price?: number; quantity: number; selfTrade: Stp; postOnly: boolean }, tif: string, events: RefEvent[]) {
    if (tif === "FOK" && this.#match(t, events, true) > 0) {
      events.push({ type: "OrderExpired", data: { orderId: t.id, account: t.account, remaining: t.quantity, reason: "fok-unfillable" } });
      return;
    }
    const arrival = ++this.#arrival; // the order is on the book from acceptance
    const remaining = this.#match(t, events, false);
    if (remaining <= 0) return;
    if (t.price === undefined || tif !== "GTC") {
      const reason = t.price === undefined ? "market-unfilled" : tif === "FOK" ? "fok-unfillable" : "ioc-unfilled";
      events.push({ type: "OrderExpired", data: { orderId: t.id, account: t.account, remaining, reason } });
      return;
    }
    this.orders.push({ id: t.id, account: t.account, side: t.side, price: t.price, quantity: remaining, postOnly: t.postOnly, selfTrade: t.selfTrade, arrival });
  }

  #cancel(c: Extract<OrderCommand, { type: "cancel" }>, events: RefEvent[]) {
    const account = c.account ?? 0;
    const order = this.orders.find((o) => o.id === c.orderId) ?? this.stops.find((s) => s.id === c.orderId);
    if (!order) return this.#reject(events, "cancel", c.orderId, account, "unknown-order");
    if (c.account !== undefined && c.account !== order.account) return this.#reject(events, "cancel", c.orderId, account, "account-mismatch");
    events.push({ type: "OrderCancelled", data: { orderId: order.id, account: order.account, remaining: order.quantity, reason: "requested" } });
    this.orders = this.orders.filter((o) => o !== order);
    this.stops = this.stops.filter((s) => s !== order);
  }

  #modify(c: Extract<OrderCommand, { type: "modify" }>, events: RefEvent[]) {
    const account = c.account ?? 0;
    const order = this.orders.find((o) => o.id === c.orderId);
    if (!order) {
      return this.#reject(events, "modify", c.orderId, account, this.stops.some((s) => s.id === c.orderId) ? "not-modifiable" : "unknown-order");
    }
    if (c.account !== undefined && c.account !== order.account) return this.#reject(events, "modify", c.orderId, account, "account-mismatch");
    const price = c.price ?? order.price;
    const quantity = c.quantity ?? order.quantity;
    const p = this.#priceProblem(price);
    if (p) return this.#reject(events, "modify", order.id, order.account, p);
    const q = this.#quantityProblem(quantity);
    if (q) return this.#reject(events, "modify", order.id, order.account, q);
    if (price === order.price && quantity === order.quantity) return this.#reject(events, "modify", order.id, order.account, "no-change");
    const keptPriority = price === order.price && quantity < order.quantity;
    if (!keptPriority && order.postOnly && this.#crosses(order.side, price)) {
      return this.#reject(events, "modify", order.id, order.account, "post-only-would-cross");
    }
    events.push({ type: "OrderModified", data: { orderId: order.id, account: order.account, price, quantity, keptPriority } });
    if (keptPriority) {
      order.quantity = quantity;
      return;
    }
    this.orders = this.orders.filter((o) => o !== order);
    this.#execute({ ...order, price, quantity }, "GTC", events);
  }
}
