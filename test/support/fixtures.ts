/** Small event types shared by the tests. */
import { z } from "zod";
import { defineEvent, type EventOf, eventRegistry } from "../../mod.ts";

export const Noted = defineEvent("Noted", z.object({ text: z.string().max(100), n: z.number().int() }));
export const Tagged = defineEvent("Tagged", z.object({ tag: z.enum(["a", "b", "c"]) }));
export const testEvents = () => eventRegistry(Noted, Tagged);
export type TestEvent = EventOf<typeof Noted | typeof Tagged>;

export const noted = (n: number, text = `note ${n}`): TestEvent => Noted.create({ text, n });

/**
 * Where the append that follows event `n` ends in the crash and fault sweeps: appends of
 * one to three events, in a fixed pattern, up to `total`.
 */
export function appendEnd(n: number, total: number): number {
  for (let i = 0; i < 1 + (n % 3) && n < total; i++) n++;
  return n;
}
