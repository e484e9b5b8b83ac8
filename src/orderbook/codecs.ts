/**
 * Fixed-layout WAL codecs for the order-book events: numbers as float64 (exact for every
 * safe integer), enums and flags as one byte (an enum member's code is its index in the
 * list in types.ts, which only ever grows at the end). No JSON on the hot path or on replay.
 *
 * Each codec is laid out by hand, one statement per field at a fixed offset. A generic
 * codec looping over a field list read each field by a computed key, a megamorphic load:
 * 55-75 ns to encode a TradeExecuted against 3-12 by hand, 26-28 ns to decode against
 * 12-15 (Node, Deno, Bun). Decoding builds the data with one constructor per type
 * (plainData in core/events.ts says why not an object literal), keys in the layout's
 * order; `decodeInto` refills one.
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
import { plainData } from "../core/events.ts";
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
 * Each event type's data is read by one function that sets its fields from the bytes at
 * `at`, in the layout's order. `decode` calls it with `new` (plainData), `decodeInto` on an
 * object `decode` made, for replays that refill one data object per codec
 * (DataCodec.decodeInto): the same reads either way.
 *
 * Decoded data is made with `new` (plainData), never with an object literal: a replay
 * holds each chunk of 4,096 events while it decodes the next, so early on most of them
 * survive, and a literal's objects would all have been made in the old generation from
 * then on.
 */

function readOrderAccepted(this: OrderAcceptedData, view: DataView, at: number): void {
  this.orderId = view.getFloat64(at, true);
  this.account = view.getFloat64(at + 8, true);
  this.side = SIDE.member(view.getUint8(at + 16), "OrderAccepted.side");
  this.kind = KIND.member(view.getUint8(at + 17), "OrderAccepted.kind");
  this.price = view.getFloat64(at + 18, true);
  this.stopPrice = view.getFloat64(at + 26, true);
  this.quantity = view.getFloat64(at + 34, true);
  this.timeInForce = TIME_IN_FORCE.member(view.getUint8(at + 42), "OrderAccepted.timeInForce");
  this.postOnly = flag(view.getUint8(at + 43), "OrderAccepted.postOnly");
  this.selfTrade = SELF_TRADE_PREVENTION.member(view.getUint8(at + 44), "OrderAccepted.selfTrade");
}
const OrderAcceptedObject = plainData(readOrderAccepted);

function readOrderRejected(this: OrderRejectedData, view: DataView, at: number): void {
  this.orderId = view.getFloat64(at, true);
  this.account = view.getFloat64(at + 8, true);
  this.command = COMMAND.member(view.getUint8(at + 16), "OrderRejected.command");
  this.reason = REJECT_REASON.member(view.getUint8(at + 17), "OrderRejected.reason");
}
const OrderRejectedObject = plainData(readOrderRejected);

function readTradeExecuted(this: TradeExecutedData, view: DataView, at: number): void {
  this.price = view.getFloat64(at, true);
  this.quantity = view.getFloat64(at + 8, true);
  this.makerOrderId = view.getFloat64(at + 16, true);
  this.makerAccount = view.getFloat64(at + 24, true);
  this.takerOrderId = view.getFloat64(at + 32, true);
  this.takerAccount = view.getFloat64(at + 40, true);
  this.takerSide = SIDE.member(view.getUint8(at + 48), "TradeExecuted.takerSide");
}
const TradeExecutedObject = plainData(readTradeExecuted);

function readOrderCancelled(this: OrderCancelledData, view: DataView, at: number): void {
  this.orderId = view.getFloat64(at, true);
  this.account = view.getFloat64(at + 8, true);
  this.remaining = view.getFloat64(at + 16, true);
  this.reason = CANCEL_REASON.member(view.getUint8(at + 24), "OrderCancelled.reason");
}

function readOrderExpired(this: OrderExpiredData, view: DataView, at: number): void {
  this.orderId = view.getFloat64(at, true);
  this.account = view.getFloat64(at + 8, true);
  this.remaining = view.getFloat64(at + 16, true);
  this.reason = EXPIRE_REASON.member(view.getUint8(at + 24), "OrderExpired.reason");
}

function readOrderModified(this: OrderModifiedData, view: DataView, at: number): void {
  this.orderId = view.getFloat64(at, true);
  this.account = view.getFloat64(at + 8, true);
  this.price = view.getFloat64(at + 16, true);
  this.quantity = view.getFloat64(at + 24, true);
  this.keptPriority = flag(view.getUint8(at + 32), "OrderModified.keptPriority");
}
const OrderModifiedObject = plainData(readOrderModified);

function readStopTriggered(this: StopTriggeredData, view: DataView, at: number): void {
  this.orderId = view.getFloat64(at, true);
  this.account = view.getFloat64(at + 8, true);
  this.lastTradePrice = view.getFloat64(at + 16, true);
}

function readOcoLinked(this: OcoLinkedData, view: DataView, at: number): void {
  this.orderId = view.getFloat64(at, true);
  this.account = view.getFloat64(at + 8, true);
  this.stopOrderId = view.getFloat64(at + 16, true);
}

/** Codecs of events that are three numbers (StopTriggered, OcoLinked). */
function threeNumbers<D extends { orderId: number; account: number }>(
  id: number,
  type: string,
  third: Exclude<keyof D, "orderId" | "account"> & string,
  read: (this: D, view: DataView, at: number) => void,
): DataCodec<D> {
  const Data = plainData(read);
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
      return new Data(view, at);
    },
    decodeInto(view, at, length, data) {
      checkLength(type, 24, length);
      read.call(data, view, at);
      return data;
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
    return new OrderAcceptedObject(view, at);
  },
  decodeInto(view, at, length, data) {
    checkLength("OrderAccepted", 45, length);
    readOrderAccepted.call(data, view, at);
    return data;
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
    return new OrderRejectedObject(view, at);
  },
  decodeInto(view, at, length, data) {
    checkLength("OrderRejected", 18, length);
    readOrderRejected.call(data, view, at);
    return data;
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
    return new TradeExecutedObject(view, at);
  },
  decodeInto(view, at, length, data) {
    checkLength("TradeExecuted", 49, length);
    readTradeExecuted.call(data, view, at);
    return data;
  },
};

/** Codecs of an order that left the book with `remaining` for a `reason` (OrderCancelled, OrderExpired). */
function orderClosed<D extends { orderId: number; account: number; remaining: number; reason: string }>(
  id: number,
  type: string,
  reasons: ByteEnum<D["reason"]>,
  read: (this: D, view: DataView, at: number) => void,
): DataCodec<D> {
  const Data = plainData(read);
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
      return new Data(view, at);
    },
    decodeInto(view, at, length, data) {
      checkLength(type, 25, length);
      read.call(data, view, at);
      return data;
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
    return new OrderModifiedObject(view, at);
  },
  decodeInto(view, at, length, data) {
    checkLength("OrderModified", 33, length);
    readOrderModified.call(data, view, at);
    return data;
  },
};

/** Fixed-layout WAL codecs of the eight order-book events (ids 1-8): pass them to file storage. */
export const orderBookCodecs: DataCodec[] = [
  orderAccepted,
  orderRejected,
  tradeExecuted,
  orderClosed(4, "OrderCancelled", CANCEL_REASON, readOrderCancelled),
  orderClosed(5, "OrderExpired", EXPIRE_REASON, readOrderExpired),
  orderModified,
  threeNumbers(7, "StopTriggered", "lastTradePrice", readStopTriggered),
  threeNumbers(8, "OcoLinked", "stopOrderId", readOcoLinked),
] as DataCodec[];
