/**
 * The order book state: what `evolve` updates in place and `decide` reads.
 *
 * Each side keeps its price levels in a Map (price -> level) for O(1) lookup, plus the
 * active prices in a sorted array whose END is the best price, so the inserts and removals
 * that cluster around the spread move few elements. A level is a FIFO doubly-linked list
 * of orders; an order-id index makes cancel and modify O(1). Stop orders wait in their own
 * list until the last trade price reaches them.
 */
import type { Instrument, SelfTradePrevention, Side, TimeInForce } from "./types.ts";

/** An order resting in the book: a node of its price level's FIFO list. */
export class RestingOrder {
  /** The order behind it at its level (null at the tail). */
  next: RestingOrder | null = null;
  /** The order ahead of it at its level (null at the head). */
  previous: RestingOrder | null = null;
  /** Its level while it rests. */
  level: Level | null = null;
  /** A resting order (the book creates them). */
  constructor(
    readonly id: number,
    readonly account: number,
    readonly side: Side,
    public price: number,
    public quantity: number,
    readonly postOnly: boolean,
    readonly selfTrade: SelfTradePrevention,
  ) {}
}

/** The orders at one price, oldest first (time priority), with their total quantity. */
export class Level {
  /** The oldest order (first to fill). */
  head: RestingOrder | null = null;
  /** The newest order. */
  tail: RestingOrder | null = null;
  /** Total open quantity at this price. */
  quantity = 0;
  /** Number of orders at this price. */
  count = 0;
  /** An empty level at `price`. */
  constructor(readonly price: number) {}

  /** Appends `order` at the back of the queue. */
  push(order: RestingOrder): void {
    order.level = this;
    order.previous = this.tail;
    order.next = null;
    if (this.tail) this.tail.next = order;
    else this.head = order;
    this.tail = order;
    this.quantity += order.quantity;
    this.count++;
  }

  /** Unlinks `order` from the queue. */
  remove(order: RestingOrder): void {
    if (order.previous) order.previous.next = order.next;
    else this.head = order.next;
    if (order.next) order.next.previous = order.previous;
    else this.tail = order.previous;
    this.quantity -= order.quantity;
    this.count--;
    order.level = order.next = order.previous = null;
  }
}

/** One side of a book: its price levels, best last. */
export class BookSide {
  /** Price levels by price. */
  readonly levels: Map<number, Level> = new Map();
  /** Active prices, sorted so that the best is last (bids ascending, asks descending). */
  readonly prices: number[] = [];

  /** An empty side. */
  constructor(readonly side: Side) {}

  /** Is `a` a better price than `b` on this side? */
  better(a: number, b: number): boolean {
    return this.side === "buy" ? a > b : a < b;
  }

  /** The best level (highest bid, lowest ask), if any. */
  best(): Level | undefined {
    const prices = this.prices;
    return prices.length === 0 ? undefined : this.levels.get(prices[prices.length - 1]);
  }

  /** The level `rank` places from the best (0 = best). */
  levelAt(rank: number): Level | undefined {
    const index = this.prices.length - 1 - rank;
    return index < 0 ? undefined : this.levels.get(this.prices[index]);
  }

  /** Rests `order` at its price, behind the orders already there. */
  add(order: RestingOrder): void {
    let level = this.levels.get(order.price);
    if (level === undefined) {
      level = new Level(order.price);
      this.levels.set(order.price, level);
      this.#insertPrice(order.price);
    }
    level.push(order);
  }

  /** Removes `order` (and its level, if now empty). */
  remove(order: RestingOrder): void {
    const level = order.level!;
    level.remove(order);
    if (level.count === 0) {
      this.levels.delete(level.price);
      this.#removePrice(level.price);
    }
  }

  /** Index of the first price not worse-sorted than `price` (binary search from the end). */
  #search(price: number): number {
    const prices = this.prices;
    let low = 0;
    let high = prices.length;
    const ascending = this.side === "buy";
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (ascending ? prices[middle] < price : prices[middle] > price) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #insertPrice(price: number): void {
    const prices = this.prices;
    const last = prices.length - 1;
    // Fast path: a new best price (the common case near the spread).
    if (last < 0 || this.better(price, prices[last])) prices.push(price);
    else prices.splice(this.#search(price), 0, price);
  }

  #removePrice(price: number): void {
    const prices = this.prices;
    if (prices[prices.length - 1] === price) prices.pop();
    else prices.splice(this.#search(price), 1);
  }
}

/** A stop order waiting for the last trade price to reach `stopPrice`. */
export interface StopOrder {
  /** Order id. */
  id: number;
  /** Owning account. */
  account: number;
  /** Buy or sell. */
  side: Side;
  /** Becomes a limit (stop-limit) or market (stop-market) order when triggered. */
  kind: "stop-limit" | "stop-market";
  /** Limit price once triggered (stop-limit). */
  price: number;
  /** Trigger price. */
  stopPrice: number;
  /** Quantity in lots. */
  quantity: number;
  /** Time in force once triggered. */
  timeInForce: TimeInForce;
  /** Self-trade prevention once triggered. */
  selfTrade: SelfTradePrevention;
}

/** One instrument's order book: the order-book decider's state, updated in place. */
export class OrderBook {
  /** Buy orders. */
  readonly bids: BookSide = new BookSide("buy");
  /** Sell orders. */
  readonly asks: BookSide = new BookSide("sell");
  /** Resting orders by id (O(1) cancel and modify). */
  readonly orders: Map<number, RestingOrder> = new Map();
  /** Stop orders waiting for their trigger, in arrival order. */
  readonly stops: Map<number, StopOrder> = new Map();
  /** Price of the last trade, 0 before any. */
  lastTradePrice = 0;
  /** One-cancels-the-other pairs, both ways: each leg's id to the other's. */
  readonly oco: Map<number, number> = new Map();

  /** Forgets the OCO pair `id` belongs to, if any. */
  unlink(id: number): void {
    const other = this.oco.get(id);
    if (other === undefined) return;
    this.oco.delete(id);
    this.oco.delete(other);
  }

  /** An empty book for `instrument`. */
  constructor(readonly instrument: Instrument) {}

  /** The `side` of the book. */
  side(side: Side): BookSide {
    return side === "buy" ? this.bids : this.asks;
  }

  /** The side an order on `side` trades against. */
  opposite(side: Side): BookSide {
    return side === "buy" ? this.asks : this.bids;
  }

  /** Does a `side` order at `price` cross the best opposite price? */
  crosses(side: Side, price: number): boolean {
    const best = this.opposite(side).best();
    return best !== undefined && (side === "buy" ? price >= best.price : price <= best.price);
  }

  /** Whether `id` is resting or waiting as a stop. */
  hasOrder(id: number): boolean {
    return this.orders.has(id) || this.stops.has(id);
  }

  /** The first stop order (in arrival order) that the last trade price triggers, if any. */
  triggeredStop(): StopOrder | undefined {
    if (this.stops.size === 0 || this.lastTradePrice === 0) return undefined;
    for (const stop of this.stops.values()) {
      if (stop.side === "buy" ? this.lastTradePrice >= stop.stopPrice : this.lastTradePrice <= stop.stopPrice) {
        return stop;
      }
    }
    return undefined;
  }
}
