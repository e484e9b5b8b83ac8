/**
 * How big the long sweeps are. `npm test` runs them small, so the suite takes minutes;
 * `npm test -- --full` (what CI runs) sets EVENTFOLD_FULL=1 for the full sizes. Each size
 * can also be set on its own by its environment variable.
 */
import process from "node:process";

/** True in the full run. */
export const FULL = process.env.EVENTFOLD_FULL === "1";

/** A sweep size: `name` from the environment if set, else `full` or `quick`. */
export function sweepSize(name: string, full: number, quick: number): number {
  const fromEnv = process.env[name];
  if (fromEnv !== undefined && fromEnv !== "") {
    const value = Number(fromEnv);
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${fromEnv}`);
    return value;
  }
  return FULL ? full : quick;
}
