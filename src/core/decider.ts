/**
 * The decider: the one central idea. `decide` turns a command and the current state into
 * events (or throws a domain error); `evolve` folds an event into the state.
 *
 * `decide` must not change the state. `evolve` may return a new state or update the
 * given one in place and return it: a hot aggregate (the order book) does the latter so
 * that no new state is allocated per event. In-place state means the state object a
 * handler caches is the live one: read it, do not keep references into it across commands.
 */
import type { Event } from "./events.ts";

/** The decider: commands `C` and state `S` to events `E`, and events back into state. */
export interface Decider<C, S, E extends Event> {
  /** The state of a stream with no events (the stream id is given for aggregates that need it). */
  initialState(streamId: string): S;
  /** The events `command` causes in `state` (must not change `state`); throws a domain error to refuse. */
  decide(command: C, state: S): readonly E[];
  /**
   * Optional: `decide`, but the events (the list, each event and its data) may be objects
   * it returned before, refilled: valid until its next `decideLent`, which may change them.
   * A command handler's hot path (CommandHandler.executeLent) calls it when it will not
   * keep the events past the command, so a command makes no objects for its events.
   */
  decideLent?(command: C, state: S): readonly E[];
  /** `state` after `event`: a new state, or the same object updated in place. */
  evolve(state: S, event: E): S;
  /**
   * Set it when `evolve` keeps nothing of an event past its call: no reference to the
   * event, its data or its metadata (it copies the values it needs). A command handler
   * then loads state through EventStore.visitStream, whose events may be lent: the file
   * WAL refills one event object (and one data object per fixed-layout codec) for every
   * record instead of making new ones, which makes a long replay faster. Default false.
   */
  readonly evolveKeepsNoEvents?: boolean;
}

/** Folds events into a fresh initial state. */
export function fold<C, S, E extends Event>(decider: Decider<C, S, E>, events: Iterable<E>, streamId = ""): S {
  let state = decider.initialState(streamId);
  for (const event of events) state = decider.evolve(state, event);
  return state;
}
