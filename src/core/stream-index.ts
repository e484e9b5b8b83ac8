/**
 * Maps each stream's versions to global positions.
 *
 * A stream's events usually come in runs of consecutive positions (a hot aggregate
 * appends many events in a row), so each stream keeps runs, not one entry per event: a
 * single busy stream costs a few numbers however many events it has.
 *
 * Streams written in turn (many aggregates at once) start a run with nearly every event.
 * Their runs are kept in Float64Arrays of at most CHUNK_RUNS runs each, not in one
 * growing array per stream. In JavaScript arrays, sixty-four streams written in turn
 * stalled appends for 30-110 ms at about 640 K and 960 K events (Node, 250 K appends/s):
 * an array of a few thousand numbers lives in V8's young generation and every scavenge
 * copies it until it is promoted. In one typed array per stream that doubles, they stalled
 * 18-28 ms at 2^18, 2^19 and 2^20 events: sixty-four new arrays at once, each page of them
 * faulted in when first written (about 6 µs a page on this virtual machine). A chunk is
 * 16 KiB at most, so growing costs about the same at every size, and a few streams at once.
 */
const CHUNK_RUNS = 1024;

class StreamRuns {
  /** Runs 0 to CHUNK_RUNS - 1: run i's first event's position at [2i], its first stream version at [2i + 1]. */
  #first: Float64Array;
  /** The runs after those, CHUNK_RUNS to a chunk, laid out the same (most streams have none). */
  #more: Float64Array[] | undefined;
  /** The last chunk (appends go there). */
  #last: Float64Array;
  /** Runs held. */
  count: number;
  version: number;

  /** `pairs` holds `count` runs (a checkpoint's), and is kept: its chunks are views of it. */
  constructor(pairs: Float64Array = new Float64Array(4), count = 0, version = 0) {
    const chunk = (first: number) =>
      pairs.subarray(2 * first, Math.min(2 * (first + CHUNK_RUNS), pairs.length));
    this.#first = this.#last = chunk(0);
    for (let first = CHUNK_RUNS; first < count; first += CHUNK_RUNS) {
      (this.#more ??= []).push(this.#last = chunk(first));
    }
    this.count = count;
    this.version = version;
  }

  #chunk(i: number): Float64Array {
    return i < CHUNK_RUNS ? this.#first : this.#more![((i / CHUNK_RUNS) | 0) - 1]!;
  }

  /** Global position of the first event of run `i`. */
  start(i: number): number {
    return this.#chunk(i)[2 * (i % CHUNK_RUNS)]!;
  }

  /** Stream version of the first event of run `i`. */
  firstVersion(i: number): number {
    return this.#chunk(i)[2 * (i % CHUNK_RUNS) + 1]!;
  }

  add(position: number, count: number): void {
    let at = 2 * ((this.count - 1) % CHUNK_RUNS); // the last run, in the last chunk
    const last = this.#last;
    if (this.count === 0 || last[at] + (this.version + 1 - last[at + 1]) !== position) {
      at = 2 * (this.count % CHUNK_RUNS);
      if (at === 0 && this.count > 0) (this.#more ??= []).push(this.#last = new Float64Array(2 * CHUNK_RUNS));
      else if (at === last.length) this.#widenLast();
      this.#last[at] = position;
      this.#last[at + 1] = this.version + 1;
      this.count++;
    }
    this.version += count;
  }

  /** The last chunk, full below CHUNK_RUNS runs, replaced by one twice its size (at most CHUNK_RUNS runs) holding the same. */
  #widenLast(): void {
    const wider = new Float64Array(Math.min(2 * CHUNK_RUNS, Math.max(4, 2 * this.#last.length)));
    wider.set(this.#last);
    if (this.#more === undefined) this.#first = wider;
    else this.#more[this.#more.length - 1] = wider;
    this.#last = wider;
  }

  positionOf(version: number): number {
    const run = this.runOf(version);
    return this.start(run) + (version - this.firstVersion(run));
  }

  /** The run holding `version` (the last one starting at or before it; 0 if none does). */
  runOf(version: number): number {
    let low = 0;
    let high = this.count - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.firstVersion(middle) <= version) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

/** A stream's runs, read only. */
export interface StreamRunsView {
  readonly count: number;
  start(i: number): number;
  firstVersion(i: number): number;
}

export class StreamIndex {
  readonly #streams = new Map<string, StreamRuns>();
  // A hot aggregate appends to one stream again and again: remember the last one.
  #lastId: string | undefined;
  #lastRuns: StreamRuns | undefined;

  #runs(streamId: string): StreamRuns | undefined {
    if (streamId === this.#lastId) return this.#lastRuns;
    const runs = this.#streams.get(streamId);
    if (runs !== undefined) {
      this.#lastId = streamId;
      this.#lastRuns = runs;
    }
    return runs;
  }

  /** Current version of the stream: its number of events, 0 if it has none. */
  version(streamId: string): number {
    return this.#runs(streamId)?.version ?? 0;
  }

  /** Records that `count` events of `streamId` were stored from `position` on. */
  add(streamId: string, position: number, count: number): void {
    let runs = this.#runs(streamId);
    if (runs === undefined) {
      runs = new StreamRuns();
      this.#streams.set(streamId, runs);
    }
    runs.add(position, count);
  }

  /** Global position of the event at `version` (1-based) of the stream. */
  positionOf(streamId: string, version: number): number {
    const runs = this.#runs(streamId);
    if (runs === undefined || version < 1 || version > runs.version) {
      throw new RangeError(`stream "${streamId}" has no version ${version}`);
    }
    return runs.positionOf(version);
  }

  /**
   * The stream's versions `from..to` as runs of consecutive positions:
   * `[firstVersion, firstPosition, count]`, in version order.
   */
  *runs(streamId: string, from: number, to: number): Generator<[number, number, number]> {
    const runs = this.#runs(streamId);
    if (runs === undefined) return;
    const last = Math.min(to, runs.version);
    for (let i = runs.runOf(from); i < runs.count; i++) {
      const first = runs.firstVersion(i);
      const end = i + 1 < runs.count ? runs.firstVersion(i + 1) - 1 : runs.version;
      if (first > last) return;
      if (end < from) continue;
      const start = Math.max(first, from);
      yield [start, runs.start(i) + (start - first), Math.min(end, last) - start + 1];
    }
  }

  streamIds(): IterableIterator<string> {
    return this.#streams.keys();
  }

  /** Each stream's id, version and runs (read with `start(i)` and `firstVersion(i)`, i < count), for a checkpoint. */
  *entries(): Generator<[streamId: string, version: number, runs: StreamRunsView]> {
    for (const [streamId, runs] of this.#streams) yield [streamId, runs.version, runs];
  }

  /**
   * Takes a stream in whole, as a checkpoint holds it (the index must not have it yet):
   * `pairs` holds its `count` runs, each a first position and a first version (it is kept).
   */
  restore(streamId: string, version: number, pairs: Float64Array, count: number): void {
    this.#streams.set(streamId, new StreamRuns(pairs, count, version));
  }
}
