/**
 * WAL options: their meaning, defaults and validation. Every option is checked where it
 * enters (fileStorage), so a typo fails at once with a ValidationError naming it instead
 * of, say, silently acknowledging without fsync.
 */
import { type Issue, ValidationError } from "../core/errors.ts";
import type { DurabilityMode } from "../core/storage.ts";
import type { DataCodec } from "./codec.ts";
import type { Fault } from "./faults.ts";
import type { PowerLoss } from "./power-loss.ts";

/** Options of WAL storage. */
export interface WalOptions {
  /** `durable` (default): acknowledge after the covering fdatasync. `async`: on enqueue,
   * losing at most `maxDelayMs` plus one write in a crash (and what the running synchronous
   * code enqueued, under 16 KiB, which reaches the writer at its end). `sync`: one
   * fdatasync per append, on the caller's thread before the append returns (the batching
   * options do not apply). */
  durability?: Exclude<DurabilityMode, "memory">;
  /** Group commit: sync once this many records are pending and all that was published is written (default 1000). */
  maxBatch?: number;
  /** Group commit: sync once the oldest unsynced record is this old (default 10 ms). */
  maxDelayMs?: number;
  /** Ring size in bytes, a power of two (default 8 MiB: 64K records of 128 bytes). */
  ringBytes?: number;
  /** Start a new segment when one would grow past this (default 64 MiB). */
  segmentBytes?: number;
  /** Fixed-layout codecs for hot event types. */
  codecs?: DataCodec[];
  /** On corruption, keep the valid prefix and move the rest aside instead of refusing to open. */
  repair?: boolean;
  /** Fail pending operations when the writer makes no progress for this long (default 10 s). */
  stallTimeoutMs?: number;
  /** Injected file faults (tests and the reliability harness). */
  faults?: Fault[];
  /** Simulated power loss at a sync point of the writer (crash tests). */
  powerLoss?: PowerLoss;
}

/** WAL options with every default filled in. */
export type ResolvedWalOptions =
  & Required<Pick<WalOptions, "durability" | "maxBatch" | "maxDelayMs" | "ringBytes" | "segmentBytes" | "stallTimeoutMs">>
  & Pick<WalOptions, "codecs" | "repair" | "faults" | "powerLoss">;

const DURABILITY = ["durable", "async", "sync"];

type Check = (value: unknown) => string | undefined;

const integerFrom = (min: number): Check => (value) =>
  Number.isSafeInteger(value) && (value as number) >= min ? undefined : `must be an integer >= ${min}, got ${show(value)}`;
const finiteFrom = (min: number): Check => (value) =>
  typeof value === "number" && Number.isFinite(value) && value >= min ? undefined : `must be a number >= ${min}, got ${show(value)}`;
const array: Check = (value) => (Array.isArray(value) ? undefined : `must be an array, got ${show(value)}`);
const object: Check = (value) =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? undefined : `must be an object, got ${show(value)}`;

const CHECKS: Record<keyof WalOptions, Check> = {
  durability: (value) => (DURABILITY.includes(value as string) ? undefined : `must be one of ${DURABILITY.map((d) => `"${d}"`).join(", ")}, got ${show(value)}`),
  maxBatch: integerFrom(1),
  maxDelayMs: finiteFrom(0),
  ringBytes: (value) =>
    Number.isInteger(value) && (value as number) >= 4096 && (value as number) <= 1 << 30 && ((value as number) & ((value as number) - 1)) === 0
      ? undefined
      : `must be a power of two from 4 KiB to 1 GiB, got ${show(value)}`,
  segmentBytes: integerFrom(1),
  codecs: array,
  repair: (value) => (typeof value === "boolean" ? undefined : `must be a boolean, got ${show(value)}`),
  stallTimeoutMs: (value) => finiteFrom(0)(value) ?? (value === 0 ? "must be a number > 0, got 0" : undefined),
  faults: array,
  powerLoss: object,
};

/** Checks `options` (unknown keys included) and fills in the defaults. Throws ValidationError. */
export function resolveWalOptions(options: WalOptions | undefined, extraKeys: readonly string[] = []): ResolvedWalOptions {
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ValidationError("WAL options", [{ path: "", message: `must be an object, got ${show(options)}` }]);
  }
  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || extraKeys.includes(key)) continue;
    const check = CHECKS[key as keyof WalOptions];
    const problem = check === undefined ? `unknown option (known: ${Object.keys(CHECKS).join(", ")})` : check(value);
    if (problem !== undefined) issues.push({ path: key, message: problem });
  }
  const durability = options.durability ?? "durable";
  const sync = durability === "sync";
  // `sync` is one fdatasync per append by definition: a batching option given with it
  // would be silently ignored, so it is refused.
  for (const key of ["maxBatch", "maxDelayMs"] as const) {
    if (sync && options[key] !== undefined) issues.push({ path: key, message: "does not apply to durability \"sync\" (one fdatasync per append)" });
  }
  if (issues.length > 0) throw new ValidationError("WAL options", issues);
  return {
    durability,
    maxBatch: sync ? 1 : options.maxBatch ?? 1000,
    maxDelayMs: sync ? 0 : options.maxDelayMs ?? 10,
    ringBytes: options.ringBytes ?? 8 << 20,
    segmentBytes: options.segmentBytes ?? 64 << 20,
    stallTimeoutMs: options.stallTimeoutMs ?? 10_000,
    codecs: options.codecs,
    repair: options.repair,
    faults: options.faults,
    powerLoss: options.powerLoss,
  };
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
