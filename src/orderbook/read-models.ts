/**
 * Read models for market data, kept as inline projections over the order-book events
 * (so they are current right after each append and rebuilt from the log at open):
 * L2 depth and best bid/offer, the trade tape, and open orders per account.
 *
 * They follow the same rules as `evolve` from the events alone, so a test can check
 * them against the book itself.
 */
import type { RecordedEvent } from "../core/events.ts";
import type { InlineProjection } from "../core/event-store.ts";
import type { OrderBook } from "./book.ts";
import type { OrderBookEvent } from "./events.ts";
import type { Side } from "./types.ts";
import { invalid } from "../core/check.ts";

/** One price level of a depth view. */
export interface DepthLevel {
  /** Price in ticks. */
  price: number;
  /** Total quantity in lots. */
  quantity: number;
  /** Number of orders. */
  orders: number;
}

/** The top levels of both sides, best first. */
export interface Depth {
  /** Bids, highest first. */
  bids: DepthLevel[];
  /** Asks, lowest first. */
  asks: DepthLevel[];
}

/** A trade on the tape. */
export interface Trade {
  /** Global position of the trade event. */
  position: number;
  /** Price in ticks. */
  price: number;
  /** Quantity in lots. */
  quantity: number;
  /** The incoming (taker) order's side. */
  takerSide: Side;
  /** The resting order's id. */
  makerOrderId: number;
  /** The incoming order's id. */
  takerOrderId: number;
}

/** What filling a quantity against the book would take (see `bookQuote`). */
export interface Quote {
  /** The side of the order being quoted: a buy fills against the asks, a sell against the bids. */
  side: Side;
  /** The quantity asked for. */
  quantity: number;
  /** How much of it the book holds (at most `quantity`). */
  filled: number;
  /** Sum of price × quantity over what fills, exact (a BigInt: it may pass 2^53). */
  cost: bigint;
  /** `cost / filled`, the one float here; undefined when nothing fills. */
  averagePrice: number | undefined;
  /** The last (worst) price it reaches; undefined when nothing fills. */
  worstPrice: number | undefined;
  /** Whether the book holds all of `quantity`. */
  complete: boolean;
}

/**
 * Quotes a `side` order of `quantity` against `levels` of the opposite side, best first:
 * what it would cost and at what average price, were it filled from the depth as it stands
 * (no self-trade prevention, no stops triggered along the way).
 */
export function quoteLevels(levels: Iterable<{ price: number; quantity: number }>, side: Side, quantity: number): Quote {
  if (side !== "buy" && side !== "sell") invalid("quote", "side", `must be "buy" or "sell", got ${String(side)}`);
  if (!Number.isSafeInteger(quantity) || quantity <= 0) invalid("quote", "quantity", `must be a positive integer, got ${quantity}`);
  let filled = 0;
  let cost = 0n;
  let worstPrice: number | undefined;
  for (const level of levels) {
    if (filled === quantity) break;
    const take = Math.min(quantity - filled, level.quantity);
    filled += take;
    cost += BigInt(level.price) * BigInt(take);
    worstPrice = level.price;
  }
  const averagePrice = filled === 0 ? undefined : Number(cost) / filled;
  return { side, quantity, filled, cost, averagePrice, worstPrice, complete: filled === quantity };
}

/** Quotes a `side` order of `quantity` against a live book (see `quoteLevels`). */
export function bookQuote(book: OrderBook, side: Side, quantity: number): Quote {
  const opposite = side === "buy" ? book.asks : book.bids;
  function* levels() {
    for (let level = opposite.best(); level !== undefined; level = opposite.next(level)) yield level;
  }
  return quoteLevels(levels(), side, quantity);
}

/** The top `levels` of each side, read straight from a book. */
export function bookDepth(book: OrderBook, levels: number): Depth {
  const read = (side: OrderBook["bids"]) => {
    const rows: DepthLevel[] = [];
    for (let level = side.best(); level !== undefined && rows.length < levels; level = side.next(level)) {
      rows.push({ price: level.price, quantity: level.quantity, orders: level.count });
    }
    return rows;
  };
  return { bids: read(book.bids), asks: read(book.asks) };
}

interface OpenOrder {
  account: number;
  side: Side;
  price: number;
  remaining: number;
}

/**
 * One book's market data, maintained from its events.
 *
 * A level that empties stays in its Map (with no orders), and so does an account's empty
 * set of open orders, until the empty ones outnumber the rest: prices and accounts come
 * back, and V8's and JavaScriptCore's Maps keep a deleted key's entry in its bucket chain
 * until they rebuild, so deleting and adding one key again and again slows every lookup of
 * it (integer-index.ts has the figures).
 */
class MarketData {
  levels = { buy: new Map<number, DepthLevel>(), sell: new Map<number, DepthLevel>() };
  readonly open = new Map<number, OpenOrder>();
  byAccount = new Map<number, Set<number>>();
  /** Empty levels and empty account sets still in their Maps. */
  #empty = 0;
  readonly stops = new Map<number, { account: number; side: Side; price: number; quantity: number; rests: boolean }>();
  readonly tape: Trade[] = [];

  constructor(readonly tapeSize: number) {}

  rest(orderId: number, order: OpenOrder): void {
    this.open.set(orderId, order);
    let ids = this.byAccount.get(order.account);
    if (ids === undefined) this.byAccount.set(order.account, ids = new Set());
    else if (ids.size === 0) this.#empty--;
    ids.add(orderId);
    this.#adjust(order.side, order.price, order.remaining, 1);
  }

  reduce(orderId: number, quantity: number): void {
    const order = this.open.get(orderId);
    if (order === undefined) return;
    order.remaining -= quantity;
    this.#adjust(order.side, order.price, -quantity, 0);
    if (order.remaining === 0) this.remove(orderId);
  }

  remove(orderId: number): void {
    const order = this.open.get(orderId);
    if (order === undefined) return;
    this.#adjust(order.side, order.price, -order.remaining, -1);
    this.open.delete(orderId);
    const ids = this.byAccount.get(order.account)!;
    ids.delete(orderId);
    if (ids.size === 0) this.#emptied();
  }

  #adjust(side: Side, price: number, quantity: number, orders: number): void {
    const levels = this.levels[side];
    let level = levels.get(price);
    if (level === undefined) levels.set(price, level = { price, quantity: 0, orders: 0 });
    else if (level.orders === 0) this.#empty--;
    level.quantity += quantity;
    level.orders += orders;
    if (level.orders === 0) this.#emptied();
  }

  /** Counts one more empty entry; drops them all once they outnumber the others. */
  #emptied(): void {
    this.#empty++;
    const entries = this.levels.buy.size + this.levels.sell.size + this.byAccount.size;
    if (this.#empty <= 64 || 2 * this.#empty <= entries) return;
    const levels = (side: Map<number, DepthLevel>) => new Map([...side].filter(([, level]) => level.orders > 0));
    this.levels = { buy: levels(this.levels.buy), sell: levels(this.levels.sell) };
    this.byAccount = new Map([...this.byAccount].filter(([, ids]) => ids.size > 0));
    this.#empty = 0;
  }

  apply(event: RecordedEvent<OrderBookEvent>): void {
    switch (event.type) {
      case "OrderAccepted": {
        const d = event.data;
        if (d.kind === "stop-limit" || d.kind === "stop-market") {
          this.stops.set(d.orderId, {
            account: d.account, side: d.side, price: d.price, quantity: d.quantity,
            rests: d.kind === "stop-limit" && d.timeInForce === "GTC",
          });
        } else if (d.kind === "limit" && d.timeInForce === "GTC") {
          this.rest(d.orderId, { account: d.account, side: d.side, price: d.price, remaining: d.quantity });
        }
        break;
      }
      case "TradeExecuted": {
        const d = event.data;
        this.reduce(d.makerOrderId, d.quantity);
        this.reduce(d.takerOrderId, d.quantity);
        this.tape.push({
          position: event.position, price: d.price, quantity: d.quantity, takerSide: d.takerSide,
          makerOrderId: d.makerOrderId, takerOrderId: d.takerOrderId,
        });
        if (this.tape.length > this.tapeSize * 2) this.tape.splice(0, this.tape.length - this.tapeSize);
        break;
      }
      case "OrderCancelled":
      case "OrderExpired":
        this.remove(event.data.orderId);
        this.stops.delete(event.data.orderId);
        break;
      case "OrderModified": {
        const d = event.data;
        // In place: the order stays open for the same account, only its level changes.
        const order = this.open.get(d.orderId)!;
        this.#adjust(order.side, order.price, -order.remaining, -1);
        order.price = d.price;
        order.remaining = d.quantity;
        this.#adjust(order.side, order.price, order.remaining, 1);
        break;
      }
      case "StopTriggered": {
        const stop = this.stops.get(event.data.orderId)!;
        this.stops.delete(event.data.orderId);
        if (stop.rests) this.rest(event.data.orderId, { account: stop.account, side: stop.side, price: stop.price, remaining: stop.quantity });
        break;
      }
    }
  }
}

/** Market data for every book in the store, kept by an inline projection. */
export interface MarketDataProjection extends InlineProjection<OrderBookEvent> {
  /** Top `levels` per side of a stream's book, best first. */
  depth(streamId: string, levels: number): Depth;
  /** Best bid and offer, or undefined for an empty side. */
  bestBidOffer(streamId: string): { bid?: DepthLevel; ask?: DepthLevel };
  /** The most recent trades, newest last. */
  trades(streamId: string, count?: number): Trade[];
  /** Open (resting) order ids of an account in a stream's book. */
  openOrders(streamId: string, account: number): number[];
  /** What a `side` order of `quantity` would cost against the stream's depth (see `quoteLevels`). */
  quote(streamId: string, side: Side, quantity: number): Quote;
}

/** Market data for every book in the store; `tapeSize` trades are kept per book. */
export function marketDataProjection(tapeSize = 100): MarketDataProjection {
  const books = new Map<string, MarketData>();
  const of = (streamId: string) => {
    let data = books.get(streamId);
    if (data === undefined) books.set(streamId, data = new MarketData(tapeSize));
    return data;
  };
  const top = (levels: Map<number, DepthLevel>, side: Side, count: number) =>
    [...levels.values()].filter((l) => l.orders > 0).sort((a, b) => side === "buy" ? b.price - a.price : a.price - b.price)
      .slice(0, count).map((l) => ({ ...l }));
  return {
    name: "market-data",
    apply: (event) => of(event.streamId).apply(event),
    depth(streamId, levels) {
      const data = of(streamId);
      return { bids: top(data.levels.buy, "buy", levels), asks: top(data.levels.sell, "sell", levels) };
    },
    bestBidOffer(streamId) {
      const depth = this.depth(streamId, 1);
      return { bid: depth.bids[0], ask: depth.asks[0] };
    },
    trades(streamId, count = tapeSize) {
      return of(streamId).tape.slice(-count);
    },
    openOrders(streamId, account) {
      return [...(of(streamId).byAccount.get(account) ?? [])].sort((a, b) => a - b);
    },
    quote(streamId, side, quantity) {
      const opposite = side === "buy" ? "sell" : "buy";
      return quoteLevels(top(of(streamId).levels[opposite], opposite, Infinity), side, quantity);
    },
  };
}
