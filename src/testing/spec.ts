/**
 * Given/When/Then specs for any decider:
 *
 *   spec(decider).given([opened]).when(deposit).then([deposited]);
 *   spec(decider).given([]).when(withdraw).thenThrows(InsufficientFunds);
 *
 * Uses `node:assert/strict`, which Node, Deno and Bun all provide.
 */
import assert from "node:assert/strict";
import type { Decider } from "../core/decider.ts";
import type { Event } from "../core/events.ts";

export interface Then<S, E> {
  /** Asserts the command decided exactly these events (deep equality, in order). */
  then(expected: readonly E[]): void;
  /** Asserts `decide` threw; optionally of this class, or passing this check. */
  thenThrows(expected?: (new (...args: never[]) => Error) | ((error: unknown) => boolean)): void;
  /** Asserts the state after evolving the decided events. */
  thenState(check: (state: S) => void): void;
}

export function spec<C, S, E extends Event>(decider: Decider<C, S, E>, options: { streamId?: string } = {}) {
  return {
    given(events: readonly E[]) {
      return {
        when(command: C): Then<S, E> {
          const state = () => {
            let s = decider.initialState(options.streamId ?? "");
            for (const event of events) s = decider.evolve(s, event);
            return s;
          };
          return {
            then(expected) {
              assert.deepStrictEqual(decider.decide(command, state()), expected);
            },
            thenThrows(expected) {
              assert.throws(() => decider.decide(command, state()), (error: unknown) => {
                if (expected === undefined) return true;
                if (expected.prototype instanceof Error || expected === Error) {
                  return error instanceof (expected as new () => Error);
                }
                return (expected as (error: unknown) => boolean)(error);
              });
            },
            thenState(check) {
              let s = state();
              for (const event of decider.decide(command, s)) s = decider.evolve(s, event);
              check(s);
            },
          };
        },
      };
    },
  };
}
