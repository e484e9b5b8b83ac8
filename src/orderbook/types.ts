/**
 * The order book's vocabulary. Prices are integers in the instrument's smallest price
 * unit and must be a multiple of its tick size; quantities are integers in its smallest
 * quantity unit and must be a multiple of its lot size. No floating point anywhere.
 */
export type Side = "buy" | "sell";
export type OrderKind = "limit" | "market" | "stop-limit" | "stop-market";
export type TimeInForce = "GTC" | "IOC" | "FOK";
/** What to do when an incoming order would trade with a resting order of the same account. */
export type SelfTradePrevention = "allow" | "cancel-resting" | "cancel-incoming" | "cancel-both";

export interface Instrument {
  symbol: string;
  /** Prices must be multiples of this (in price units), e.g. 5 for a 0.05 tick in cents. */
  tickSize: number;
  /** Quantities must be multiples of this (in quantity units). */
  lotSize: number;
}

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
  | "no-change";

export type CancelReason = "requested" | "self-trade";
export type ExpireReason = "ioc-unfilled" | "fok-unfillable" | "market-unfilled";

export const SIDES: readonly Side[] = ["buy", "sell"];
export const KINDS: readonly OrderKind[] = ["limit", "market", "stop-limit", "stop-market"];
export const TIMES_IN_FORCE: readonly TimeInForce[] = ["GTC", "IOC", "FOK"];
export const SELF_TRADE: readonly SelfTradePrevention[] = ["allow", "cancel-resting", "cancel-incoming", "cancel-both"];
export const REJECT_REASONS: readonly RejectReason[] = [
  "invalid-order-id", "duplicate-order-id", "unknown-order", "invalid-account", "account-mismatch",
  "invalid-quantity", "quantity-off-lot", "invalid-price", "price-off-tick", "missing-price",
  "invalid-stop-price", "post-only-would-cross", "post-only-not-limit", "invalid-time-in-force",
  "not-modifiable", "no-change",
];
export const CANCEL_REASONS: readonly CancelReason[] = ["requested", "self-trade"];
export const EXPIRE_REASONS: readonly ExpireReason[] = ["ioc-unfilled", "fok-unfillable", "market-unfilled"];
export const COMMAND_NAMES = ["place", "cancel", "modify"] as const;
