/**
 * How the order book makes its events' data: with `new` and one constructor per type
 * (plainData in core/events.ts), never with an object literal.
 *
 * The decider's data literals were shared by every engine in a process: one on memory
 * storage (which keeps every event), or the workload generator's, had V8 tenure them, and
 * from then on an engine on the file WAL, whose events all die young, made each event's
 * data in the old generation, where it died and had to be marked and swept. Measured on the
 * benchmark's exchange-core mix after a memory-mode run in the same process: durable mode
 * ran 20-30 % faster with V8's pretenuring turned off (issue 16's note). Fields come in the
 * interface's (and the codec's) order.
 */
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
import { plainData } from "../core/events.ts";

/** OrderAccepted's data. */
export const AcceptedData = plainData(function (
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

/** OrderRejected's data. */
export const RejectedData = plainData(function (
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

/** TradeExecuted's data. */
export const TradeData = plainData(function (
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

/** The data of an order that left the book with `remaining` for a `reason`; one constructor per type. */
function closedData<D extends OrderCancelledData | OrderExpiredData>() {
  return plainData(function (this: D, orderId: number, account: number, remaining: number, reason: D["reason"]) {
    this.orderId = orderId;
    this.account = account;
    this.remaining = remaining;
    this.reason = reason;
  });
}

/** OrderCancelled's data. */
export const CancelledData = closedData<OrderCancelledData>();

/** OrderExpired's data. */
export const ExpiredData = closedData<OrderExpiredData>();

/** OrderModified's data. */
export const ModifiedData = plainData(function (
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

/** StopTriggered's data. */
export const TriggeredData = plainData(function (this: StopTriggeredData, orderId: number, account: number, lastTradePrice: number) {
  this.orderId = orderId;
  this.account = account;
  this.lastTradePrice = lastTradePrice;
});

/** OcoLinked's data. */
export const LinkedData = plainData(function (this: OcoLinkedData, orderId: number, account: number, stopOrderId: number) {
  this.orderId = orderId;
  this.account = account;
  this.stopOrderId = stopOrderId;
});
