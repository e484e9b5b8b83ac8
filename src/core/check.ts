/**
 * Checks of public options where they enter the API: each failure is a ValidationError
 * naming the option, thrown before anything changed.
 */
import { ValidationError } from "./errors.ts";

/** Throws a ValidationError about `path` of `what`. */
export function invalid(what: string, path: string, message: string): never {
  throw new ValidationError(what, [{ path, message }]);
}

/** Refuses a non-object and any key not in `known` (a misspelt option must not be ignored). */
export function checkKeys(what: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) invalid(what, "", "must be an object");
  for (const key of Object.keys(options as object)) {
    if (!known.includes(key)) invalid(what, key, `unknown option (known: ${known.join(", ")})`);
  }
}

/** Refuses anything but an integer >= `min` (undefined passes: the default applies). */
export function checkInteger(what: string, path: string, value: unknown, min: number): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= min)) {
    invalid(what, path, `must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Refuses anything but a function (undefined passes). */
export function checkFunction(what: string, path: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") invalid(what, path, "must be a function");
}
