/**
 * Fixed-layout WAL codecs for the order-book events: numbers as float64 (exact for every
 * safe integer), enums and flags as one byte (an enum member's code is its index in the
 * list in types.ts, which only ever grows at the end). No JSON on the hot path or on replay.
 *
 * Each codec is laid out by hand, one statement per field at a fixed offset. A generic
 * codec looping over a field list read each field by a computed key, a megamorphic load:
 * 55-75 ns to encode a TradeExecuted against 3-12 by hand, 26-28 ns to decode against
 * 12-15 (Node, Deno, Bun). Decoding builds the data with one constructor per type (plainData
 * says why not an object literal), keys in the layout's order.
 *
 * The layouts (offset: field, f64 unless marked; the round-trip test holds them too):
 *
 *   1 OrderAccepted (45 B)  0 orderId, 8 account, 16 side u8, 17 kind u8, 18 price,
 *                           26 stopPrice, 34 quantity, 42 timeInForce u8, 43 postOnly u8,
 *                           44 selfTrade u8
 *   2 OrderRejected (18 B)  0 orderId, 8 account, 16 command u8, 17 reason u8
 *   3 TradeExecuted (49 B)  0 price, 8 quantity, 16 makerOrderId, 24 makerAccount,
 *                           32 takerOrderId, 40 takerAccount, 48 takerSide u8
 *   4 OrderCancelled (25 B) 0 orderId, 8 account, 16 remaining, 24 reason u8
 *   5 OrderExpired (25 B)   0 orderId, 8 account, 16 remaining, 24 reason u8
 *   6 OrderModified (33 B)  0 orderId, 8 account, 16 price, 24 quantity, 32 keptPriority u8
 *   7 StopTriggered (24 B)  0 orderId, 8 account, 16 lastTradePrice
 *   8 OcoLinked (24 B)      0 orderId, 8 account, 16 stopOrderId
 */
import type { DataCodec } from "../wal/codec.ts";
export type { DataCodec } from "../wal/codec.ts";
import type {
  OcoLinkedData,
  OrderAcceptedData,
  OrderCancelledData,
  OrderExpiredData,
  OrderModifiedData,
  OrderRejectedData,
  StopTriggeredData,
  TradeExecutedData,
} from "./events.ts";
import { CANCEL_REASONS, COMMAND_NAMES, EXPIRE_REASONS, KINDS, REJECT_REASONS, SELF_TRADE, SIDES, TIMES_IN_FORCE } from "./types.ts";

/** An enum stored as one byte: its member's index. */
class ByteEnum<T extends string> {
  readonly #members: readonly T[];

  constructor(members: readonly T[]) {
    this.#members = members;
  }

  /**
   * The code of `value`; RangeError naming `field` if it is not a member. A walk of the
   * members: the decider's values are the same interned strings, so each comparison is
   * one of pointers, and the common members come first (a Map lookup cost more).
   */
  code(value: T, field: string): number {
    const members = this.#members;
    for (let code = 0; code < members.length; code++) if (members[code] === value) return code;
    throw new RangeError(`${field}: ${JSON.stringify(value)} is not one of ${members.join(", ")}`);
  }

  /** The member of code `code`; RangeError naming `field` if there is none. */
  member(code: number, field: string): T {
    if (code >= this.#members.length) throw new RangeError(`${field}: bad code ${code}`);
    return this.#members[code]!;
  }
}

const SIDE = new ByteEnum(SIDES);
const KIND = new ByteEnum(KINDS);
const TIME_IN_FORCE = new ByteEnum(TIMES_IN_FORCE);
const SELF_TRADE_PREVENTION = new ByteEnum(SELF_TRADE);
const COMMAND = new ByteEnum(COMMAND_NAMES);
const REJECT_REASON = new ByteEnum(REJECT_REASONS);
const CANCEL_REASON = new ByteEnum(CANCEL_REASONS);
const EXPIRE_REASON = new ByteEnum(EXPIRE_REASONS);

function flag(code: number, field: string): boolean {
  if (code > 1) throw new RangeError(`${field}: bad flag ${code}`);
  return code === 1;
}

function checkLength(type: string, size: number, length: number): void {
  if (length !== size) throw new RangeError(`${type} data is ${size} bytes, got ${length}`);
}

/**
 * Decoded data is made with `new`, never with an object literal, for the reason records are
 * (initRecord in core/events.ts): V8 keeps survival feedback per literal and, once most of
 * a literal's objects survive a young-generation collection, makes all of them in the old
 * generation. A replay holds each chunk of 4,096 events while it decodes the next, so early
 * on most of them survive: the literals were tenured and every event's data after that was
 * made in the old generation and died there. The prototype is Object.prototype, so the
 * data is a plain object to whoever reads it.
 */
function plainData<A extends unknown[], D>(init: (this: D, ...fields: A) => void): new (...fields: A) => D {
  init.prototype = Object.prototype;
  return init as unknown as new (...fields: A) => D;
}

const OrderAcceptedObject = plainData(function (
  this: OrderAcceptedData,
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
) {
  this.orderId = orderId;
  this.account = account;
  this.side = side;
  this.kind = kind;
  this.price = price;
  this.stopPrice = stopPrice;
  this.quantity = quantity;
  this.timeInForce = timeInForce;
  this.postOnly = postOnly;
  this.selfTrade = selfTrade;
});

const OrderRejectedObject = plainData(function (
  this: OrderRejectedData,
  orderId: number,
  account: number,
  command: OrderRejectedData["command"],
  reason: OrderRejectedData["reason"],
) {
  this.orderId = orderId;
  this.account = account;
  this.command = command;
  this.reason = reason;
});

const TradeExecutedObject = plainData(function (
  this: TradeExecutedData,
  price: number,
  quantity: number,
  makerOrderId: number,
  makerAccount: number,
  takerOrderId: number,
  takerAccount: number,
  takerSide: TradeExecutedData["takerSide"],
) {
  this.price = price;
  this.quantity = quantity;
  this.makerOrderId = makerOrderId;
  this.makerAccount = makerAccount;
  this.takerOrderId = takerOrderId;
  this.takerAccount = takerAccount;
  this.takerSide = takerSide;
});

/** OrderCancelled and OrderExpired data (one shape, two reason lists). */
const OrderClosedObject = plainData(function <R extends string>(
  this: { orderId: number; account: number; remaining: number; reason: R },
  orderId: number,
  account: number,
  remaining: number,
  reason: R,
) {
  this.orderId = orderId;
  this.account = account;
  this.remaining = remaining;
  this.reason = reason;
});

const OrderModifiedObject = plainData(function (
  this: OrderModifiedData,
  orderId: number,
  account: number,
  price: number,
  quantity: number,
  keptPriority: boolean,
) {
  this.orderId = orderId;
  this.account = account;
  this.price = price;
  this.quantity = quantity;
  this.keptPriority = keptPriority;
});

const StopTriggeredObject = plainData(function (this: StopTriggeredData, orderId: number, account: number, lastTradePrice: number) {
  this.orderId = orderId;
  this.account = account;
  this.lastTradePrice = lastTradePrice;
});

const OcoLinkedObject = plainData(function (this: OcoLinkedData, orderId: number, account: number, stopOrderId: number) {
  this.orderId = orderId;
  this.account = account;
  this.stopOrderId = stopOrderId;
});

/** Codecs of events that are three numbers (StopTriggered, OcoLinked). */
function threeNumbers<D extends { orderId: number; account: number }>(
  id: number,
  type: string,
  third: Exclude<keyof D, "orderId" | "account"> & string,
  make: (orderId: number, account: number, value: number) => D,
): DataCodec<D> {
  return {
    id,
    type,
    byteLength: () => 24,
    encode(data, view, at) {
      view.setFloat64(at, data.orderId, true);
      view.setFloat64(at + 8, data.account, true);
      view.setFloat64(at + 16, data[third] as number, true);
    },
    decode(view, at, length) {
      checkLength(type, 24, length);
      return make(view.getFloat64(at, true), view.getFloat64(at + 8, true), view.getFloat64(at + 16, true));
    },
  };
}

const orderAccepted: DataCodec<OrderAcceptedData> = {
  id: 1,
  type: "OrderAccepted",
  byteLength: () => 45,
  encode(data, view, at) {
    view.setFloat64(at, data.orderId, true);
    view.setFloat64(at + 8, data.account, true);
    view.setUint8(at + 16, SIDE.code(data.side, "OrderAccepted.side"));
    view.setUint8(at + 17, KIND.code(data.kind, "OrderAccepted.kind"));
    view.setFloat64(at + 18, data.price, true);
    view.setFloat64(at + 26, data.stopPrice, true);
    view.setFloat64(at + 34, data.quantity, true);
    view.setUint8(at + 42, TIME_IN_FORCE.code(data.timeInForce, "OrderAccepted.timeInForce"));
    view.setUint8(at + 43, data.postOnly ? 1 : 0);
    view.setUint8(at + 44, SELF_TRADE_PREVENTION.code(data.selfTrade, "OrderAccepted.selfTrade"));
  },
  decode(view, at, length) {
    checkLength("OrderAccepted", 45, length);
    return new OrderAcceptedObject(
      view.getFloat64(at, true),
      view.getFloat64(at + 8, true),
      SIDE.member(view.getUint8(at + 16), "OrderAccepted.side"),
      KIND.member(view.getUint8(at + 17), "OrderAccepted.kind"),
      view.getFloat64(at + 18, true),
      view.getFloat64(at + 26, true),
      view.getFloat64(at + 34, true),
      TIME_IN_FORCE.member(view.getUint8(at + 42), "OrderAccepted.timeInForce"),
      flag(view.getUint8(at + 43), "OrderAccepted.postOnly"),
      SELF_TRADE_PREVENTION.member(view.getUint8(at + 44), "OrderAccepted.selfTrade"),
    );
  },
};

const orderRejected: DataCodec<OrderRejectedData> = {
  id: 2,
  type: "OrderRejected",
  byteLength: () => 18,
  encode(data, view, at) {
    view.setFloat64(at, data.orderId, true);
    view.setFloat64(at + 8, data.account, true);
    view.setUint8(at + 16, COMMAND.code(data.command, "OrderRejected.command"));
    view.setUint8(at + 17, REJECT_REASON.code(data.reason, "OrderRejected.reason"));
  },
  decode(view, at, length) {
    checkLength("OrderRejected", 18, length);
    return new OrderRejectedObject(
      view.getFloat64(at, true),
      view.getFloat64(at + 8, true),
      COMMAND.member(view.getUint8(at + 16), "OrderRejected.command"),
      REJECT_REASON.member(view.getUint8(at + 17), "OrderRejected.reason"),
    );
  },
};

const tradeExecuted: DataCodec<TradeExecutedData> = {
  id: 3,
  type: "TradeExecuted",
  byteLength: () => 49,
  encode(data, view, at) {
    view.setFloat64(at, data.price, true);
    view.setFloat64(at + 8, data.quantity, true);
    view.setFloat64(at + 16, data.makerOrderId, true);
    view.setFloat64(at + 24, data.makerAccount, true);
    view.setFloat64(at + 32, data.takerOrderId, true);
    view.setFloat64(at + 40, data.takerAccount, true);
    view.setUint8(at + 48, SIDE.code(data.takerSide, "TradeExecuted.takerSide"));
  },
  decode(view, at, length) {
    checkLength("TradeExecuted", 49, length);
    return new TradeExecutedObject(
      view.getFloat64(at, true),
      view.getFloat64(at + 8, true),
      view.getFloat64(at + 16, true),
      view.getFloat64(at + 24, true),
      view.getFloat64(at + 32, true),
      view.getFloat64(at + 40, true),
      SIDE.member(view.getUint8(at + 48), "TradeExecuted.takerSide"),
    );
  },
};

/** Codecs of an order that left the book with `remaining` for a `reason` (OrderCancelled, OrderExpired). */
function orderClosed<R extends string>(id: number, type: string, reasons: ByteEnum<R>): DataCodec<{ orderId: number; account: number; remaining: number; reason: R }> {
  const field = `${type}.reason`;
  return {
    id,
    type,
    byteLength: () => 25,
    encode(data, view, at) {
      view.setFloat64(at, data.orderId, true);
      view.setFloat64(at + 8, data.account, true);
      view.setFloat64(at + 16, data.remaining, true);
      view.setUint8(at + 24, reasons.code(data.reason, field));
    },
    decode(view, at, length) {
      checkLength(type, 25, length);
      return new OrderClosedObject(
        view.getFloat64(at, true),
        view.getFloat64(at + 8, true),
        view.getFloat64(at + 16, true),
        reasons.member(view.getUint8(at + 24), field),
      );
    },
  };
}

const orderModified: DataCodec<OrderModifiedData> = {
  id: 6,
  type: "OrderModified",
  byteLength: () => 33,
  encode(data, view, at) {
    view.setFloat64(at, data.orderId, true);
    view.setFloat64(at + 8, data.account, true);
    view.setFloat64(at + 16, data.price, true);
    view.setFloat64(at + 24, data.quantity, true);
    view.setUint8(at + 32, data.keptPriority ? 1 : 0);
  },
  decode(view, at, length) {
    checkLength("OrderModified", 33, length);
    return new OrderModifiedObject(
      view.getFloat64(at, true),
      view.getFloat64(at + 8, true),
      view.getFloat64(at + 16, true),
      view.getFloat64(at + 24, true),
      flag(view.getUint8(at + 32), "OrderModified.keptPriority"),
    );
  },
};

/** Fixed-layout WAL codecs of the eight order-book events (ids 1-8): pass them to file storage. */
export const orderBookCodecs: DataCodec[] = [
  orderAccepted,
  orderRejected,
  tradeExecuted,
  orderClosed<OrderCancelledData["reason"]>(4, "OrderCancelled", CANCEL_REASON),
  orderClosed<OrderExpiredData["reason"]>(5, "OrderExpired", EXPIRE_REASON),
  orderModified,
  threeNumbers<StopTriggeredData>(7, "StopTriggered", "lastTradePrice", (orderId, account, lastTradePrice) => new StopTriggeredObject(orderId, account, lastTradePrice)),
  threeNumbers<OcoLinkedData>(8, "OcoLinked", "stopOrderId", (orderId, account, stopOrderId) => new OcoLinkedObject(orderId, account, stopOrderId)),
] as DataCodec[];
