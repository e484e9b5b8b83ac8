/**
 * The order book's vocabulary. Prices are integers in the instrument's smallest price
 * unit and must be a multiple of its tick size; quantities are integers in its smallest
 * quantity unit and must be a multiple of its lot size. No floating point anywhere.
 */
export type Side = "buy" | "sell";
/** Order kinds. */
export type OrderKind = "limit" | "market" | "stop-limit" | "stop-market";
/** Time in force: good till cancelled, immediate or cancel, fill or kill. */
export type TimeInForce = "GTC" | "IOC" | "FOK";
/** What to do when an incoming order would trade with a resting order of the same account. */
export type SelfTradePrevention = "allow" | "cancel-resting" | "cancel-incoming" | "cancel-both";

/** A tradable instrument: prices are integer ticks, quantities integer lots. */
export interface Instrument {
  /** Its name, also its book's stream id suffix. */
  symbol: string;
  /** Prices must be multiples of this (in price units), e.g. 5 for a 0.05 tick in cents. */
  tickSize: number;
  /** Quantities must be multiples of this (in quantity units). */
  lotSize: number;
  /** Largest quantity one order may have (default DEFAULT_MAX_QUANTITY); larger is rejected. */
  maxQuantity?: number;
  /** Largest price (and stop price) an order may have (default DEFAULT_MAX_PRICE); higher is rejected. */
  maxPrice?: number;
  /**
   * Guard every stop order placed on this instrument (default false; an order's own
   * `stopGuard` overrides it): refuse a stop the last trade price already triggers
   * (`stop-would-trigger`) and a stop-limit priced on the wrong side of its stop
   * (`stop-limit-wrong-side`).
   */
  stopGuard?: boolean;
}

/**
 * Default per-order quantity bound: 10^12 units. With it, and with a level's total kept
 * at or below Number.MAX_SAFE_INTEGER (else "level-full"), every sum the book and its
 * read models keep is an exact integer.
 */
export const DEFAULT_MAX_QUANTITY = 1e12;
/** Default price bound: 10^12 price units. */
export const DEFAULT_MAX_PRICE = 1e12;

/** Why a command was rejected. */
export type RejectReason =
  | "invalid-order-id"
  | "duplicate-order-id"
  | "unknown-order"
  | "invalid-account"
  | "account-mismatch"
  | "invalid-quantity"
  | "quantity-off-lot"
  | "invalid-price"
  | "price-off-tick"
  | "missing-price"
  | "invalid-stop-price"
  | "post-only-would-cross"
  | "post-only-not-limit"
  | "invalid-time-in-force"
  | "not-modifiable"
  | "no-change"
  | "quantity-above-max"
  | "price-above-max"
  | "level-full"
  | "stop-would-trigger"
  | "stop-limit-wrong-side"
  | "oco-not-limit"
  | "oco-invalid-prices";

/** Why an order was cancelled. */
export type CancelReason = "requested" | "self-trade" | "oco";
/** Why an order expired. */
export type ExpireReason = "ioc-unfilled" | "fok-unfillable" | "market-unfilled" | "level-full";

/** Every side (its index is its code in the WAL). */
export const SIDES: readonly Side[] = ["buy", "sell"];
/** Every order kind (its index is its code in the WAL). */
export const KINDS: readonly OrderKind[] = ["limit", "market", "stop-limit", "stop-market"];
/** Every time in force (its index is its code in the WAL). */
export const TIMES_IN_FORCE: readonly TimeInForce[] = ["GTC", "IOC", "FOK"];
/** Every self-trade prevention mode (its index is its code in the WAL). */
export const SELF_TRADE: readonly SelfTradePrevention[] = ["allow", "cancel-resting", "cancel-incoming", "cancel-both"];
/** Every reject reason (its index is its code in the WAL). */
export const REJECT_REASONS: readonly RejectReason[] = [
  "invalid-order-id", "duplicate-order-id", "unknown-order", "invalid-account", "account-mismatch",
  "invalid-quantity", "quantity-off-lot", "invalid-price", "price-off-tick", "missing-price",
  "invalid-stop-price", "post-only-would-cross", "post-only-not-limit", "invalid-time-in-force",
  "not-modifiable", "no-change", "quantity-above-max", "price-above-max", "level-full",
  // Appended, never inserted: a reason's index is its code in stored events.
  "stop-would-trigger", "stop-limit-wrong-side", "oco-not-limit", "oco-invalid-prices",
];
/** Every cancel reason (its index is its code in the WAL). */
export const CANCEL_REASONS: readonly CancelReason[] = ["requested", "self-trade", "oco"];
/** Every expire reason (its index is its code in the WAL). */
export const EXPIRE_REASONS: readonly ExpireReason[] = ["ioc-unfilled", "fok-unfillable", "market-unfilled", "level-full"];
/** Commands a rejection can name (its index is its code in the WAL). */
export const COMMAND_NAMES = ["place", "cancel", "modify"] as const;
