/**
 * The order book state: what `evolve` updates in place and `decide` reads.
 *
 * Resting orders live in an OrderTable (columns indexed by slot, order-table.ts). Each side
 * keeps its active prices in a PriceLadder (price-ladder.ts: bits by tick, and each price's
 * level slot), which finds a price's level, knows the best price and, from any level, the
 * next worse one. A level is a
 * FIFO doubly-linked list of slots (threaded through the table's `next` and `previous`
 * columns); the table's id index makes cancel and modify O(1). Stop orders wait in their
 * own list until the last trade price reaches them.
 */
import { OrderTable } from "./order-table.ts";
import { PriceLadder } from "./price-ladder.ts";
import type { Instrument, SelfTradePrevention, Side, TimeInForce } from "./types.ts";

export type { RestingOrder } from "./order-table.ts";
export { OrderTable } from "./order-table.ts";

/** The orders at one price, oldest first (time priority), with their total quantity. */
export class Level {
  /** Slot of the oldest order (first to fill). */
  head = 0;
  /** Slot of the newest order. */
  tail = 0;
  /** Total open quantity at this price. */
  quantity = 0;
  /** Number of orders at this price. */
  count = 0;
  /** An empty level at `price`. */
  constructor(readonly price: number) {}
}

/** One side of a book: its price levels, and which is best. */
export class BookSide {
  /** The active prices, in order, each with the slot of its level in #pool (price-ladder.ts). */
  readonly #ladder: PriceLadder;
  readonly #pool: (Level | undefined)[] = [undefined];
  readonly #freeSlots: number[] = [];

  /** An empty side whose orders rest in `orders`. */
  constructor(readonly side: Side, readonly orders: OrderTable) {
    this.#ladder = new PriceLadder(side === "buy");
  }

  /** The active prices, sorted so that the best is last (bids ascending, asks descending): a copy. */
  get prices(): number[] {
    const prices: number[] = [];
    for (let level = this.best(); level !== undefined; level = this.next(level)) prices.push(level.price);
    return prices.reverse();
  }

  /** Is `a` a better price than `b` on this side? */
  better(a: number, b: number): boolean {
    return this.side === "buy" ? a > b : a < b;
  }

  /** The level at `price`, if any order rests there. */
  level(price: number): Level | undefined {
    const slot = this.#ladder.get(price);
    return slot === 0 ? undefined : this.#pool[slot];
  }

  /** The best level (highest bid, lowest ask), if any. */
  best(): Level | undefined {
    const price = this.#ladder.best;
    return price === 0 ? undefined : this.level(price);
  }

  /** The level next worse than `level` (a level of this side), if any: walks the side from best() on. */
  next(level: Level): Level | undefined {
    const price = this.#ladder.after(level.price);
    return price === 0 ? undefined : this.level(price);
  }

  /** The level `rank` places from the best (0 = best): a walk of `rank` steps (next() walks them all). */
  levelAt(rank: number): Level | undefined {
    let level = this.best();
    for (let i = 0; i < rank && level !== undefined; i++) level = this.next(level);
    return level;
  }

  /** Links the order in `slot` at the back of its price's queue. */
  add(slot: number): void {
    const orders = this.orders;
    const price = orders.price[slot];
    const level = this.level(price) ?? this.#open(price);
    orders.level[slot] = level;
    orders.previous[slot] = level.tail;
    orders.next[slot] = 0;
    if (level.tail !== 0) orders.next[level.tail] = slot;
    else level.head = slot;
    level.tail = slot;
    level.quantity += orders.quantity[slot];
    level.count++;
  }

  /** Unlinks the order in `slot` from its level (and drops the level, if now empty). */
  remove(slot: number): void {
    const orders = this.orders;
    const level = orders.level[slot]!;
    const previous = orders.previous[slot];
    const next = orders.next[slot];
    if (previous !== 0) orders.next[previous] = next;
    else level.head = next;
    if (next !== 0) orders.previous[next] = previous;
    else level.tail = previous;
    level.quantity -= orders.quantity[slot];
    level.count--;
    if (level.count === 0) this.#close(level.price);
  }

  /** A new, empty level at `price`. */
  #open(price: number): Level {
    const level = new Level(price);
    const slot = this.#freeSlots.pop() ?? this.#pool.length;
    this.#pool[slot] = level;
    this.#ladder.add(price, slot);
    return level;
  }

  /** Drops the (now empty) level at `price`. */
  #close(price: number): void {
    const slot = this.#ladder.delete(price);
    this.#pool[slot] = undefined;
    this.#freeSlots.push(slot);
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
  /** Resting orders, both sides (`slotOf` an id is O(1) for cancel and modify). */
  readonly orders: OrderTable = new OrderTable();
  /** Buy orders. */
  readonly bids: BookSide = new BookSide("buy", this.orders);
  /** Sell orders. */
  readonly asks: BookSide = new BookSide("sell", this.orders);
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

  /** Rests a new order behind the orders already at its price; returns its slot. */
  rest(id: number, account: number, side: Side, price: number, quantity: number, postOnly: boolean, selfTrade: SelfTradePrevention): number {
    const slot = this.orders.add(id, account, side, price, quantity, postOnly, selfTrade);
    this.side(side).add(slot);
    return slot;
  }

  /** Takes `quantity` from the order in `slot`, and the order off the book when none is left. */
  fill(slot: number, quantity: number): void {
    const orders = this.orders;
    orders.quantity[slot] -= quantity;
    orders.level[slot]!.quantity -= quantity;
    if (orders.quantity[slot] === 0) this.take(slot);
  }

  /** Takes the order in `slot` off the book. */
  take(slot: number): void {
    this.side(this.orders.side(slot)).remove(slot);
    this.orders.release(slot);
  }

  /** Lowers the order in `slot` to `quantity`, keeping its place in the queue. */
  reduce(slot: number, quantity: number): void {
    const orders = this.orders;
    orders.level[slot]!.quantity -= orders.quantity[slot] - quantity;
    orders.quantity[slot] = quantity;
  }

  /** Moves the order in `slot` to `price` with `quantity`, behind the orders already there. */
  reprice(slot: number, price: number, quantity: number): void {
    const side = this.side(this.orders.side(slot));
    side.remove(slot);
    this.orders.price[slot] = price;
    this.orders.quantity[slot] = quantity;
    side.add(slot);
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
