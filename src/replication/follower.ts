/**
 * A hot standby: applies a replicated log to its own WAL and to a live store on it (the
 * same projections, and command handlers kept warm), so its state matches the primary's
 * at the same position and it serves reads; `promote()` makes it the primary, continuing
 * the positions with neither a gap nor a duplicate.
 *
 *   const follower = new Follower({ log: natsLog({ stream: "orders" }), local: fileStorage("standby") });
 *   const store = new EventStore({ events, storage: follower.storage, projections });
 *   await store.open();
 *   await follower.start(store);
 *   ...
 *   await follower.promote(); // store.append(...) now acknowledges replicated
 */
import { StorageError } from "../core/errors.ts";
import type { Event, StoredRecord } from "../core/events.ts";
import type { EventStore } from "../core/event-store.ts";
import type { StorageAdapter } from "../core/storage.ts";
import type { WalStorage } from "../wal/wal-storage.ts";
import type { Following, ReplicaBatch, ReplicaLog } from "./replica-log.ts";
import { ReplicatedStorage, type ReplicationOptions, sameRecord } from "./replicated-storage.ts";

/** What a follower needs. */
export interface FollowerOptions {
  /** The replicated log to follow. */
  log: ReplicaLog;
  /** Its own WAL (`fileStorage(directory, { codecs })`, with the primary's codecs). */
  local: WalStorage;
  /** How it replicates once promoted. */
  replication?: ReplicationOptions;
}

/**
 * What a follower applies the log to: an EventStore opened on `follower.storage` (its
 * index, buffer, projections and subscriptions follow), or anything with the same three
 * members over that storage (the CLI's `follow` copies records with no event types).
 */
export interface ReplicaTarget {
  /** The storage it was opened on (must be `follower.storage`). */
  readonly storage: StorageAdapter;
  /** The position of its last record. */
  readonly headPosition: number;
  /** Appends records the log numbered, each the next (EventStore.appendReplicated). */
  appendReplicated(records: readonly StoredRecord[]): unknown;
}

/** A command handler (or anything) whose cached state of a stream must follow the log. */
export interface KeptLive {
  /** The cached state of `streamId`, if any. */
  cached(streamId: string): unknown;
  /** Brings `streamId`'s cached state up to the store's version of it. */
  load(streamId: string): Promise<unknown>;
}

/** See the module comment. */
export class Follower<E extends Event = Event> {
  /** Open the follower's store (or engine) on this storage, then `start` it. */
  readonly storage: ReplicatedStorage;
  /** The replicated log it follows. */
  readonly log: ReplicaLog;
  #store?: ReplicaTarget;
  #keepLive: readonly KeptLive[] = [];
  #following?: Following;
  #term = 0;
  /** The sequence of the last batch applied. */
  #applied = 0;
  #failure?: Error;
  #waiting: { sequence: number; resolve(): void; reject(error: unknown): void }[] = [];

  /** A follower of `options.log` into `options.local`; open a store on `storage`, then `start`. */
  constructor(options: FollowerOptions) {
    this.log = options.log;
    this.storage = new ReplicatedStorage(options.local, options.log, options.replication ?? {}, "follower");
  }

  /** The sequence of the last batch applied. */
  get appliedSequence(): number {
    return this.#applied;
  }

  /**
   * Starts applying the log to `store` (opened on `this.storage`), from where its own log
   * ends; `keepLive` handlers have their cached streams brought up to date after each batch.
   */
  async start(store: EventStore<E> | ReplicaTarget, options: { keepLive?: readonly KeptLive[] } = {}): Promise<void> {
    if (store.storage !== this.storage) throw new StorageError("the follower's store must be opened on follower.storage");
    if (this.#store) throw new StorageError("the follower is started already");
    const head = store.headPosition;
    let after = 0;
    if (head > 0) {
      const holding = await this.log.find(head);
      if (holding === undefined) {
        throw new StorageError(`this log has positions up to ${head}, ${this.log.name} fewer: it is not a follower of that log`);
      }
      // A restart, or a deposed primary come back: its log must be the replicated one's prefix.
      if (!await sameRecord(this.storage.local, await this.log.batch(holding), head)) {
        throw new StorageError(`this log and ${this.log.name} differ at position ${head}: it is not a follower of that log`);
      }
      after = holding - 1;
    }
    // Only now: a start refused above can be tried again (say, after the log is reachable).
    this.#store = store;
    this.#keepLive = options.keepLive ?? [];
    this.#follow(after);
  }

  #follow(after: number): void {
    this.#applied = after;
    const following = this.log.follow(after, (batch) => this.#apply(batch));
    this.#following = following;
    following.done.catch((error) => this.#stop(error));
  }

  /** Applies one batch: its appends that this log lacks, then brings the handlers' streams up to date. */
  async #apply(batch: ReplicaBatch): Promise<void> {
    const store = this.#store!;
    if (batch.term < this.#term) {
      throw new StorageError(`${this.log.name}: batch ${batch.sequence} is of term ${batch.term}, after term ${this.#term}`);
    }
    this.#term = batch.term;
    const touched = new Set<string>();
    for (const records of this.storage.local.decodeEncoded(batch.bytes)) {
      const head = store.headPosition;
      if (records.at(-1)!.position <= head) continue; // this log has it (a restart)
      if (records[0]!.position !== head + 1) {
        throw new StorageError(`${this.log.name}: batch ${batch.sequence} starts at position ${records[0]!.position}, this log ends at ${head}`);
      }
      this.storage.applying(() => store.appendReplicated(records));
      for (const record of records) touched.add(record.streamId);
    }
    for (const handler of this.#keepLive) {
      for (const streamId of touched) if (handler.cached(streamId) !== undefined) await handler.load(streamId);
    }
    this.#applied = batch.sequence;
    this.#waiting = this.#waiting.filter((waiter) => waiter.sequence > batch.sequence || void waiter.resolve());
  }

  #stop(error: unknown): void {
    this.#failure ??= error as Error;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#failure);
  }

  /** Resolves once every batch the log held when called is applied. */
  async caughtUp(): Promise<void> {
    const last = await this.log.last();
    const sequence = last?.sequence ?? 0;
    if (this.#failure) throw this.#failure;
    if (this.#applied >= sequence) return;
    await new Promise<void>((resolve, reject) => this.#waiting.push({ sequence, resolve, reject }));
  }

  /**
   * Takes over as the primary: applies the log to its end, stops following, and claims the
   * next term. The store then appends (replicated) from the next position. A batch
   * appended meanwhile by the old primary is applied and the claim tried again.
   */
  async promote(): Promise<void> {
    const store = this.#store;
    if (!store) throw new StorageError("start the follower before promoting it");
    await this.#following?.stop();
    this.#following = undefined;
    if (this.#failure) throw this.#failure;
    for (let attempt = 0;; attempt++) {
      const last = await this.log.last();
      for (let sequence = this.#applied + 1; sequence <= (last?.sequence ?? 0); sequence++) {
        await this.#apply(await this.log.batch(sequence));
      }
      try {
        await this.storage.promote(last);
        return;
      } catch (error) {
        if (attempt >= 3 || !(error instanceof Error) || error.name !== "FencedError") throw error;
      }
    }
  }

  /** Stops following (the store is closed by its owner). */
  async stop(): Promise<void> {
    await this.#following?.stop();
    this.#following = undefined;
    this.#stop(new StorageError("the follower was stopped"));
  }
}
