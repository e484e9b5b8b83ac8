/**
 * Maps each stream's versions to global positions.
 *
 * A stream's events usually come in runs of consecutive positions (a hot aggregate
 * appends many events in a row), so each stream keeps runs, not one entry per event: a
 * single busy stream costs a few numbers however many events it has.
 */
class StreamRuns {
  /** Global position of the first event of each run. */
  readonly starts: number[];
  /** Stream version of the first event of each run. */
  readonly versions: number[];
  version: number;

  constructor(starts: number[] = [], versions: number[] = [], version = 0) {
    this.starts = starts;
    this.versions = versions;
    this.version = version;
  }

  add(position: number, count: number): void {
    const last = this.starts.length - 1;
    const endOfLast = last < 0 ? -1 : this.starts[last] + (this.version + 1 - this.versions[last]);
    if (endOfLast !== position) {
      this.starts.push(position);
      this.versions.push(this.version + 1);
    }
    this.version += count;
  }

  positionOf(version: number): number {
    let low = 0;
    let high = this.versions.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.versions[middle] <= version) low = middle;
      else high = middle - 1;
    }
    return this.starts[low] + (version - this.versions[low]);
  }
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
    for (let i = 0; i < runs.versions.length; i++) {
      const first = runs.versions[i];
      const end = i + 1 < runs.versions.length ? runs.versions[i + 1] - 1 : runs.version;
      if (end < from || first > last) continue;
      const start = Math.max(first, from);
      yield [start, runs.starts[i] + (start - first), Math.min(end, last) - start + 1];
    }
  }

  streamIds(): IterableIterator<string> {
    return this.#streams.keys();
  }

  /** Each stream's version and runs (first positions, first versions), for a checkpoint. */
  *entries(): Generator<[streamId: string, version: number, starts: readonly number[], versions: readonly number[]]> {
    for (const [streamId, runs] of this.#streams) yield [streamId, runs.version, runs.starts, runs.versions];
  }

  /** Takes a stream in whole, as a checkpoint holds it (the index must not have it yet). */
  restore(streamId: string, version: number, starts: number[], versions: number[]): void {
    this.#streams.set(streamId, new StreamRuns(starts, versions, version));
  }
}
