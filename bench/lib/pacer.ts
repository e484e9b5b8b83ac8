/**
 * Waits, spinning, until a due time on `performance.now()`'s clock, calling `poll` meanwhile:
 * the fixed-rate benchmarks offer each command at its due time.
 *
 * Why the pacer does not read the clock on every turn: on Node, `performance.now()` makes a
 * heap number per call (V8 boxes what the binding returns), so a loop that reads it every
 * 50 ns makes hundreds of megabytes of garbage a second: a young-generation collection
 * every few milliseconds, which the benchmark would then measure as the engine's latency
 * (at 100 K commands/s the spin made 730 of the 1,240 bytes allocated per command). Between
 * two readings the pacer polls for about three quarters of the time left, at the pace the
 * last run of polls took, so a wait of 8 µs reads the clock a handful of times and still
 * ends within a few polls and one reading of its due time.
 */
export class Pacer {
  readonly #poll: () => void;
  // Re-timed after every run of polls: a poll gets quicker once compiled and slower when it
  // has acknowledgements to handle. A run cut short by a pause makes the next run shorter,
  // never longer, so a wrong pace costs clock readings, not lateness.
  #pollsPerMillisecond = 1_000;

  constructor(poll: () => void) {
    this.#poll = poll;
  }

  /** Returns at or just after `due` (milliseconds on `performance.now()`'s clock). */
  waitUntil(due: number): void {
    for (let now = performance.now(); now < due;) {
      const polls = Math.ceil((due - now) * this.#pollsPerMillisecond * 0.75);
      for (let i = 0; i < polls; i++) this.#poll();
      const then = performance.now();
      if (then > now) this.#pollsPerMillisecond = polls / (then - now);
      now = then;
    }
  }
}
