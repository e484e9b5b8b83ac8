/**
 * A catch-up projection whose read model lives in PostgreSQL beside the log. Each batch of
 * events is applied by the caller's SQL and the projection's checkpoint is moved in the
 * same transaction, so the read model and its checkpoint never disagree: after a crash the
 * projection resumes exactly after the last batch that committed, with nothing applied
 * twice and nothing skipped.
 *
 * The checkpoint row is locked (`select ... for update`) for the transaction, so two
 * processes running the same projection take turns; a batch the other one has already
 * applied is skipped, not applied again.
 */
import type { EventStore } from "../../core/event-store.ts";
import type { Event, RecordedEvent } from "../../core/events.ts";
import type { Subscription } from "../../core/subscription.ts";
import { checkFunction, checkInteger, checkKeys, invalid } from "../../core/check.ts";
import { PostgresStorage, type Queryable } from "./index.ts";

/** Options of a PostgreSQL projection. */
export interface PostgresProjectionOptions<E extends Event> {
  /** The projection's name: the key of its checkpoint (at most 200 characters). */
  name: string;
  /**
   * Applies `events` (in position order) to the read model with `client`, inside the
   * transaction that then moves the checkpoint. Throwing rolls both back and stops the
   * projection.
   */
  apply(client: Queryable, events: RecordedEvent<E>[]): Promise<void>;
  /** Events applied per transaction at most (default 100; fewer when caught up). */
  batchSize?: number;
  /** Called with the error that stopped the projection (default: the console). */
  onError?(error: unknown): void;
}

/** A projection into PostgreSQL over `store`, whose storage must be `postgresStorage`. */
export function postgresProjection<E extends Event>(store: EventStore<E>, options: PostgresProjectionOptions<E>): PostgresProjection<E> {
  return new PostgresProjection(store, options);
}

/** Follows the log from its checkpoint, applying batches to a read model in PostgreSQL. */
export class PostgresProjection<E extends Event> {
  readonly #storage: PostgresStorage;
  readonly #batchSize: number;
  #position = 0;
  #batch: RecordedEvent<E>[] = [];
  #subscription?: Subscription<E>;
  #applying: Promise<void> = Promise.resolve();
  readonly #waiting = new Set<{ position: number; resolve: () => void; reject: (error: unknown) => void }>();
  #failure?: unknown;

  /** Use `postgresProjection`. */
  constructor(private readonly store: EventStore<E>, private readonly options: PostgresProjectionOptions<E>) {
    const what = "PostgreSQL projection options";
    if (!(store?.storage instanceof PostgresStorage)) invalid("PostgreSQL projection", "store", "must be a store over postgresStorage");
    checkKeys(what, options, ["name", "apply", "batchSize", "onError"]);
    if (typeof options.name !== "string" || options.name === "" || options.name.length > 200) {
      invalid(what, "name", "must be a non-empty string of at most 200 characters");
    }
    if (typeof options.apply !== "function") invalid(what, "apply", "must be a function");
    checkInteger(what, "batchSize", options.batchSize, 1);
    checkFunction(what, "onError", options.onError);
    this.#storage = store.storage;
    this.#batchSize = options.batchSize ?? 100;
  }

  /** The last position whose batch has committed (0 before any). */
  get position(): number {
    return this.#position;
  }

  /** Resumes after the committed checkpoint and follows the log. */
  async start(): Promise<void> {
    if (this.#subscription) return;
    this.#failure = undefined;
    const { rows: [row] } = await this.#storage.transaction((client) =>
      client.query(`select position from "${this.#storage.schema}".checkpoints where name = $1`, [this.options.name])
    );
    this.#position = row === undefined ? 0 : Number(row.position);
    this.#subscription = this.store.subscribe((event) => this.#take(event), {
      from: this.#position + 1,
      onError: (error) => {
        this.#failure = error;
        for (const waiter of this.#waiting) waiter.reject(error);
        this.#waiting.clear();
        if (this.options.onError) this.options.onError(error);
        else console.error(`eventfold: PostgreSQL projection "${this.options.name}" stopped:`, error);
      },
    });
  }

  /**
   * Resolves once every event up to `position` (default: the store's head) is committed in
   * the read model; rejects with the error that stopped the projection, if one does.
   */
  caughtUp(position: number = this.store.headPosition): Promise<void> {
    if (this.#position >= position) return Promise.resolve();
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiting.add({ position, resolve, reject }));
  }

  /** Stops following; the events taken so far are applied first. */
  async stop(): Promise<void> {
    this.#subscription?.close();
    this.#subscription = undefined;
    // A batch that failed has stopped the projection and gone to onError already.
    await this.#applying.catch(() => {});
    if (this.#failure === undefined && this.#batch.length > 0) await this.#apply();
  }

  /** Collects events; applies a batch when it is full or the log has no more for now. */
  #take(event: RecordedEvent<E>): Promise<void> | void {
    this.#batch.push(event);
    if (this.#batch.length >= this.#batchSize || event.position >= this.store.headPosition) {
      this.#applying = this.#apply();
      return this.#applying;
    }
  }

  async #apply(): Promise<void> {
    const events = this.#batch;
    this.#batch = [];
    const last = events[events.length - 1]!.position;
    const schema = `"${this.#storage.schema}"`;
    const committed = await this.#storage.transaction(async (client) => {
      await client.query(`insert into ${schema}.checkpoints (name, position) values ($1, 0) on conflict (name) do nothing`, [this.options.name]);
      const { rows: [row] } = await client.query(`select position from ${schema}.checkpoints where name = $1 for update`, [this.options.name]);
      const done = Number(row!.position);
      // Another process running this projection may have applied some of these already.
      const fresh = events.filter((event) => event.position > done);
      if (fresh.length === 0) return done;
      await this.options.apply(client, fresh);
      await client.query(`update ${schema}.checkpoints set position = $2 where name = $1`, [this.options.name, last]);
      return last;
    });
    this.#position = Math.max(this.#position, committed);
    for (const waiter of this.#waiting) {
      if (waiter.position <= this.#position) {
        this.#waiting.delete(waiter);
        waiter.resolve();
      }
    }
  }
}
