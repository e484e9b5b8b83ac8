/**
 * eventfold's reference aggregate: a price-time-priority matching engine built on the
 * public framework API (a decider, events with fixed WAL codecs, projections).
 * @module
 */
export * from "./types.ts";
export * from "./commands.ts";
export * from "./events.ts";
export { BookSide, Level, OrderBook, OrderTable, type RestingOrder, type StopOrder } from "./book.ts";
export { bookStreamId, decideOrder, evolveBook, orderBookDecider } from "./decider.ts";
export { orderBookCodecs } from "./codecs.ts";
export { type BookData, bookFromData, bookToData, stateHash } from "./snapshot.ts";
export { OrderBookEngine, type OrderBookEngineOptions, type SubmitResult } from "./engine.ts";
export {
  bookDepth,
  bookQuote,
  type Depth,
  type DepthLevel,
  marketDataProjection,
  type MarketDataProjection,
  type Quote,
  quoteLevels,
  type Trade,
} from "./read-models.ts";
export {
  type OrderState,
  type OrderStatus,
  type OrderStatusOptions,
  orderStatusProjection,
  type OrderStatusProjection,
} from "./order-status.ts";
export { crossingLimitStream, exchangeCoreCrossingMix, exchangeCoreMix, ExchangeCoreMixGenerator, random, type Workload, WORKLOAD_INSTRUMENT } from "./workloads.ts";
