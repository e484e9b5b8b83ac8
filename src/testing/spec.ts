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

/** The assertions of a spec. */
export interface Then<S, E> {
  /** Asserts the command decided exactly these events (deep equality, in order). */
  then(expected: readonly E[]): void;
  /** Asserts `decide` threw; optionally of this class, or passing this check. */
  thenThrows(expected?: (new (...args: never[]) => Error) | ((error: unknown) => boolean)): void;
  /** Asserts the state after evolving the decided events. */
  thenState(check: (state: S) => void): void;
}

/** The events a spec starts from. */
export interface Given<C, S, E> {
  /** The command under test. */
  when(command: C): Then<S, E>;
}

/** A spec for `decider`; `streamId` is what `initialState` receives (default ""). */
export interface Spec<C, S, E> {
  /** The events that happened before (folded with `evolve` from the initial state). */
  given(events: readonly E[]): Given<C, S, E>;
}

/** Starts a Given/When/Then spec for `decider`. */
export function spec<C, S, E extends Event>(decider: Decider<C, S, E>, options: { streamId?: string } = {}): Spec<C, S, E> {
  return {
    given(events: readonly E[]): Given<C, S, E> {
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
