/**
 * The book as plain data, in canonical order (bids best first, asks best first, each level
 * oldest first; stops in arrival order): what snapshots store and the state hash digests.
 */
import { OrderBook } from "./book.ts";
import type { BookSide, StopOrder } from "./book.ts";
import type { Instrument, SelfTradePrevention, Side } from "./types.ts";

/** A book as JSON-compatible data (what snapshots hold). */
export interface BookData {
  /** The instrument's symbol. */
  symbol: string;
  /** Price of the last trade. */
  lastTradePrice: number;
  /** [orderId, account, price, quantity, postOnly, selfTrade] in priority order. */
  bids: [number, number, number, number, boolean, SelfTradePrevention][];
  /** The same for the asks. */
  asks: [number, number, number, number, boolean, SelfTradePrevention][];
  /** Stop orders waiting, in arrival order. */
  stops: StopOrder[];
  /** One-cancels-the-other pairs, [limit leg, stop leg], in the order they were linked (absent when none). */
  oco?: [number, number][];
}

function sideData(side: BookSide): BookData["bids"] {
  const rows: BookData["bids"] = [];
  const orders = side.orders;
  for (let level = side.best(); level !== undefined; level = side.next(level)) {
    for (let slot = level.head; slot !== 0; slot = orders.next[slot]) {
      rows.push([orders.id[slot], orders.account[slot], orders.price[slot], orders.quantity[slot], orders.postOnly(slot), orders.selfTrade(slot)]);
    }
  }
  return rows;
}

/** The book as snapshot data. */
export function bookToData(book: OrderBook): BookData {
  return {
    symbol: book.instrument.symbol,
    lastTradePrice: book.lastTradePrice,
    bids: sideData(book.bids),
    asks: sideData(book.asks),
    stops: [...book.stops.values()].map((stop) => ({ ...stop })),
    // Only when there are pairs: the data (and hash) of a book without any stays as it was.
    ...(book.oco.size === 0 ? {} : { oco: [...book.oco].filter(([id]) => book.orders.has(id)) }),
  };
}

/** A book rebuilt from snapshot data. */
export function bookFromData(data: BookData, instrument: Instrument): OrderBook {
  const book = new OrderBook(instrument);
  book.lastTradePrice = data.lastTradePrice;
  const load = (side: Side, rows: BookData["bids"]) => {
    for (const [id, account, price, quantity, postOnly, selfTrade] of rows) book.rest(id, account, side, price, quantity, postOnly, selfTrade);
  };
  load("buy", data.bids);
  load("sell", data.asks);
  for (const stop of data.stops) book.stops.set(stop.id, { ...stop });
  for (const [limit, stop] of data.oco ?? []) {
    book.oco.set(limit, stop);
    book.oco.set(stop, limit);
  }
  return book;
}

/** SHA-256 of the canonical book data, hex: equal books, equal hashes. */
export async function stateHash(book: OrderBook): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(bookToData(book)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
