/**
 * Projections build read models from events.
 *
 * - Inline: updated synchronously in the same step as the append (`inlineProjection`,
 *   registered on the store). Cheap and always current; rebuilt from the log at open.
 * - Catch-up: follows the global log from a saved checkpoint, asynchronously; resumable
 *   after a restart and rebuildable from zero (`CatchUpProjection`).
 */
import type { ProjectionError } from "./errors.ts";
import { checkFunction, checkInteger, checkKeys, invalid } from "./check.ts";
import type { Event, RecordedEvent } from "./events.ts";
import type { EventStore, InlineProjection } from "./event-store.ts";
import type { Subscription } from "./subscription.ts";

/** A read model: its initial state and how each event changes it. */
export interface ProjectionDefinition<S, E extends Event> {
  /** A unique name (the checkpoint key). */
  name: string;
  /** The read model before any event. */
  initialState(): S;
  /** Folds one event into the read model; may update it in place. */
  apply(state: S, event: RecordedEvent<E>): S;
  /**
   * How the read model is saved in the store's index checkpoint (JSON-compatible), so an
   * inline projection starts from it at open instead of from the whole log. Without it,
   * a store with inline projections reads the whole log at every open.
   */
  snapshot?: { save(state: S): unknown; load(saved: unknown): S };
}

/** An inline projection whose `state` is always current with the store's head. */
export interface InlineProjectionOf<S, E extends Event> extends InlineProjection<E> {
  /** The read model, current with the store's head. Throws the ProjectionError once faulted. */
  readonly state: S;
  /** Why the projection stopped, if its `apply` threw. */
  readonly faulted: ProjectionError | undefined;
}

/** An inline projection of `definition`, to pass to the event store. */
export function inlineProjection<S, E extends Event>(
  definition: ProjectionDefinition<S, E>,
): InlineProjectionOf<S, E> {
  let state = definition.initialState();
  let faulted: ProjectionError | undefined;
  return {
    name: definition.name,
    get state() {
      // A read model that missed events must not be served as if it were current.
      if (faulted) throw faulted;
      return state;
    },
    get faulted() {
      return faulted;
    },
    apply(event) {
      state = definition.apply(state, event);
    },
    fault(error) {
      faulted = error;
    },
    ...(definition.snapshot && {
      save: () => definition.snapshot!.save(state),
      restore: (saved: unknown) => void (state = definition.snapshot!.load(saved)),
    }),
  };
}

/** A projection's saved progress: the last position applied and the state at it. */
export interface Checkpoint {
  /** The last global position applied. */
  position: number;
  /** The read model at that position (serialized). */
  state: unknown;
}

/** Where catch-up projections keep their checkpoints. */
export interface CheckpointStore {
  /** The checkpoint saved under `name`, if any. */
  load(name: string): Promise<Checkpoint | undefined>;
  /** Saves `checkpoint` under `name`. */
  save(name: string, checkpoint: Checkpoint): Promise<void>;
}

/** Checkpoints in memory (tests, or read models rebuilt at every start). */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #checkpoints = new Map<string, Checkpoint>();
  /** The checkpoint saved under `name`, if any. */
  load(name: string): Promise<Checkpoint | undefined> {
    const checkpoint = this.#checkpoints.get(name);
    return Promise.resolve(checkpoint && structuredClone(checkpoint));
  }
  /** Saves `checkpoint` under `name`. */
  save(name: string, checkpoint: Checkpoint): Promise<void> {
    this.#checkpoints.set(name, structuredClone(checkpoint));
    return Promise.resolve();
  }
}

/** Options of a catch-up projection. */
export interface CatchUpOptions<S> {
  /** Where its checkpoints are kept. */
  checkpoints: CheckpointStore;
  /** Save a checkpoint every this many events (default 100), and when stopped. */
  checkpointEvery?: number;
  /** Apply only durable events (default: true in `durable` mode). */
  durableOnly?: boolean;
  /** State to a JSON-compatible value for the checkpoint (default: a JSON round trip). */
  serialize?(state: S): unknown;
  /** The inverse of `serialize`. */
  deserialize?(data: unknown): S;
  /** Called if applying an event fails (the projection stops). */
  onError?(error: unknown): void;
}

/** A projection that follows the global log from its checkpoint, asynchronously. */
export class CatchUpProjection<S, E extends Event> {
  #state: S;
  #position = 0;
  #sinceCheckpoint = 0;
  #subscription?: Subscription<E>;
  #saving: Promise<void> = Promise.resolve();
  readonly #idle = new Set<{ position: number; resolve: () => void }>();

  /** A catch-up projection of `definition` over `store`. */
  constructor(
    private readonly store: EventStore<E>,
    private readonly definition: ProjectionDefinition<S, E>,
    private readonly options: CatchUpOptions<S>,
  ) {
    const what = "catch-up projection options";
    checkKeys(what, options, ["checkpoints", "checkpointEvery", "durableOnly", "serialize", "deserialize", "onError"]);
    const checkpoints = options.checkpoints as Partial<CheckpointStore> | undefined;
    if (typeof checkpoints?.load !== "function" || typeof checkpoints.save !== "function") invalid(what, "checkpoints", "must be a checkpoint store");
    checkInteger(what, "checkpointEvery", options.checkpointEvery, 1);
    if (options.durableOnly !== undefined && typeof options.durableOnly !== "boolean") invalid(what, "durableOnly", "must be a boolean");
    for (const key of ["serialize", "deserialize", "onError"] as const) checkFunction(what, key, options[key]);
    if (typeof definition?.name !== "string" || typeof definition.apply !== "function" || typeof definition.initialState !== "function") {
      invalid("catch-up projection", "definition", "must be { name, initialState, apply }");
    }
    this.#state = definition.initialState();
  }

  /** The read model as far as it has caught up. */
  get state(): S {
    return this.#state;
  }

  /** The last position applied (0 before any). */
  get position(): number {
    return this.#position;
  }

  /** Resumes from the saved checkpoint (or from zero) and follows the log. */
  async start(): Promise<void> {
    if (this.#subscription) return;
    const checkpoint = await this.options.checkpoints.load(this.definition.name);
    if (checkpoint !== undefined) {
      this.#state = this.#deserialize(checkpoint.state);
      this.#position = checkpoint.position;
    }
    this.#subscription = this.store.subscribe((event) => this.#apply(event), {
      from: this.#position + 1,
      durableOnly: this.options.durableOnly,
      onError: this.options.onError,
    });
  }

  /** Resolves once the projection has applied every event up to `position` (default: head). */
  caughtUp(position = this.store.headPosition): Promise<void> {
    if (this.#position >= position) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add({ position, resolve }));
  }

  /** Stops following and saves a checkpoint. */
  async stop(): Promise<void> {
    this.#subscription?.close();
    this.#subscription = undefined;
    await this.#saving;
    await this.#save();
  }

  /** Throws the read model away and builds it again from position 1. */
  async rebuild(): Promise<void> {
    await this.stop();
    this.#state = this.definition.initialState();
    this.#position = 0;
    await this.#save();
    await this.start();
  }

  #apply(event: RecordedEvent<E>): Promise<void> | void {
    this.#state = this.definition.apply(this.#state, event);
    this.#position = event.position;
    for (const waiter of this.#idle) {
      if (waiter.position <= this.#position) {
        this.#idle.delete(waiter);
        waiter.resolve();
      }
    }
    if (++this.#sinceCheckpoint >= (this.options.checkpointEvery ?? 100)) {
      this.#saving = this.#saving.then(() => this.#save());
      return this.#saving;
    }
  }

  #save(): Promise<void> {
    this.#sinceCheckpoint = 0;
    const serialize = this.options.serialize ?? ((state: S) => JSON.parse(JSON.stringify(state)));
    return this.options.checkpoints.save(this.definition.name, {
      position: this.#position,
      state: serialize(this.#state),
    });
  }

  #deserialize(data: unknown): S {
    return this.options.deserialize ? this.options.deserialize(data) : (structuredClone(data) as S);
  }
}
