/**
 * How the decider makes its events: as new objects (`decide`), or lent (`decideLent`).
 *
 * Lent events are the maker's own, refilled in place: one list, and one event object with
 * its data object per event of a type in a command, kept from the commands before. So a
 * command on the lent path makes no object once its shapes have been seen. They stay
 * valid until the next `begin`, which the decider calls at the start of each
 * `decideLent`: the command handler's lent path (CommandHandler.executeLent) encodes them
 * into the WAL's ring and folds them into the book before it decides again.
 *
 * New events are made where `decide` always made them: the wrapper literal here, the data
 * with `new` (event-data.ts says why not a literal). Lent ones are made by `keep`, another
 * allocation site: they live as long as the engine, and V8 tenures the objects of a site
 * most of whose objects survive, which must not happen to the new ones.
 */
import { refill } from "../core/events.ts";
import { AcceptedData, CancelledData, ExpiredData, LinkedData, ModifiedData, RejectedData, TradeData, TriggeredData } from "./event-data.ts";
import type {
  OcoLinkedData,
  OrderAcceptedData,
  OrderBookEvent,
  OrderCancelledData,
  OrderExpiredData,
  OrderModifiedData,
  OrderRejectedData,
  StopTriggeredData,
  TradeExecutedData,
} from "./events.ts";

type Events = OrderBookEvent[];
type Typed<T extends OrderBookEvent["type"]> = Extract<OrderBookEvent, { type: T }>;

const fillAccepted = refill(AcceptedData);
const fillRejected = refill(RejectedData);
const fillTrade = refill(TradeData);
const fillCancelled = refill(CancelledData);
const fillExpired = refill(ExpiredData);
const fillModified = refill(ModifiedData);
const fillTriggered = refill(TriggeredData);
const fillLinked = refill(LinkedData);

/**
 * How many events of a type the maker keeps to lend again: a command with more (a sweep of
 * the book) makes new ones for the rest, rather than keep them for the engine's life.
 */
const MAX_KEPT = 1024;

/** One type's lent events: those a command used so far, then the ones it may refill. */
class Kept<E extends OrderBookEvent> {
  readonly events: E[] = [];
  used = 0;

  /** The next event to refill, or undefined when every one kept is in use. */
  next(): E | undefined {
    return this.used < this.events.length ? this.events[this.used++] : undefined;
  }

  /** A new event, kept for later commands while there is room; returns it. */
  keep(type: E["type"], data: E["data"]): E {
    const event = { type, data } as E;
    if (this.events.length < MAX_KEPT) {
      this.events.push(event);
      this.used++;
    }
    return event;
  }
}

/** Makes the decider's events, new or lent (see the module's comment). */
export class EventMaker {
  readonly lend: boolean;
  readonly #accepted = new Kept<Typed<"OrderAccepted">>();
  readonly #rejected = new Kept<Typed<"OrderRejected">>();
  readonly #trades = new Kept<Typed<"TradeExecuted">>();
  readonly #cancelled = new Kept<Typed<"OrderCancelled">>();
  readonly #expired = new Kept<Typed<"OrderExpired">>();
  readonly #modified = new Kept<Typed<"OrderModified">>();
  readonly #triggered = new Kept<Typed<"StopTriggered">>();
  readonly #linked = new Kept<Typed<"OcoLinked">>();
  /** The lent list of events: a command's decide builds one. */
  readonly #list: Events = [];

  constructor(lend: boolean) {
    this.lend = lend;
  }

  /** Lent events: the last command's may be refilled from here on. */
  begin(): void {
    this.#accepted.used = this.#rejected.used = this.#trades.used = this.#cancelled.used = 0;
    this.#expired.used = this.#modified.used = this.#triggered.used = this.#linked.used = 0;
  }

  /** A command's list of events, starting with `first` (more are pushed). */
  list(first: OrderBookEvent): Events {
    // A new list starts as an array of its first event, not as `[]` grown by a push: V8
    // gives a pushed-to empty array room for 16 elements (144 bytes), most of a command's
    // allocation when it has one event (issue 16's note).
    if (!this.lend) return [first];
    const list = this.#list;
    // Setting an array's length is a call into the engine: most commands have one event.
    if (list.length !== 1) list.length = 1;
    list[0] = first;
    return list;
  }

  /** A command's list when it has no events. */
  none(): Events {
    if (!this.lend) return [];
    const list = this.#list;
    if (list.length !== 0) list.length = 0;
    return list;
  }

  accepted(
    orderId: number,
    account: number,
    side: OrderAcceptedData["side"],
    kind: OrderAcceptedData["kind"],
    price: number,
    stopPrice: number,
    quantity: number,
    timeInForce: OrderAcceptedData["timeInForce"],
    postOnly: boolean,
    selfTrade: OrderAcceptedData["selfTrade"],
  ): OrderBookEvent {
    if (!this.lend) {
      return { type: "OrderAccepted", data: new AcceptedData(orderId, account, side, kind, price, stopPrice, quantity, timeInForce, postOnly, selfTrade) };
    }
    const event = this.#accepted.next();
    if (event === undefined) {
      return this.#accepted.keep("OrderAccepted", new AcceptedData(orderId, account, side, kind, price, stopPrice, quantity, timeInForce, postOnly, selfTrade));
    }
    fillAccepted.call(event.data, orderId, account, side, kind, price, stopPrice, quantity, timeInForce, postOnly, selfTrade);
    return event;
  }

  rejected(orderId: number, account: number, command: OrderRejectedData["command"], reason: OrderRejectedData["reason"]): OrderBookEvent {
    if (!this.lend) return { type: "OrderRejected", data: new RejectedData(orderId, account, command, reason) };
    const event = this.#rejected.next();
    if (event === undefined) return this.#rejected.keep("OrderRejected", new RejectedData(orderId, account, command, reason));
    fillRejected.call(event.data, orderId, account, command, reason);
    return event;
  }

  trade(
    price: number,
    quantity: number,
    makerOrderId: number,
    makerAccount: number,
    takerOrderId: number,
    takerAccount: number,
    takerSide: TradeExecutedData["takerSide"],
  ): OrderBookEvent {
    if (!this.lend) {
      return { type: "TradeExecuted", data: new TradeData(price, quantity, makerOrderId, makerAccount, takerOrderId, takerAccount, takerSide) };
    }
    const event = this.#trades.next();
    if (event === undefined) {
      return this.#trades.keep("TradeExecuted", new TradeData(price, quantity, makerOrderId, makerAccount, takerOrderId, takerAccount, takerSide));
    }
    fillTrade.call(event.data, price, quantity, makerOrderId, makerAccount, takerOrderId, takerAccount, takerSide);
    return event;
  }

  cancelled(orderId: number, account: number, remaining: number, reason: OrderCancelledData["reason"]): OrderBookEvent {
    if (!this.lend) return { type: "OrderCancelled", data: new CancelledData(orderId, account, remaining, reason) };
    const event = this.#cancelled.next();
    if (event === undefined) return this.#cancelled.keep("OrderCancelled", new CancelledData(orderId, account, remaining, reason));
    fillCancelled.call(event.data, orderId, account, remaining, reason);
    return event;
  }

  expired(orderId: number, account: number, remaining: number, reason: OrderExpiredData["reason"]): OrderBookEvent {
    if (!this.lend) return { type: "OrderExpired", data: new ExpiredData(orderId, account, remaining, reason) };
    const event = this.#expired.next();
    if (event === undefined) return this.#expired.keep("OrderExpired", new ExpiredData(orderId, account, remaining, reason));
    fillExpired.call(event.data, orderId, account, remaining, reason);
    return event;
  }

  modified(orderId: number, account: number, price: number, quantity: number, keptPriority: OrderModifiedData["keptPriority"]): OrderBookEvent {
    if (!this.lend) return { type: "OrderModified", data: new ModifiedData(orderId, account, price, quantity, keptPriority) };
    const event = this.#modified.next();
    if (event === undefined) return this.#modified.keep("OrderModified", new ModifiedData(orderId, account, price, quantity, keptPriority));
    fillModified.call(event.data, orderId, account, price, quantity, keptPriority);
    return event;
  }

  triggered(orderId: number, account: number, lastTradePrice: StopTriggeredData["lastTradePrice"]): OrderBookEvent {
    if (!this.lend) return { type: "StopTriggered", data: new TriggeredData(orderId, account, lastTradePrice) };
    const event = this.#triggered.next();
    if (event === undefined) return this.#triggered.keep("StopTriggered", new TriggeredData(orderId, account, lastTradePrice));
    fillTriggered.call(event.data, orderId, account, lastTradePrice);
    return event;
  }

  linked(orderId: number, account: number, stopOrderId: OcoLinkedData["stopOrderId"]): OrderBookEvent {
    if (!this.lend) return { type: "OcoLinked", data: new LinkedData(orderId, account, stopOrderId) };
    const event = this.#linked.next();
    if (event === undefined) return this.#linked.keep("OcoLinked", new LinkedData(orderId, account, stopOrderId));
    fillLinked.call(event.data, orderId, account, stopOrderId);
    return event;
  }
}
