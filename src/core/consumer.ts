/**
 * A consumer: a named, durable subscription. It delivers the global log (or what its
 * filter keeps) to an async handler, in order, and checkpoints its progress in a consumer
 * store, so a restart resumes after the last event handled (at least once: an event being
 * handled when the process died is delivered again). A handler that fails is retried with
 * backoff, then, by policy, stops the consumer, skips the event, or parks it.
 *
 * Consumers with the same name form a group sharing one checkpoint: one member at a time
 * holds the group's lease and handles events; the others wait, and one takes over (from the
 * checkpoint) when the holder stops or its lease runs out. So no event is handled by two
 * members at once.
 */
import { checkFunction, checkInteger, checkKeys, invalid } from "./check.ts";
import { ClosedError, ConsumerError } from "./errors.ts";
import { type EventFilter, eventPredicate } from "./event-filter.ts";
import type { Event, RecordedEvent } from "./events.ts";
import type { EventStore } from "./event-store.ts";
import type { ConsumerStore, ParkedEvent } from "./consumer-store.ts";
import type { Subscription } from "./subscription.ts";

/** What to do with an event the handler still fails on after its retries. */
export type FailurePolicy = "stop" | "skip" | "park";

/** Options of a consumer. */
export interface ConsumerOptions<E extends Event> {
  /** Its name: the key of its checkpoint, and its group (1 to 200 characters). */
  name: string;
  /** Handles one event; the next waits for it. Throwing is a failure (see `retry`, `onFailure`). */
  handler(event: RecordedEvent<E>): void | Promise<void>;
  /** Where the checkpoint, the lease and parked events are kept (default: the storage adapter's). */
  store?: ConsumerStore;
  /** Only the events it matches are handled (the others still move the checkpoint). */
  filter?: EventFilter;
  /** Retries of a failing event before `onFailure` (default 3), waiting `backoffMs` (default 100), doubled each time. */
  retry?: { attempts?: number; backoffMs?: number };
  /** After the retries: `stop` the consumer (default), `skip` the event, or `park` it in the store and go on. */
  onFailure?: FailurePolicy;
  /** Save the checkpoint every this many events (default 1: at most the event in hand is handled twice). */
  checkpointEvery?: number;
  /** The group lease's length (default 10,000 ms); renewed every third of it. */
  leaseMs?: number;
  /** Deliver an event only once durable (default: true in `durable` and `replicated` modes). */
  durableOnly?: boolean;
  /** Told of each failure: a stop, a skipped or parked event, a lost lease. Default: console.error. */
  onError?(error: unknown): void;
}

/** A named subscription whose progress survives restarts (see the module comment). */
export class Consumer<E extends Event> {
  /** Its name: its checkpoint's key and its group. */
  readonly name: string;
  /** This member's id in its group. */
  readonly member: string = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  readonly #store: EventStore<E>;
  readonly #consumers: ConsumerStore;
  readonly #options: ConsumerOptions<E>;
  readonly #matches?: (event: RecordedEvent<E>) => boolean;
  readonly #attempts: number;
  readonly #backoffMs: number;
  readonly #leaseMs: number;
  #state: "new" | "running" | "stopped" = "new";
  #active = false;
  /** The last position gone past (handled, skipped, parked, or filtered out). */
  #position = 0;
  #saved = 0;
  /** Events handled since the last checkpoint. */
  #unsaved = 0;
  /** Set when another member took the lease over. */
  #lost = false;
  #subscription?: Subscription<E>;
  #renewal?: ReturnType<typeof setInterval>;
  #wake?: () => void;
  #running?: Promise<void>;
  readonly #waiters = new Set<{ position: number; resolve: () => void; reject: (error: unknown) => void }>();
  #failure: unknown;

  /** A consumer of `store`; call `start()`. */
  constructor(store: EventStore<E>, options: ConsumerOptions<E>) {
    checkConsumerOptions(options);
    const consumers = options.store ?? store.storage.consumers;
    if (consumers === undefined) invalid("consumer options", "store", `${store.storage.name} storage keeps no consumers: pass a consumer store`);
    this.#store = store;
    this.#consumers = consumers;
    this.#options = options;
    this.name = options.name;
    this.#matches = eventPredicate<E>("consumer options", options.filter);
    this.#attempts = options.retry?.attempts ?? 3;
    this.#backoffMs = options.retry?.backoffMs ?? 100;
    this.#leaseMs = options.leaseMs ?? 10_000;
  }

  /** Whether this member holds its group's lease (and so handles events). */
  get active(): boolean {
    return this.#active;
  }

  /** The last position this consumer went past (0 before any). */
  get position(): number {
    return this.#position;
  }

  /** Starts it: it handles events once it holds its group's lease, at once if no other member does. */
  async start(): Promise<void> {
    if (this.#state !== "new") invalid("consumer", "start", `already ${this.#state}`);
    if (this.#store.closed) throw new ClosedError("event store");
    this.#state = "running";
    let leading: boolean;
    try {
      leading = await this.#lead();
    } catch (error) {
      this.#state = "stopped";
      throw error;
    }
    this.#running = this.#run(leading);
  }

  /**
   * Resolves once this consumer went past `position` (default: the store's head now): its
   * caught-up signal. Rejects if it stops on a failure first.
   */
  caughtUp(position: number = this.#store.headPosition): Promise<void> {
    if (this.#position >= position) return Promise.resolve();
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiters.add({ position, resolve, reject }));
  }

  /** The events this consumer parked (policy `park`), oldest first. */
  parked(): Promise<ParkedEvent[]> {
    return this.#consumers.parked(this.name);
  }

  /** Stops handling, saves the checkpoint and gives the lease up (another member takes over). */
  async stop(): Promise<void> {
    if (this.#state === "stopped") return await this.#running;
    this.#state = "stopped";
    this.#subscription?.close();
    this.#wake?.();
    await this.#running?.catch(() => {});
  }

  /** Tries for the lease; when it gets it, loads the checkpoint. */
  async #lead(): Promise<boolean> {
    if (!(await this.#consumers.acquire(this.name, this.member, this.#leaseMs))) return false;
    this.#position = this.#saved = await this.#consumers.load(this.name);
    return true;
  }

  async #run(leading: boolean): Promise<void> {
    try {
      while (this.#state === "running" && !this.#store.closed) {
        if (!leading) {
          await this.#sleep(this.#leaseMs / 3);
          if (this.#state !== "running") break;
          leading = await this.#lead();
          continue;
        }
        await this.#follow();
        leading = false;
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#active = false;
      clearInterval(this.#renewal);
      await this.#consumers.release(this.name, this.member).catch((error) => this.#report(error));
    }
  }

  /** Handles the log while holding the lease; returns when stopped or the lease is lost. */
  async #follow(): Promise<void> {
    this.#active = true;
    this.#lost = false;
    this.#unsaved = 0;
    const subscription = this.#store.subscribe((event) => this.#deliver(event), {
      from: this.#position + 1,
      durableOnly: this.#options.durableOnly,
      onError: () => {},
      // Positions left out of reads (a removed stream's) are gone past too.
      onPosition: (position) => this.#passed(position),
    });
    this.#subscription = subscription;
    this.#renewal = setInterval(() => {
      this.#consumers.acquire(this.name, this.member, this.#leaseMs).then((held) => {
        if (!held) this.#loseLease();
      }, (error) => {
        this.#report(error);
        this.#loseLease();
      });
    }, this.#leaseMs / 3);
    try {
      await subscription.done;
    } finally {
      clearInterval(this.#renewal);
      this.#active = false;
    }
    if (this.#lost) {
      this.#report(new Error(`consumer "${this.name}" lost its group lease: another member handles the events now`));
      return;
    }
    // Stopped: keep what was gone past (a filtered tail moves the checkpoint too).
    if (this.#position > this.#saved) await this.#save();
    if (this.#lost) this.#report(new Error(`consumer "${this.name}" lost its group lease: another member handles the events now`));
  }

  #loseLease(): void {
    this.#lost = true;
    this.#subscription?.close();
  }

  async #deliver(event: RecordedEvent<E>): Promise<void> {
    if (this.#lost) return;
    const wanted = this.#matches === undefined || this.#matches(event);
    if (wanted) await this.#handle(event);
    // Filtered-out events move the checkpoint only along with handled ones (and at stop).
    this.#position = event.position;
    if (wanted && ++this.#unsaved >= (this.#options.checkpointEvery ?? 1)) await this.#save();
    this.#passed(event.position);
  }

  /** Goes past `position` and tells whoever waits for it (caughtUp). */
  #passed(position: number): void {
    if (this.#lost) return;
    if (position > this.#position) this.#position = position;
    for (const waiter of this.#waiters) {
      if (waiter.position <= this.#position) {
        this.#waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** The handler, with retries, then the failure policy. */
  async #handle(event: RecordedEvent<E>): Promise<void> {
    for (let attempt = 0;; attempt++) {
      try {
        await this.#options.handler(event);
        return;
      } catch (error) {
        if (attempt < this.#attempts && this.#state === "running") {
          await this.#sleep(this.#backoffMs * 2 ** attempt);
          continue;
        }
        const policy = this.#options.onFailure ?? "stop";
        const failure = new ConsumerError(this.name, event, attempt + 1, policy, error);
        if (policy === "stop") throw failure;
        if (policy === "park") {
          await this.#consumers.park(this.name, {
            position: event.position, streamId: event.streamId, type: event.type, error: String((error as Error)?.message ?? error),
            parkedAt: Date.now(),
          });
        }
        this.#report(failure);
        return;
      }
    }
  }

  async #save(): Promise<void> {
    const position = this.#position;
    if (!(await this.#consumers.save(this.name, this.member, position))) {
      // Another member holds the lease now: stop handling here (it resumes from the checkpoint).
      this.#loseLease();
      return;
    }
    this.#saved = position;
    this.#unsaved = 0;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #fail(error: unknown): void {
    this.#failure = error;
    this.#state = "stopped";
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    this.#report(error);
  }

  #report(error: unknown): void {
    if (this.#options.onError) this.#options.onError(error);
    else console.error(`eventfold: consumer "${this.name}":`, error);
  }
}

function checkConsumerOptions<E extends Event>(options: ConsumerOptions<E>): void {
  const what = "consumer options";
  checkKeys(what, options, ["name", "handler", "store", "filter", "retry", "onFailure", "checkpointEvery", "leaseMs", "durableOnly", "onError"]);
  if (typeof options.name !== "string" || options.name.length === 0 || options.name.length > 200) {
    invalid(what, "name", "must be a string of 1 to 200 characters");
  }
  if (typeof options.handler !== "function") invalid(what, "handler", "must be a function");
  const store = options.store as Partial<ConsumerStore> | undefined;
  if (store !== undefined && (["load", "save", "acquire", "release", "park", "parked"] as const).some((key) => typeof store[key] !== "function")) {
    invalid(what, "store", "must be a consumer store");
  }
  if (options.retry !== undefined) {
    checkKeys(`${what} retry`, options.retry, ["attempts", "backoffMs"]);
    checkInteger(what, "retry.attempts", options.retry.attempts, 0);
    checkInteger(what, "retry.backoffMs", options.retry.backoffMs, 0);
  }
  if (options.onFailure !== undefined && !["stop", "skip", "park"].includes(options.onFailure)) {
    invalid(what, "onFailure", `must be "stop", "skip" or "park", got ${String(options.onFailure)}`);
  }
  checkInteger(what, "checkpointEvery", options.checkpointEvery, 1);
  checkInteger(what, "leaseMs", options.leaseMs, 30);
  if (options.durableOnly !== undefined && typeof options.durableOnly !== "boolean") invalid(what, "durableOnly", "must be a boolean");
  checkFunction(what, "onError", options.onError);
}
