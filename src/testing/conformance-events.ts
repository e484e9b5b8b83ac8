/**
 * The conformance suite's own event types, with schemas written against the Standard
 * Schema interface directly, so the suite needs no validation library of its own.
 */
import { defineEvent, type EventDefinition, type EventOf, type EventRegistry, eventRegistry, type Schema } from "../core/events.ts";

/** Checks one field: undefined if fine, else what is wrong. */
type Check = (value: unknown) => string | undefined;

const string = (max: number): Check => (value) =>
  typeof value === "string" && value.length <= max ? undefined : `expected a string of at most ${max} characters`;
const integer: Check = (value) => (Number.isSafeInteger(value) ? undefined : "expected an integer");
const number: Check = (value) => (typeof value === "number" && Number.isFinite(value) ? undefined : "expected a number");
const oneOf = (...members: string[]): Check => (value) =>
  members.includes(value as string) ? undefined : `expected one of ${members.join(", ")}`;

/** A schema of an object with exactly these fields (others are dropped, as zod does). */
function objectSchema<T>(fields: { [K in keyof T]: Check }): Schema<T> {
  return {
    "~standard": {
      version: 1,
      vendor: "eventfold-conformance",
      validate(value) {
        if (typeof value !== "object" || value === null) return { issues: [{ message: "expected an object" }] };
        const issues = [];
        const output: Record<string, unknown> = {};
        for (const [key, check] of Object.entries(fields) as [string, Check][]) {
          const field = (value as Record<string, unknown>)[key];
          const problem = check(field);
          if (problem !== undefined) issues.push({ message: problem, path: [key] });
          output[key] = field;
        }
        return issues.length > 0 ? { issues } : { value: output as T };
      },
    },
  };
}

/** A note: text and a number. */
export const Noted: EventDefinition<"Noted", Schema<{ text: string; n: number }>> = defineEvent("Noted", objectSchema<{ text: string; n: number }>({ text: string(100), n: integer }));
/** A tag, one of three. */
export const Tagged: EventDefinition<"Tagged", Schema<{ tag: "a" | "b" | "c" }>> = defineEvent("Tagged", objectSchema<{ tag: "a" | "b" | "c" }>({ tag: oneOf("a", "b", "c") }));
/** The suite's events. */
export type ConformanceEvent = EventOf<typeof Noted | typeof Tagged>;
/** The registry of the suite's events. */
export const conformanceEvents = (): EventRegistry<ConformanceEvent> => eventRegistry(Noted, Tagged);
/** Note `n`. */
export const noted = (n: number, text = `note ${n}`): ConformanceEvent => Noted.create({ text, n });

/** Version 1 of an event type the upcasting test evolves. */
export const PricedV1: EventDefinition<"Priced", Schema<{ price: number }>> = defineEvent("Priced", objectSchema<{ price: number }>({ price: number }));
/** Version 3 of it, with its upcasters. */
export const PricedV3: EventDefinition<"Priced", Schema<{ cents: number; currency: string }>> = defineEvent("Priced", objectSchema<{ cents: number; currency: string }>({ cents: integer, currency: string(3) }), {
  version: 3,
  upcasters: {
    1: (data) => ({ amount: (data as { price: number }).price * 100 }),
    2: (data) => ({ cents: (data as { amount: number }).amount, currency: "EUR" }),
  },
});
/** "Noted" with a stricter text limit, which records written earlier no longer pass. */
export const StrictNoted: EventDefinition<"Noted", Schema<{ text: string; n: number }>> = defineEvent("Noted", objectSchema<{ text: string; n: number }>({ text: string(10), n: integer }));
