/**
 * The order-book decider. `decide` reads the book and returns every outcome as events
 * (it walks the opposite side in price-time order without changing anything); `evolve`
 * applies events to the book in place. Replaying the events rebuilds the same book.
 * `decideLent` decides the same events, but lent: refilled objects of its own, for the
 * engine's `submitLent` (event-maker.ts).
 *
 * Stop orders: after a trade, the engine sends `trigger-stops` commands; each executes the
 * first stop (in arrival order) that the last trade price reaches, against the book the
 * previous command left, until none is left to trigger.
 */
import type { Decider } from "../core/decider.ts";
import { ValidationError } from "../core/errors.ts";
import { OrderBook } from "./book.ts";
import type { CancelOrder, ModifyOrder, OcoStop, OrderCommand, PlaceOrder } from "./commands.ts";
import { EventMaker } from "./event-maker.ts";
import type { OrderBookEvent } from "./events.ts";
import { DEFAULT_MAX_PRICE, DEFAULT_MAX_QUANTITY, type Instrument, type OrderKind, type RejectReason, type SelfTradePrevention, type Side } from "./types.ts";

type Events = OrderBookEvent[];

const isId = (value: number) => Number.isSafeInteger(value) && value > 0;

/** The taker side of a match: an incoming order, a triggered stop, or a re-priced order. */
interface Taker {
  id: number;
  account: number;
  side: Side;
  /** Limit price, or undefined for a market order. */
  price: number | undefined;
  quantity: number;
  selfTrade: SelfTradePrevention;
}

/**
 * The one Taker, filled in for each match: nearly every command matches, and an object
 * for each was an eighth of a command's allocation. `decide` runs to its end before it
 * is called again, and nothing keeps the taker past it.
 */
const scratchTaker: Taker = { id: 0, account: 0, side: "buy", price: undefined, quantity: 0, selfTrade: "allow" };

function taker(id: number, account: number, side: Side, price: number | undefined, quantity: number, selfTrade: SelfTradePrevention): Taker {
  scratchTaker.id = id;
  scratchTaker.account = account;
  scratchTaker.side = side;
  scratchTaker.price = price;
  scratchTaker.quantity = quantity;
  scratchTaker.selfTrade = selfTrade;
  return scratchTaker;
}

function reject(make: EventMaker, command: "place" | "cancel" | "modify", orderId: number, account: number, reason: RejectReason): Events {
  return make.list(make.rejected(orderId, account, command, reason));
}

function checkPrice(instrument: Instrument, price: number): RejectReason | undefined {
  if (!Number.isSafeInteger(price) || price <= 0) return "invalid-price";
  if (price > (instrument.maxPrice ?? DEFAULT_MAX_PRICE)) return "price-above-max";
  if (price % instrument.tickSize !== 0) return "price-off-tick";
}

function checkQuantity(instrument: Instrument, quantity: number): RejectReason | undefined {
  if (!Number.isSafeInteger(quantity) || quantity <= 0) return "invalid-quantity";
  if (quantity > (instrument.maxQuantity ?? DEFAULT_MAX_QUANTITY)) return "quantity-above-max";
  if (quantity % instrument.lotSize !== 0) return "quantity-off-lot";
}

/**
 * The stop placement guard: a stop the last trade price already reached would trigger at
 * once (a buy stop at or below it, a sell stop at or above it), and a stop-limit whose
 * limit is on the wrong side of its stop (a buy below it, a sell above it) could never
 * fill at the price that triggers it. Before any trade nothing triggers.
 */
function guardStop(book: OrderBook, side: Side, kind: OrderKind, price: number | undefined, stopPrice: number): RejectReason | undefined {
  const last = book.lastTradePrice;
  if (last > 0 && (side === "buy" ? last >= stopPrice : last <= stopPrice)) return "stop-would-trigger";
  if (kind === "stop-limit" && (side === "buy" ? price! < stopPrice : price! > stopPrice)) return "stop-limit-wrong-side";
}

/**
 * Would `quantity` more at `price` on `side` take the level's total past 2^53 - 1, where
 * sums of integers stop being exact? (Per-order bounds alone cannot rule it out.) An
 * order rests with its whole quantity before its trades take from it (evolve), so callers
 * pass the whole quantity, not what would be left after matching.
 */
function overfills(book: OrderBook, side: Side, price: number, quantity: number): boolean {
  return (book.side(side).level(price)?.quantity ?? 0) + quantity > Number.MAX_SAFE_INTEGER;
}

/**
 * Walks the opposite side from its best price, emitting trades (and self-trade
 * cancellations) for `taker`; returns the quantity left unfilled. With `dryRun` it only
 * counts what would fill (for FOK).
 */
function match(book: OrderBook, taker: Taker, events: Events, make: EventMaker, dryRun = false): number {
  const opposite = book.opposite(taker.side);
  let remaining = taker.quantity;
  const limit = taker.price;
  const stp = taker.selfTrade;
  const orders = book.orders;
  for (let level = opposite.best(); level !== undefined && remaining > 0; level = opposite.next(level)) {
    if (limit !== undefined && (taker.side === "buy" ? level.price > limit : level.price < limit)) break;
    for (let maker = level.head; maker !== 0 && remaining > 0; maker = orders.next[maker]) {
      const makerAccount = orders.account[maker];
      if (stp !== "allow" && makerAccount === taker.account) {
        if (stp === "cancel-resting" || stp === "cancel-both") {
          if (!dryRun) {
            events.push(make.cancelled(orders.id[maker], makerAccount, orders.quantity[maker], "self-trade"));
          }
          if (stp === "cancel-resting") continue;
        }
        if (!dryRun) {
          events.push(make.cancelled(taker.id, taker.account, remaining, "self-trade"));
        }
        return dryRun ? remaining : 0;
      }
      const open = orders.quantity[maker];
      const quantity = remaining < open ? remaining : open;
      remaining -= quantity;
      if (!dryRun) {
        events.push(make.trade(level.price, quantity, orders.id[maker], makerAccount, taker.id, taker.account, taker.side));
      }
    }
  }
  return remaining;
}

/** Matches `taker` and ends a non-resting remainder with an expiry. */
function execute(book: OrderBook, taker: Taker, timeInForce: "GTC" | "IOC" | "FOK", events: Events, make: EventMaker): Events {
  if (timeInForce === "FOK" && match(book, taker, events, make, true) > 0) {
    events.push(make.expired(taker.id, taker.account, taker.quantity, "fok-unfillable"));
    return events;
  }
  const remaining = match(book, taker, events, make);
  if (remaining > 0 && (taker.price === undefined || timeInForce !== "GTC")) {
    const reason = taker.price === undefined ? "market-unfilled" : timeInForce === "FOK" ? "fok-unfillable" : "ioc-unfilled";
    events.push(make.expired(taker.id, taker.account, remaining, reason));
  }
  return events;
}

function place(book: OrderBook, command: PlaceOrder, make: EventMaker): Events {
  const { orderId, account, kind } = command;
  if (!isId(orderId)) return reject(make, "place", orderId, account, "invalid-order-id");
  if (!isId(account)) return reject(make, "place", orderId, account, "invalid-account");
  if (book.hasOrder(orderId)) return reject(make, "place", orderId, account, "duplicate-order-id");
  const quantityProblem = checkQuantity(book.instrument, command.quantity);
  if (quantityProblem) return reject(make, "place", orderId, account, quantityProblem);
  const limited = kind === "limit" || kind === "stop-limit";
  if (limited) {
    if (command.price === undefined) return reject(make, "place", orderId, account, "missing-price");
    const priceProblem = checkPrice(book.instrument, command.price);
    if (priceProblem) return reject(make, "place", orderId, account, priceProblem);
  }
  const stop = kind === "stop-limit" || kind === "stop-market";
  if (stop) {
    if (command.stopPrice === undefined) return reject(make, "place", orderId, account, "invalid-stop-price");
    if (checkPrice(book.instrument, command.stopPrice)) return reject(make, "place", orderId, account, "invalid-stop-price");
    if (command.stopGuard ?? book.instrument.stopGuard ?? false) {
      const guard = guardStop(book, command.side, kind, command.price, command.stopPrice);
      if (guard) return reject(make, "place", orderId, account, guard);
    }
  }
  const timeInForce = command.timeInForce ?? (limited ? "GTC" : "IOC");
  if (!limited && timeInForce === "GTC") {
    // A market order never rests: an explicit GTC is meaningless for it; say so rather than guess.
    return reject(make, "place", orderId, account, "invalid-time-in-force");
  }
  if (command.postOnly) {
    if (kind !== "limit" || timeInForce !== "GTC") return reject(make, "place", orderId, account, "post-only-not-limit");
    if (book.crosses(command.side, command.price!)) return reject(make, "place", orderId, account, "post-only-would-cross");
  }
  if (kind === "limit" && timeInForce === "GTC" && overfills(book, command.side, command.price!, command.quantity)) {
    return reject(make, "place", orderId, account, "level-full");
  }
  if (command.oco !== undefined) {
    if (kind !== "limit" || timeInForce !== "GTC") return reject(make, "place", orderId, account, "oco-not-limit");
    const problem = checkOcoStop(book, command, command.oco);
    if (problem) return reject(make, "place", orderId, account, problem);
  }
  const events = make.list(make.accepted(
    orderId,
    account,
    command.side,
    kind,
    limited ? command.price! : 0,
    stop ? command.stopPrice! : 0,
    command.quantity,
    timeInForce,
    command.postOnly,
    command.selfTrade,
  ));
  if (stop) return events; // waits for the last trade price
  if (command.oco !== undefined) acceptOcoStop(command, command.oco, events, make);
  const price = limited ? command.price : undefined;
  return execute(book, taker(orderId, account, command.side, price, command.quantity, command.selfTrade), timeInForce, events, make);
}

/** Checks the stop leg of an OCO pair whose limit leg passed every check. */
function checkOcoStop(book: OrderBook, limit: PlaceOrder, stop: OcoStop): RejectReason | undefined {
  if (!isId(stop.orderId)) return "invalid-order-id";
  if (stop.orderId === limit.orderId || book.hasOrder(stop.orderId)) return "duplicate-order-id";
  if (checkPrice(book.instrument, stop.stopPrice)) return "invalid-stop-price";
  if (stop.price !== undefined) {
    const priceProblem = checkPrice(book.instrument, stop.price);
    if (priceProblem) return priceProblem;
  }
  if (stop.price === undefined && stop.timeInForce === "GTC") return "invalid-time-in-force";
  // A buy pair buys lower with its limit or higher with its stop; a sell pair the reverse.
  if (limit.side === "buy" ? limit.price! >= stop.stopPrice : limit.price! <= stop.stopPrice) return "oco-invalid-prices";
  // The stop leg is always guarded: a pair whose stop fires at once would be no pair.
  return guardStop(book, limit.side, stop.price === undefined ? "stop-market" : "stop-limit", stop.price, stop.stopPrice);
}

/** Accepts the stop leg of an OCO pair and links it to the limit leg accepted just before. */
function acceptOcoStop(limit: PlaceOrder, stop: OcoStop, events: Events, make: EventMaker): void {
  const limited = stop.price !== undefined;
  events.push(make.accepted(
    stop.orderId,
    limit.account,
    limit.side,
    limited ? "stop-limit" : "stop-market",
    stop.price ?? 0,
    stop.stopPrice,
    limit.quantity,
    stop.timeInForce ?? (limited ? "GTC" : "IOC"),
    false,
    limit.selfTrade,
  ));
  events.push(make.linked(limit.orderId, limit.account, stop.orderId));
}

/**
 * One cancels the other: after a command's events, every OCO leg that traded, triggered or
 * ended has its partner cancelled (reason `oco`), at the end of the command's events.
 * Pairs are the book's and those linked by these very events.
 */
function settleOco(book: OrderBook, events: Events, make: EventMaker): Events {
  const linked = new Map<number, { partner: number; account: number; quantity: number }>();
  const partnerOf = (id: number) => linked.get(id)?.partner ?? book.oco.get(id);
  const ended = new Set<number>();
  const acted: number[] = [];
  for (const event of events) {
    switch (event.type) {
      case "OcoLinked": {
        const d = event.data;
        const stop = events.find((e) => e.type === "OrderAccepted" && e.data.orderId === d.stopOrderId)!;
        const quantity = (stop.data as { quantity: number }).quantity;
        linked.set(d.orderId, { partner: d.stopOrderId, account: d.account, quantity });
        linked.set(d.stopOrderId, { partner: d.orderId, account: d.account, quantity });
        break;
      }
      case "TradeExecuted":
        acted.push(event.data.makerOrderId, event.data.takerOrderId);
        break;
      case "StopTriggered":
        acted.push(event.data.orderId);
        break;
      case "OrderCancelled":
      case "OrderExpired":
        ended.add(event.data.orderId);
        acted.push(event.data.orderId);
        break;
    }
  }
  for (const id of acted) {
    const partner = partnerOf(id);
    if (partner === undefined || ended.has(partner)) continue;
    ended.add(partner);
    const order = book.orders.get(partner) ?? book.stops.get(partner);
    const account = order?.account ?? linked.get(partner)!.account;
    const remaining = order?.quantity ?? linked.get(partner)!.quantity;
    events.push(make.cancelled(partner, account, remaining, "oco"));
  }
  return events;
}

function cancel(book: OrderBook, command: CancelOrder, make: EventMaker): Events {
  const account = command.account ?? 0;
  const orders = book.orders;
  const slot = orders.slotOf(command.orderId);
  const stop = slot === 0 ? book.stops.get(command.orderId) : undefined;
  if (slot === 0 && stop === undefined) return reject(make, "cancel", command.orderId, account, "unknown-order");
  const owner = slot !== 0 ? orders.account[slot] : stop!.account;
  if (command.account !== undefined && command.account !== owner) {
    return reject(make, "cancel", command.orderId, account, "account-mismatch");
  }
  const remaining = slot !== 0 ? orders.quantity[slot] : stop!.quantity;
  return make.list(make.cancelled(command.orderId, owner, remaining, "requested"));
}

function modify(book: OrderBook, command: ModifyOrder, make: EventMaker): Events {
  const orders = book.orders;
  const slot = orders.slotOf(command.orderId);
  if (slot === 0) {
    const reason = book.stops.has(command.orderId) ? "not-modifiable" : "unknown-order";
    return reject(make, "modify", command.orderId, command.account ?? 0, reason);
  }
  const id = command.orderId;
  const account = orders.account[slot];
  if (command.account !== undefined && command.account !== account) {
    return reject(make, "modify", id, command.account, "account-mismatch");
  }
  const price = command.price ?? orders.price[slot];
  const quantity = command.quantity ?? orders.quantity[slot];
  const priceProblem = checkPrice(book.instrument, price);
  if (priceProblem) return reject(make, "modify", id, account, priceProblem);
  const quantityProblem = checkQuantity(book.instrument, quantity);
  if (quantityProblem) return reject(make, "modify", id, account, quantityProblem);
  const samePrice = price === orders.price[slot];
  const open = orders.quantity[slot];
  if (samePrice && quantity === open) return reject(make, "modify", id, account, "no-change");
  const keptPriority = samePrice && quantity < open;
  const side = orders.side(slot);
  if (!keptPriority && orders.postOnly(slot) && book.crosses(side, price)) {
    return reject(make, "modify", id, account, "post-only-would-cross");
  }
  if (!keptPriority && overfills(book, side, price, samePrice ? quantity - open : quantity)) {
    return reject(make, "modify", id, account, "level-full");
  }
  const events = make.list(make.modified(id, account, price, quantity, keptPriority));
  if (keptPriority) return events;
  // Re-priced or grown: it re-enters as the newest order at its price and may trade.
  return execute(book, taker(id, account, side, price, quantity, orders.selfTrade(slot)), "GTC", events, make);
}

function triggerStops(book: OrderBook, make: EventMaker): Events {
  const stop = book.triggeredStop();
  if (stop === undefined) return make.none();
  if (stop.kind === "stop-limit" && stop.timeInForce === "GTC" && overfills(book, stop.side, stop.price, stop.quantity)) {
    // Its level filled up while it waited: it leaves without resting rather than make the
    // level's total inexact.
    return make.list(make.expired(stop.id, stop.account, stop.quantity, "level-full"));
  }
  const events = make.list(make.triggered(stop.id, stop.account, book.lastTradePrice));
  const price = stop.kind === "stop-limit" ? stop.price : undefined;
  return execute(book, taker(stop.id, stop.account, stop.side, price, stop.quantity, stop.selfTrade), stop.timeInForce, events, make);
}

const newEvents = new EventMaker(false);

/** The events `command` causes in `book` (reads the book, never changes it). */
function decide(command: OrderCommand, book: OrderBook): OrderBookEvent[] {
  return decideWith(command, book, newEvents);
}

function decideWith(command: OrderCommand, book: OrderBook, make: EventMaker): OrderBookEvent[] {
  const events = decideAlone(command, book, make);
  // OCO pairs are rare: look for legs only when a pair exists or is being placed.
  return book.oco.size === 0 && (command.type !== "place" || command.oco === undefined) ? events : settleOco(book, events, make);
}

/** The events of `command` before one-cancels-the-other. */
function decideAlone(command: OrderCommand, book: OrderBook, make: EventMaker): OrderBookEvent[] {
  switch (command.type) {
    case "place":
      return place(book, command, make);
    case "cancel":
      return cancel(book, command, make);
    case "modify":
      return modify(book, command, make);
    case "trigger-stops":
      return triggerStops(book, make);
  }
}

/** Applies `event` to `book` in place and returns it. */
function evolve(book: OrderBook, event: OrderBookEvent): OrderBook {
  switch (event.type) {
    case "OrderAccepted": {
      const d = event.data;
      if (d.kind === "stop-limit" || d.kind === "stop-market") {
        book.stops.set(d.orderId, {
          id: d.orderId, account: d.account, side: d.side, kind: d.kind, price: d.price, stopPrice: d.stopPrice,
          quantity: d.quantity, timeInForce: d.timeInForce, selfTrade: d.selfTrade,
        });
      } else if (d.kind === "limit" && d.timeInForce === "GTC") {
        // Rests at once; the trades that follow in the same command take from it.
        book.rest(d.orderId, d.account, d.side, d.price, d.quantity, d.postOnly, d.selfTrade);
      }
      break;
    }
    case "TradeExecuted": {
      const d = event.data;
      if (book.oco.size !== 0) {
        book.unlink(d.makerOrderId);
        book.unlink(d.takerOrderId);
      }
      book.lastTradePrice = d.price;
      book.fill(book.orders.slotOf(d.makerOrderId), d.quantity);
      const taker = book.orders.slotOf(d.takerOrderId);
      if (taker !== 0) book.fill(taker, d.quantity);
      break;
    }
    case "OrderCancelled":
    case "OrderExpired": {
      book.unlink(event.data.orderId);
      const slot = book.orders.slotOf(event.data.orderId);
      if (slot !== 0) book.take(slot);
      else book.stops.delete(event.data.orderId);
      break;
    }
    case "OrderModified": {
      const d = event.data;
      const slot = book.orders.slotOf(d.orderId);
      if (d.keptPriority) book.reduce(slot, d.quantity);
      else book.reprice(slot, d.price, d.quantity);
      break;
    }
    case "StopTriggered": {
      book.unlink(event.data.orderId);
      const stop = book.stops.get(event.data.orderId)!;
      book.stops.delete(stop.id);
      if (stop.kind === "stop-limit" && stop.timeInForce === "GTC") {
        book.rest(stop.id, stop.account, stop.side, stop.price, stop.quantity, false, stop.selfTrade);
      }
      break;
    }
    case "OcoLinked":
      book.oco.set(event.data.orderId, event.data.stopOrderId);
      book.oco.set(event.data.stopOrderId, event.data.orderId);
      break;
    case "OrderRejected":
      break;
  }
  return book;
}

const streamIds = new Map<string, string>();
/** The stream that holds a symbol's book (cached: it is asked for on every command). */
export function bookStreamId(symbol: string): string {
  let streamId = streamIds.get(symbol);
  if (streamId === undefined) {
    streamId = `book-${symbol}`;
    if (streamIds.size < 100_000) streamIds.set(symbol, streamId);
  }
  return streamId;
}
const symbolOf = (streamId: string): string => streamId.slice("book-".length);

/** The order-book decider over a set of instruments; each book is a stream (`book-<symbol>`). */
export function orderBookDecider(instruments: ReadonlyMap<string, Instrument>): Decider<OrderCommand, OrderBook, OrderBookEvent> {
  const lentEvents = new EventMaker(true);
  return {
    initialState(streamId: string): OrderBook {
      const instrument = instruments.get(symbolOf(streamId));
      if (instrument === undefined) {
        throw new ValidationError("order command", [{ path: "symbol", message: `unknown symbol "${symbolOf(streamId)}"` }]);
      }
      return new OrderBook(instrument);
    },
    decide,
    // Lent events are this decider's own (one engine's): valid until its next decideLent.
    decideLent(command: OrderCommand, book: OrderBook): OrderBookEvent[] {
      lentEvents.begin();
      return decideWith(command, book, lentEvents);
    },
    evolve,
    // evolve copies the numbers and strings it needs into the book: a replay may lend it events.
    evolveKeepsNoEvents: true,
  };
}

export { decide as decideOrder, evolve as evolveBook };
