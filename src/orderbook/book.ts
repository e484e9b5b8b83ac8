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

export class RestingOrder {
  next: RestingOrder | null = null;
  previous: RestingOrder | null = null;
  level: Level | null = null;
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

export class Level {
  head: RestingOrder | null = null;
  tail: RestingOrder | null = null;
  quantity = 0;
  count = 0;
  constructor(readonly price: number) {}

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

export class BookSide {
  readonly levels = new Map<number, Level>();
  /** Active prices, sorted so that the best is last (bids ascending, asks descending). */
  readonly prices: number[] = [];

  constructor(readonly side: Side) {}

  /** Is `a` a better price than `b` on this side? */
  better(a: number, b: number): boolean {
    return this.side === "buy" ? a > b : a < b;
  }

  best(): Level | undefined {
    const prices = this.prices;
    return prices.length === 0 ? undefined : this.levels.get(prices[prices.length - 1]);
  }

  /** The level `rank` places from the best (0 = best). */
  levelAt(rank: number): Level | undefined {
    const index = this.prices.length - 1 - rank;
    return index < 0 ? undefined : this.levels.get(this.prices[index]);
  }

  add(order: RestingOrder): void {
    let level = this.levels.get(order.price);
    if (level === undefined) {
      level = new Level(order.price);
      this.levels.set(order.price, level);
      this.#insertPrice(order.price);
    }
    level.push(order);
  }

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

export interface StopOrder {
  id: number;
  account: number;
  side: Side;
  kind: "stop-limit" | "stop-market";
  price: number;
  stopPrice: number;
  quantity: number;
  timeInForce: TimeInForce;
  selfTrade: SelfTradePrevention;
}

export class OrderBook {
  readonly bids = new BookSide("buy");
  readonly asks = new BookSide("sell");
  readonly orders = new Map<number, RestingOrder>();
  readonly stops = new Map<number, StopOrder>();
  /** Price of the last trade, 0 before any. */
  lastTradePrice = 0;

  constructor(readonly instrument: Instrument) {}

  side(side: Side): BookSide {
    return side === "buy" ? this.bids : this.asks;
  }

  opposite(side: Side): BookSide {
    return side === "buy" ? this.asks : this.bids;
  }

  /** Does a `side` order at `price` cross the best opposite price? */
  crosses(side: Side, price: number): boolean {
    const best = this.opposite(side).best();
    return best !== undefined && (side === "buy" ? price >= best.price : price <= best.price);
  }

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
